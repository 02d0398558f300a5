package io.sparkbert.feature;

import io.sparkbert.bert.BuiltInModel;
import io.sparkbert.bert.Pooling;
import io.sparkbert.inference.ModelSource;
import io.sparkbert.inference.PartitionScorer;
import io.sparkbert.inference.Score;
import io.sparkbert.inference.ScoringSpec;
import io.sparkbert.inference.TextColumns;
import io.sparkbert.persistence.ModelLocation;
import java.util.Locale;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.ml.param.BooleanParam;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.param.ParamValidators;
import org.apache.spark.ml.util.DefaultParamsReader;
import org.apache.spark.ml.util.DefaultParamsWritable;
import org.apache.spark.ml.util.Identifiable;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.Metadata;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * Sentence embeddings from a BERT model as a Spark ML {@code Transformer}: appends an {@code
 * ml.linalg} vector column ({@code outputCol}) with the pooled last hidden state of {@code
 * inputCol} (and {@code pairCol} for sentence pairs).
 *
 * <p>Params (besides those of the shared base: {@code inputCol}, {@code pairCol}, {@code model},
 * {@code maxLength}, {@code handleInvalid}): {@code pooling} (auto, cls or mean, default auto: the
 * pooling a built-in encoder was trained with, mean for a directory), {@code normalize} (L2,
 * default false), {@code batchSize} (rows per forward pass, default 32), {@code maxTokens} (padded
 * tokens per forward pass, 0 = no budget, default 0), {@code windowSize} (rows length-sorted
 * together, default 8192), {@code overflow} (truncate or window, default truncate), {@code stride}
 * (tokens shared by consecutive windows, default 32), {@code device} (auto, cpu or gpu, default
 * auto), {@code outputCol} (default "embedding").
 *
 * <p>Rows keep their order and count. {@code handleInvalid}: {@code error} fails on a null or blank
 * text naming the column; {@code keep} outputs null for it; {@code skip} drops such rows before
 * scoring (the only mode that changes the row count). With {@code overflow=window} a text longer
 * than {@code maxLength} is embedded as the mean of the vectors of its overlapping windows
 * (normalised afterwards when {@code normalize} is set); single texts only.
 *
 * <p>Scoring runs on the executors through {@link PartitionScorer}; each executor JVM loads the
 * model once. Not thread-safe for concurrent param changes, like every Spark stage.
 */
public class BertEmbeddings extends BertStageParams implements DefaultParamsWritable {
    private static final long serialVersionUID = 1L;

    private final Param<String> pooling;
    private final BooleanParam normalize;
    private final IntParam batchSize;
    private final IntParam maxTokens;
    private final IntParam windowSize;
    private final Param<String> overflow;
    private final IntParam stride;
    private final Param<String> device;
    private final Param<String> outputCol;

    /** A stage with a random uid. */
    public BertEmbeddings() {
        this(Identifiable.randomUID("bertEmbeddings"));
    }

    /** A stage with the given uid (used by the reader). */
    public BertEmbeddings(String uid) {
        super(uid);
        pooling =
                new Param<>(
                        this,
                        "pooling",
                        "how token vectors become one vector: auto (a built-in's own pooling: cls"
                                + " for bge-small-en-v1.5, mean for the others and for"
                                + " directories), cls or mean (default auto)",
                        ParamValidators.inArray(new String[] {"auto", "cls", "mean"}));
        normalize = new BooleanParam(this, "normalize", "L2-normalise the vectors (default false)");
        batchSize =
                new IntParam(
                        this,
                        "batchSize",
                        "most rows per forward pass, >= 1 (default 32)",
                        ParamValidators.gtEq(1));
        maxTokens =
                new IntParam(
                        this,
                        "maxTokens",
                        "most padded tokens (rows x longest row) per forward pass; 0 = no budget"
                                + " (default 0)",
                        ParamValidators.gtEq(0));
        windowSize = ScoringSpec.windowSizeParam(this);
        overflow =
                new Param<>(
                        this,
                        "overflow",
                        "texts longer than maxLength: truncate, or window (mean over overlapping"
                                + " windows of maxLength tokens) (default truncate)",
                        ParamValidators.inArray(new String[] {"truncate", "window"}));
        stride =
                new IntParam(
                        this,
                        "stride",
                        "tokens shared by consecutive windows with overflow=window, >= 0 and below"
                                + " maxLength - 2 (default 32)",
                        ParamValidators.gtEq(0));
        device =
                new Param<>(
                        this,
                        "device",
                        "where the model runs: auto (a GPU the task was given or sees, else CPU),"
                                + " cpu or gpu (default auto)",
                        ParamValidators.inArray(new String[] {"auto", "cpu", "gpu"}));
        outputCol =
                new Param<>(
                        this,
                        "outputCol",
                        "output column of embedding vectors (default \"embedding\")",
                        Validators.notBlank());
        setDefault(pooling, "auto");
        setDefault(normalize, false);
        setDefault(batchSize, 32);
        setDefault(maxTokens, 0);
        setDefault(windowSize, ScoringSpec.DEFAULT_WINDOW_SIZE);
        setDefault(overflow, "truncate");
        setDefault(stride, 32);
        setDefault(device, "auto");
        setDefault(outputCol, "embedding");
    }

    // ------------------------------------------------------------------ params

    /** The pooling param. */
    public Param<String> pooling() {
        return pooling;
    }

    /** The L2 normalisation param. */
    public BooleanParam normalize() {
        return normalize;
    }

    /** The rows-per-batch param. */
    public IntParam batchSize() {
        return batchSize;
    }

    /** The token budget param. */
    public IntParam maxTokens() {
        return maxTokens;
    }

    /** The window (rows sorted together) param. */
    public IntParam windowSize() {
        return windowSize;
    }

    /** The long-text param. */
    public Param<String> overflow() {
        return overflow;
    }

    /** The window overlap param. */
    public IntParam stride() {
        return stride;
    }

    /** The device param. */
    public Param<String> device() {
        return device;
    }

    /** The output column param. */
    public Param<String> outputCol() {
        return outputCol;
    }

    public String getPooling() {
        return getOrDefault(pooling);
    }

    public boolean getNormalize() {
        return (Boolean) getOrDefault(normalize);
    }

    public int getBatchSize() {
        return (Integer) getOrDefault(batchSize);
    }

    public int getMaxTokens() {
        return (Integer) getOrDefault(maxTokens);
    }

    public int getWindowSize() {
        return (Integer) getOrDefault(windowSize);
    }

    public String getOverflow() {
        return getOrDefault(overflow);
    }

    public int getStride() {
        return (Integer) getOrDefault(stride);
    }

    public String getDevice() {
        return getOrDefault(device);
    }

    public String getOutputCol() {
        return getOrDefault(outputCol);
    }

    public BertEmbeddings setInputCol(String value) {
        set(inputCol(), value);
        return this;
    }

    public BertEmbeddings setPairCol(String value) {
        set(pairCol(), value);
        return this;
    }

    public BertEmbeddings setModel(String value) {
        set(model(), value);
        return this;
    }

    public BertEmbeddings setMaxLength(int value) {
        set(maxLength(), value);
        return this;
    }

    public BertEmbeddings setHandleInvalid(String value) {
        set(handleInvalid(), value);
        return this;
    }

    public BertEmbeddings setPooling(String value) {
        set(pooling, value == null ? null : value.toLowerCase(Locale.ROOT));
        return this;
    }

    public BertEmbeddings setNormalize(boolean value) {
        set(normalize, value);
        return this;
    }

    public BertEmbeddings setBatchSize(int value) {
        set(batchSize, value);
        return this;
    }

    public BertEmbeddings setMaxTokens(int value) {
        set(maxTokens, value);
        return this;
    }

    public BertEmbeddings setWindowSize(int value) {
        set(windowSize, value);
        return this;
    }

    public BertEmbeddings setOverflow(String value) {
        set(overflow, value);
        return this;
    }

    public BertEmbeddings setStride(int value) {
        set(stride, value);
        return this;
    }

    public BertEmbeddings setDevice(String value) {
        set(device, value == null ? null : value.toLowerCase(Locale.ROOT));
        return this;
    }

    public BertEmbeddings setOutputCol(String value) {
        set(outputCol, value);
        return this;
    }

    // ------------------------------------------------------------------ transform

    @Override
    public StructType transformSchema(StructType schema) {
        validateInputs(schema);
        requireAbsent(schema, getOutputCol(), "outputCol");
        if (getOverflow().equals("window")) {
            if (hasPair()) {
                throw new IllegalArgumentException(
                        stageName()
                                + ": overflow=window works on single texts; unset pairCol or set"
                                + " overflow=truncate.");
            }
            if (getStride() >= getMaxLength() - 2) {
                throw new IllegalArgumentException(
                        stageName()
                                + ": stride="
                                + getStride()
                                + " must be below maxLength - 2 = "
                                + (getMaxLength() - 2)
                                + " with overflow=window; lower stride or raise maxLength.");
            }
        }
        return schema.add(outputField());
    }

    /** The pooling to apply: {@code auto} resolves to a built-in's recorded pooling, else mean. */
    Pooling effectivePooling() {
        if (!"auto".equals(getPooling())) {
            return Pooling.parse(getPooling());
        }
        BuiltInModel builtIn = ModelLocation.of(getModel()).builtIn();
        return builtIn != null ? builtIn.pooling() : Pooling.MEAN;
    }

    private StructField outputField() {
        return new StructField(getOutputCol(), SQLDataTypes.VectorType(), true, Metadata.empty());
    }

    @Override
    public Dataset<Row> transform(Dataset<?> dataset) {
        transformSchema(dataset.schema());
        Dataset<?> input = dataset;
        if (getHandleInvalid().equals(SKIP)) {
            input =
                    dataset.filter(
                            TextColumns.scorable(getInputCol(), hasPair() ? getPairCol() : null));
        }
        ScoringSpec spec =
                new ScoringSpec(ModelSource.location(getModel()), ScoringSpec.Output.EMBEDDING)
                        .columns(stageName(), getInputCol(), hasPair() ? getPairCol() : null)
                        .device(getDevice())
                        .pooling(effectivePooling(), getNormalize())
                        .maxLength(getMaxLength())
                        .batchSize(getBatchSize())
                        .maxTokens(getMaxTokens())
                        .windowSize(getWindowSize())
                        .overflow(getOverflow(), getStride())
                        .handleInvalid(getHandleInvalid().equals(ERROR) ? "error" : "keep");
        return PartitionScorer.transform(
                input, spec, new StructField[] {outputField()}, BertEmbeddings::toVector);
    }

    private static Object[] toVector(Score score) {
        if (score == null) {
            return new Object[] {null};
        }
        float[] v = score.values();
        double[] d = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            d[i] = v[i];
        }
        return new Object[] {Vectors.dense(d)};
    }

    @Override
    public BertEmbeddings copy(ParamMap extra) {
        return defaultCopy(extra);
    }

    /** A reader for saved stages. */
    public static MLReader<BertEmbeddings> read() {
        return new DefaultParamsReader<>();
    }

    /** Loads a saved stage. */
    public static BertEmbeddings load(String path) {
        return read().load(path);
    }
}
