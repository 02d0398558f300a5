package io.sparkbert.udfs;

import io.sparkbert.bert.BuiltInModel;
import io.sparkbert.bert.Encoding;
import io.sparkbert.bert.HfTokenizer;
import io.sparkbert.bert.Pooling;
import io.sparkbert.bert.ProblemType;
import io.sparkbert.bert.TokenizerOptions;
import io.sparkbert.inference.ModelSource;
import io.sparkbert.inference.ScoringSpec;
import io.sparkbert.inference.TokenizerCache;
import io.sparkbert.persistence.ModelLocation;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.catalyst.FunctionIdentifier;
import org.apache.spark.sql.catalyst.analysis.FunctionRegistry;
import org.apache.spark.sql.catalyst.expressions.Expression;
import org.apache.spark.sql.catalyst.expressions.Literal;
import org.apache.spark.sql.catalyst.expressions.NamedLambdaVariable;
import org.apache.spark.sql.catalyst.expressions.ScalaUDF;
import org.apache.spark.sql.execution.SparkStrategy;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.NullType;
import org.apache.spark.sql.types.StringType;
import org.apache.spark.sql.types.StructType;
import scala.Function1;
import scala.collection.JavaConverters;
import scala.collection.Seq;

/**
 * Registers spark-bert's SQL functions on a session.
 *
 * <pre>{@code
 * SparkBertFunctions.register(spark, "sentiment", "/models/sentiment");
 * spark.sql("SELECT id, bert_classify(text).predictedLabel FROM reviews");
 * }</pre>
 *
 * <p>{@code register(spark, name, model)} defines, for that model:
 *
 * <ul>
 *   <li>{@code bert_tokenize(text)}: struct of {@code tokens} (array&lt;string&gt;, with [CLS] and
 *       [SEP]), {@code input_ids}, {@code attention_mask}, {@code token_type_ids}
 *       (array&lt;int&gt;);
 *   <li>{@code bert_embed(text)}: array&lt;double&gt;, the mask-weighted mean of the last hidden
 *       state (L2-normalised), as sentence-transformers models are used;
 *   <li>{@code bert_classify(text)}: struct of {@code predictedLabel} (the class name from the
 *       checkpoint's id2label; named as the {@code score} job's column, so that {@code
 *       bert_classify(text).*} beside an input {@code label} column does not clash), {@code
 *       prediction} (double class index) and {@code probability} (array&lt;double&gt;); only for a
 *       model with a classification head, else calling it fails with a message that says so. For a
 *       multi-label model (config.json {@code problem_type}) the struct is {@code predictedLabels}
 *       (array of the names whose sigmoid probability is above their threshold: for a saved {@code
 *       BertClassificationModel} the {@code thresholds} or {@code threshold} it was saved with, as
 *       its {@code transform} uses them, else 0.5), {@code prediction} (their indices) and {@code
 *       probability} (a sigmoid per class); for a regression model it is {@code prediction}, the
 *       value.
 * </ul>
 *
 * The same functions are also registered as {@code <name>_tokenize}, {@code <name>_embed} and
 * {@code <name>_classify}, so several models can be used in one query; the {@code bert_*} names
 * follow the latest registration. Null text gives a null result from every function; blank text
 * (whitespace only) gives null from {@code bert_embed} and {@code bert_classify}, which have no
 * model output for it, while {@code bert_tokenize} tokenizes it as HF does ({@code [CLS] [SEP]}).
 * Every function takes one STRING argument; any other type fails when the query is analysed, naming
 * the function and the type, e.g. use {@code bert_embed(CAST(id AS STRING))}.
 *
 * <p>The model functions are batched: a planner strategy added to the session turns a projection
 * that calls them into an operator that scores each partition in length-bucketed batches, with the
 * model loaded once per executor JVM. Where a call cannot be batched (inside a filter, a join
 * condition, an aggregate or a lambda such as {@code transform(texts, t -> bert_embed(t))}) the
 * same values come from a row-at-a-time path. A query analysed before a name was registered again
 * keeps computing with the model it was analysed with.
 *
 * <p>Batching and truncation are read from the session's conf when {@code register} runs: {@value
 * #CONF_BATCH_SIZE} (1..65536, default 32: the fastest on CPU in docs/lab-notes.md), {@value
 * #CONF_WINDOW_SIZE} (1..1048576, default 8192), {@value #CONF_MAX_LENGTH} (2..512, default 512)
 * and {@value #CONF_DEVICE} (default auto). A bad value fails {@code register} naming the key.
 *
 * <p>The {@code model} is a built-in encoder ({@code default} = e5-small-v2, {@code minilm-l6-v2},
 * {@code bge-small-en-v1.5}; embeddings only, pooled as each was trained), an HF checkpoint
 * directory, or a directory written by the {@code train} job or by saving a {@code
 * BertClassificationModel} (its {@code hf/} sub-directory is used), as a local path or any Hadoop
 * FileSystem URI.
 */
public final class SparkBertFunctions {
    private static final Pattern NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");

    /** Spark conf key: texts per forward pass of the batched functions (default 32). */
    public static final String CONF_BATCH_SIZE = "spark.sparkbert.sql.batchSize";

    /** Spark conf key: rows read and sorted by length per bucketing window (default 8192). */
    public static final String CONF_WINDOW_SIZE = "spark.sparkbert.sql.windowSize";

    /** Spark conf key: tokens per text including [CLS]/[SEP]; longer texts are cut (512). */
    public static final String CONF_MAX_LENGTH = "spark.sparkbert.sql.maxLength";

    /** Spark conf key: {@code auto | cpu | gpu | gpu:N} for the model functions (auto). */
    public static final String CONF_DEVICE = "spark.sparkbert.sql.device";

    /** The tokenize function's result type. */
    public static final StructType TOKENIZE_TYPE =
            new StructType()
                    .add("tokens", DataTypes.createArrayType(DataTypes.StringType, false))
                    .add("input_ids", DataTypes.createArrayType(DataTypes.IntegerType, false))
                    .add("attention_mask", DataTypes.createArrayType(DataTypes.IntegerType, false))
                    .add("token_type_ids", DataTypes.createArrayType(DataTypes.IntegerType, false));

    /** The embed function's result type. */
    public static final DataType EMBED_TYPE =
            DataTypes.createArrayType(DataTypes.DoubleType, false);

    /** The classify function's result type. */
    public static final StructType CLASSIFY_TYPE =
            new StructType()
                    .add("predictedLabel", DataTypes.StringType)
                    .add("prediction", DataTypes.DoubleType)
                    .add("probability", DataTypes.createArrayType(DataTypes.DoubleType, false));

    /**
     * The classify function's result type for a multi-label model: the classes whose sigmoid
     * probability is above their threshold, by name and index (ascending), and every class's
     * probability.
     */
    public static final StructType MULTI_LABEL_CLASSIFY_TYPE =
            new StructType()
                    .add("predictedLabels", DataTypes.createArrayType(DataTypes.StringType, false))
                    .add("prediction", DataTypes.createArrayType(DataTypes.DoubleType, false))
                    .add("probability", DataTypes.createArrayType(DataTypes.DoubleType, false));

    /** The classify function's result type for a regression model: the predicted value. */
    public static final StructType REGRESSION_CLASSIFY_TYPE =
            new StructType().add("prediction", DataTypes.DoubleType);

    private SparkBertFunctions() {}

    /**
     * Registers the functions for a model; see the class comment.
     *
     * @param spark the session
     * @param name a SQL identifier naming this model (letters, digits, underscore)
     * @param model {@code default} or the URI of a model directory
     * @throws IllegalArgumentException for a bad name or a model directory that cannot be read
     */
    public static void register(SparkSession spark, String name, String model) {
        if (name == null || !NAME.matcher(name).matches()) {
            throw new IllegalArgumentException(
                    "SparkBertFunctions.register: name '"
                            + name
                            + "' is not a SQL identifier; use letters, digits and underscores,"
                            + " e.g. \"sentiment\".");
        }
        int batchSize = intConf(spark, CONF_BATCH_SIZE, 32, 1, 65536);
        int windowSize =
                intConf(spark, CONF_WINDOW_SIZE, ScoringSpec.DEFAULT_WINDOW_SIZE, 1, 1 << 20);
        int maxLength = intConf(spark, CONF_MAX_LENGTH, 512, 2, 512);
        String device = spark.conf().get(CONF_DEVICE, "auto").trim();
        if (!device.matches("(?i)auto|cpu|gpu|gpu:[0-9]+")) {
            throw new IllegalArgumentException(
                    CONF_DEVICE + " = '" + device + "' must be one of auto, cpu, gpu, gpu:N.");
        }
        String location = resolveModelDirectory(spark, model);
        ClassifyFunctions.ModelInfo info = ClassifyFunctions.ModelInfo.read(spark, location);
        BatchedInferenceStrategy strategy = strategyOf(spark);

        String tokenizeName = name.toLowerCase(Locale.ROOT) + "_tokenize";
        registerTokenize(spark, "bert_tokenize", location, maxLength);
        registerTokenize(spark, tokenizeName, location, maxLength);

        ScoringSpec embedSpec =
                new ScoringSpec(ModelSource.location(location), ScoringSpec.Output.EMBEDDING)
                        .columns("bert_embed", "text", null)
                        .pooling(embedPooling(location), true)
                        .maxLength(maxLength)
                        .batchSize(batchSize)
                        .windowSize(windowSize)
                        .device(device)
                        .handleInvalid("keep");
        BatchedCall.ValueMapper toVector =
                score -> score == null ? null : toDoubles(score.values());
        for (String fn : List.of("bert_embed", name.toLowerCase(Locale.ROOT) + "_embed")) {
            registerModelFunction(
                    spark, strategy, new BatchedCall(fn, embedSpec, EMBED_TYPE, toVector));
        }

        ClassifyFunctions.register(
                spark,
                strategy,
                name,
                model,
                location,
                info,
                maxLength,
                batchSize,
                windowSize,
                device);
    }

    /**
     * The result type of {@code bert_classify} for a model of {@code type}: {@link #CLASSIFY_TYPE}
     * (single-label), {@link #MULTI_LABEL_CLASSIFY_TYPE} or {@link #REGRESSION_CLASSIFY_TYPE}.
     */
    public static StructType classifyType(ProblemType type) {
        return switch (type) {
            case SINGLE_LABEL -> CLASSIFY_TYPE;
            case MULTI_LABEL -> MULTI_LABEL_CLASSIFY_TYPE;
            case REGRESSION -> REGRESSION_CLASSIFY_TYPE;
        };
    }

    static void registerModelFunction(
            SparkSession spark, BatchedInferenceStrategy strategy, BatchedCall call) {
        spark.udf()
                .register(
                        call.functionName(),
                        (UDF1<String, Object>) text -> text == null ? null : call.scoreOne(text),
                        call.resultType());
        requireStringArgument(spark, call.functionName());
        // Every ScalaUDF this registration builds shares one function object; the strategy
        // batches exactly those calls, not whatever is registered under the name later.
        Expression built;
        try {
            built =
                    spark.sessionState()
                            .functionRegistry()
                            .lookupFunction(
                                    new FunctionIdentifier(call.functionName()),
                                    JavaConverters.asScalaBuffer(
                                                    List.<Expression>of(
                                                            Literal.create(
                                                                    null, DataTypes.StringType)))
                                            .toSeq());
        } catch (Exception e) {
            throw new IllegalStateException(
                    "SparkBertFunctions.register: " + call.functionName() + " was not registered",
                    e);
        }
        strategy.register(((ScalaUDF) built).function(), call);
    }

    /**
     * Wraps the builder just registered under {@code fn} so that a call whose argument is not a
     * string fails while the query is analysed, naming the function, the argument and its type.
     * Java UDFs declare no input types, so Spark would otherwise accept {@code bert_embed(42)} and
     * fail inside a task on the cast to String; the check is here, in the builder, so that both the
     * batched projection and the row-at-a-time calls (filters, joins, lambdas) get it.
     */
    static void requireStringArgument(SparkSession spark, String fn) {
        FunctionRegistry registry = spark.sessionState().functionRegistry();
        Function1<Seq<Expression>, Expression> udfBuilder =
                registry.lookupFunctionBuilder(new FunctionIdentifier(fn))
                        .getOrElse(
                                () -> {
                                    throw new IllegalStateException(
                                            "SparkBertFunctions.register: "
                                                    + fn
                                                    + " was not registered");
                                });
        Function1<Seq<Expression>, Expression> checked =
                args -> {
                    for (Expression arg : JavaConverters.seqAsJavaList(args)) {
                        checkStringArgument(fn, arg);
                    }
                    return udfBuilder.apply(args);
                };
        registry.createOrReplaceTempFunction(fn, checked, "java_udf");
    }

    /** Throws unless {@code arg} (once resolved) is a string or an untyped NULL. */
    static void checkStringArgument(String fn, Expression arg) {
        if (!arg.resolved()) {
            return; // no type to check yet; Spark builds calls once their arguments resolve
        }
        DataType type = arg.dataType();
        if (type instanceof StringType || type instanceof NullType) {
            return;
        }
        // A lambda variable's sql() is a placeholder; its name is what the user wrote.
        String shown =
                arg instanceof NamedLambdaVariable ? ((NamedLambdaVariable) arg).name() : arg.sql();
        throw new IllegalArgumentException(
                fn
                        + " takes a STRING argument, but "
                        + shown
                        + " is "
                        + type.sql()
                        + "; to use its text form, cast it: "
                        + fn
                        + "(CAST("
                        + shown
                        + " AS STRING)).");
    }

    /** An integer Spark conf value in [min, max], or {@code dflt} when unset. */
    static int intConf(SparkSession spark, String key, int dflt, int min, int max) {
        String raw = spark.conf().get(key, null);
        if (raw == null || raw.isBlank()) {
            return dflt;
        }
        try {
            int v = Integer.parseInt(raw.trim());
            if (v >= min && v <= max) {
                return v;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalArgumentException(
                key
                        + " = '"
                        + raw
                        + "' must be an integer in "
                        + min
                        + ".."
                        + max
                        + "; fix or unset it (spark.conf().set / --conf) and register again.");
    }

    private static void registerTokenize(
            SparkSession spark, String fn, String location, int maxLength) {
        TokenizerOptions options = TokenizerOptions.defaults().withMaxLength(maxLength);
        spark.udf()
                .register(
                        fn,
                        (UDF1<String, Row>)
                                text -> {
                                    if (text == null) {
                                        return null;
                                    }
                                    HfTokenizer tok = TokenizerCache.get(location, options);
                                    Encoding e = tok.encode(text);
                                    return RowFactory.create(
                                            List.of(e.tokens()),
                                            toInts(e.inputIds()),
                                            toInts(e.attentionMask()),
                                            toInts(e.tokenTypeIds()));
                                },
                        TOKENIZE_TYPE);
        requireStringArgument(spark, fn);
    }

    /** The session's strategy, added on first registration. */
    private static synchronized BatchedInferenceStrategy strategyOf(SparkSession spark) {
        Seq<SparkStrategy> current = spark.experimental().extraStrategies();
        for (SparkStrategy s : JavaConverters.seqAsJavaList(current)) {
            if (s instanceof BatchedInferenceStrategy) {
                return (BatchedInferenceStrategy) s;
            }
        }
        BatchedInferenceStrategy strategy = new BatchedInferenceStrategy();
        List<SparkStrategy> updated = new ArrayList<>(JavaConverters.seqAsJavaList(current));
        updated.add(0, strategy);
        spark.experimental().extraStrategies_$eq(JavaConverters.asScalaBuffer(updated).toSeq());
        return strategy;
    }

    /** {@code default}, the location itself when it holds config.json, or its {@code hf/}. */
    static String resolveModelDirectory(SparkSession spark, String model) {
        if (model == null || model.isBlank()) {
            throw new IllegalArgumentException(
                    "SparkBertFunctions.register: model is empty; give \"default\" or the URI of a"
                            + " model directory.");
        }
        ModelLocation location = ModelLocation.of(model);
        if (location.builtIn() != null) {
            return location.value();
        }
        Path dir = location.toLocalDirectory(spark.sparkContext().hadoopConfiguration());
        if (Files.isRegularFile(dir.resolve("config.json"))) {
            return location.value();
        }
        if (Files.isRegularFile(dir.resolve("hf").resolve("config.json"))) {
            return location.value().replaceAll("/+$", "") + "/hf";
        }
        throw new IllegalArgumentException(
                "SparkBertFunctions.register: "
                        + model
                        + " holds neither config.json nor hf/config.json; give an HF checkpoint"
                        + " directory or a directory written by the train job.");
    }

    /** A built-in's recorded pooling (bge: CLS), mean for a directory. */
    private static Pooling embedPooling(String location) {
        BuiltInModel builtIn = ModelLocation.of(location).builtIn();
        return builtIn != null ? builtIn.pooling() : Pooling.MEAN;
    }

    private static double[] toDoubles(float[] v) {
        double[] d = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            d[i] = v[i];
        }
        return d;
    }

    private static List<Integer> toInts(long[] v) {
        List<Integer> out = new ArrayList<>(v.length);
        for (long x : v) {
            out.add((int) x);
        }
        return out;
    }
}
