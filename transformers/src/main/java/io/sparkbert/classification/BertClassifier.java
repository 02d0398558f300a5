package io.sparkbert.classification;

import ai.djl.Device;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.sparkbert.bert.BertModel;
import io.sparkbert.bert.Devices;
import io.sparkbert.bert.Encoding;
import io.sparkbert.bert.HfTokenizer;
import io.sparkbert.bert.TokenizerOptions;
import io.sparkbert.bert.train.ClassifierHead;
import io.sparkbert.bert.train.Trainer;
import io.sparkbert.bert.train.TrainingConfig;
import io.sparkbert.bert.train.TrainingOption;
import io.sparkbert.bert.train.TrainingSummary;
import io.sparkbert.inference.TextColumns;
import io.sparkbert.persistence.ModelLocation;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import org.apache.spark.ml.Estimator;
import org.apache.spark.ml.param.DoubleArrayParam;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.param.ParamValidators;
import org.apache.spark.ml.util.DefaultParamsWritable;
import org.apache.spark.ml.util.Identifiable;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.NumericType;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * Fine-tunes a BERT checkpoint for text (or text-pair) classification: an Estimator producing a
 * {@link BertClassificationModel}.
 *
 * <p><b>Fitting</b> collects {@code (textCol, textPairCol, labelCol)} to the driver (at most {@code
 * maxTrainingRows} rows: more is an error, never a silent sample), optionally holds out {@code
 * validationFraction} of them (seeded), and trains there with {@link Trainer} on {@code device}.
 * The training summary is available as {@link BertClassificationModel#summary()}.
 *
 * <p><b>Labels</b> are class indices 0..k-1 (doubles or integers, as {@code StringIndexer}
 * produces). k is the checkpoint head's number of labels when it has a head; otherwise the
 * NominalAttribute metadata of the label column, else max label + 1. Null, NaN, negative or
 * fractional labels, labels outside the head's range, a single class for a new head, null or blank
 * (whitespace-only) texts or pair texts (which a trained model refuses too) and an empty DataFrame
 * are errors naming the column.
 *
 * <p><b>Class names</b> come from the label column's NominalAttribute values (as {@code
 * StringIndexer} writes them) and are saved as the config's {@code id2label}/{@code label2id}, for
 * a fresh head and for a checkpoint's own head alike (a head with more classes than named keeps its
 * own names for the rest); {@link BertClassificationModel#labels()} returns them. Without names a
 * fresh head's classes are {@code LABEL_0..k-1} and a checkpoint's head keeps its names.
 *
 * <p><b>Head pooling</b> ({@code pooling}): {@code pooler} is HF {@code
 * BertForSequenceClassification} (the default when the checkpoint has pooler weights), {@code cls}
 * and {@code mean} feed the [CLS] state or the mean token state to the classifier (mean is the
 * default otherwise, e.g. for the built-in MiniLM, whose pooler was pruned). The choice is saved
 * under the {@code sparkbert} key of config.json; HF {@code from_pretrained} reproduces only {@code
 * pooler}.
 *
 * <p><b>A new head is probed first</b> ({@code linearProbe}, default true): fitted alone by
 * logistic regression on the frozen encoder's features, then everything is fine-tuned (LP-FT, see
 * {@link io.sparkbert.bert.train.LinearProbe}). A checkpoint's own trained head is fine-tuned as it
 * is, never probed; {@code linearProbe=false} gives HF {@code Trainer}'s plain fine-tuning.
 *
 * <p>Not thread-safe for concurrent param changes, like every Spark stage.
 */
public class BertClassifier extends Estimator<BertClassificationModel>
        implements DefaultParamsWritable, TrainingParams<BertClassifier> {
    private static final long serialVersionUID = 1L;

    private final String uid;

    private final Param<String> textCol;
    private final Param<String> textPairCol;
    private final Param<String> labelCol;
    private final Param<String> predictionCol;
    private final Param<String> probabilityCol;
    private final Param<String> rawPredictionCol;
    private final DoubleArrayParam thresholds;
    private final Param<String> model;
    private final Param<String> pooling;
    private final Param<String> device;
    private final IntParam maxTrainingRows;
    // The params of the training options (TrainingOption), by name.
    private final Map<String, Param<?>> training;

    /** A classifier with a random uid. */
    public BertClassifier() {
        this(Identifiable.randomUID("bertClassifier"));
    }

    /** A classifier with the given uid. */
    @SuppressWarnings("unchecked")
    public BertClassifier(String uid) {
        if (uid == null || uid.isEmpty()) {
            throw new IllegalArgumentException("uid must not be null or empty");
        }
        this.uid = uid;
        textCol = SharedParams.textCol(this);
        textPairCol = SharedParams.textPairCol(this);
        labelCol =
                new Param<>(
                        this,
                        "labelCol",
                        "label column: class indices 0..k-1, numeric (default \"label\")",
                        SharedParams.nonBlank());
        predictionCol = SharedParams.predictionCol(this);
        probabilityCol = SharedParams.probabilityCol(this);
        rawPredictionCol = SharedParams.rawPredictionCol(this);
        thresholds = SharedParams.thresholds(this);
        model =
                new Param<>(
                        this,
                        "model",
                        "\"default\" for the built-in all-MiniLM-L6-v2, or the URI of an HF"
                                + " checkpoint directory (config.json, model.safetensors,"
                                + " tokenizer.json or vocab.txt) (default \"default\")",
                        SharedParams.nonBlank());
        pooling =
                new Param<>(
                        this,
                        "pooling",
                        "classifier input: auto (pooler when the checkpoint has pooler weights,"
                                + " else mean), pooler (HF BertForSequenceClassification), cls or"
                                + " mean (default auto)",
                        ParamValidators.inArray(new String[] {"auto", "pooler", "cls", "mean"}));
        device = SharedParams.device(this);
        maxTrainingRows =
                new IntParam(
                        this,
                        "maxTrainingRows",
                        "most rows fit() collects to the driver; more is an error (default"
                                + " 100000)",
                        ParamValidators.gtEq(1));
        setDefault(textCol, "text");
        setDefault(textPairCol, "");
        setDefault(labelCol, "label");
        setDefault(predictionCol, "prediction");
        setDefault(probabilityCol, "probability");
        setDefault(rawPredictionCol, "rawPrediction");
        setDefault(model, ModelLocation.DEFAULT);
        setDefault(pooling, "auto");
        setDefault(device, "auto");
        setDefault(maxTrainingRows, 100_000);
        training = OptionParams.create(this);
        for (TrainingOption<?> o : TrainingOption.ALL) {
            Param<?> p = training.get(o.name());
            if (p != null && o.defaultValue() != null) {
                setDefault((Param<Object>) p, o.defaultValue());
            }
        }
    }

    @Override
    public String uid() {
        return uid;
    }

    @Override
    public Param<?> trainingParam(TrainingOption<?> option) {
        Param<?> p = training.get(option.name());
        if (p == null) {
            throw new IllegalArgumentException(
                    option.name() + " is a TrainingConfig setting, not a BertClassifier param.");
        }
        return p;
    }

    @Override
    @SuppressWarnings("unchecked")
    public <T> BertClassifier setOption(TrainingOption<T> option, T value) {
        set((Param<T>) trainingParam(option), value);
        return this;
    }

    // ------------------------------------------------------------ accessors

    public Param<String> textCol() {
        return textCol;
    }

    public Param<String> textPairCol() {
        return textPairCol;
    }

    public Param<String> labelCol() {
        return labelCol;
    }

    public Param<String> predictionCol() {
        return predictionCol;
    }

    public Param<String> probabilityCol() {
        return probabilityCol;
    }

    public Param<String> rawPredictionCol() {
        return rawPredictionCol;
    }

    public DoubleArrayParam thresholds() {
        return thresholds;
    }

    public Param<String> model() {
        return model;
    }

    public Param<String> pooling() {
        return pooling;
    }

    public Param<String> device() {
        return device;
    }

    public IntParam maxTrainingRows() {
        return maxTrainingRows;
    }

    public String getTextCol() {
        return $(textCol);
    }

    public String getTextPairCol() {
        return $(textPairCol);
    }

    public String getLabelCol() {
        return $(labelCol);
    }

    public String getModel() {
        return $(model);
    }

    public String getPooling() {
        return $(pooling);
    }

    public int getMaxTrainingRows() {
        return (Integer) $(maxTrainingRows);
    }

    public BertClassifier setTextCol(String v) {
        set(textCol, v);
        return this;
    }

    public BertClassifier setTextPairCol(String v) {
        set(textPairCol, v);
        return this;
    }

    public BertClassifier setLabelCol(String v) {
        set(labelCol, v);
        return this;
    }

    public BertClassifier setPredictionCol(String v) {
        set(predictionCol, v);
        return this;
    }

    public BertClassifier setProbabilityCol(String v) {
        set(probabilityCol, v);
        return this;
    }

    public BertClassifier setRawPredictionCol(String v) {
        set(rawPredictionCol, v);
        return this;
    }

    public BertClassifier setThresholds(double[] v) {
        set(thresholds, v);
        return this;
    }

    public BertClassifier setModel(String v) {
        set(model, v);
        return this;
    }

    public BertClassifier setPooling(String v) {
        set(pooling, v);
        return this;
    }

    public BertClassifier setDevice(String v) {
        set(device, v);
        return this;
    }

    public BertClassifier setMaxTrainingRows(int v) {
        set(maxTrainingRows, v);
        return this;
    }

    /**
     * The trainer settings these params describe.
     *
     * @throws IllegalArgumentException naming a setting out of its range
     */
    public TrainingConfig trainingConfig() {
        return OptionParams.config(this, training);
    }

    private String stageName() {
        return "BertClassifier[" + uid + "]";
    }

    // ------------------------------------------------------------------ fit

    @Override
    public StructType transformSchema(StructType schema) {
        String stage = stageName();
        SharedParams.requireString(schema, getTextCol(), "textCol", stage);
        if (!getTextPairCol().isEmpty()) {
            SharedParams.requireString(schema, getTextPairCol(), "textPairCol", stage);
        }
        SharedParams.requireExists(schema, getLabelCol(), "labelCol", stage);
        StructField label = schema.apply(getLabelCol());
        if (!(label.dataType() instanceof NumericType)) {
            throw new IllegalArgumentException(
                    String.format(
                            Locale.ROOT,
                            "%s: label column '%s' (param labelCol) must be numeric (class indices"
                                    + " 0..k-1) but is %s; index string labels with StringIndexer"
                                    + " first.",
                            stage,
                            getLabelCol(),
                            label.dataType().simpleString()));
        }
        SharedParams.requireAbsent(schema, $(predictionCol), "predictionCol", stage);
        SharedParams.requireAbsent(schema, $(probabilityCol), "probabilityCol", stage);
        SharedParams.requireAbsent(schema, $(rawPredictionCol), "rawPredictionCol", stage);
        return SharedParams.withOutputs(
                schema, $(predictionCol), $(probabilityCol), $(rawPredictionCol), -1, false);
    }

    @Override
    public BertClassificationModel fit(Dataset<?> dataset) {
        StructType schema = dataset.schema();
        transformSchema(schema);
        String stage = stageName();
        TrainingConfig config = trainingConfig();
        if (config.earlyStoppingPatience() > 0 && config.validationFraction() == 0) {
            throw new IllegalArgumentException(
                    stage
                            + ": earlyStoppingPatience "
                            + config.earlyStoppingPatience()
                            + " needs validation data: set validationFraction > 0 (e.g. 0.1).");
        }
        boolean pair = !getTextPairCol().isEmpty();
        List<org.apache.spark.sql.Column> cols = new ArrayList<>();
        cols.add(TextColumns.named(getTextCol()));
        cols.add(
                pair
                        ? TextColumns.named(getTextPairCol())
                        : org.apache.spark.sql.functions.lit(null));
        cols.add(TextColumns.named(getLabelCol()).cast("double"));
        int max = getMaxTrainingRows();
        List<Row> rows =
                dataset.select(cols.toArray(new org.apache.spark.sql.Column[0]))
                        .limit(max + 1)
                        .collectAsList();
        if (rows.size() > max) {
            throw new IllegalArgumentException(
                    String.format(
                            Locale.ROOT,
                            "%s: the training data has more than maxTrainingRows = %d rows, which"
                                    + " fit() would collect to the driver. Raise maxTrainingRows"
                                    + " (setMaxTrainingRows) if the driver has the memory, or"
                                    + " sample the DataFrame yourself.",
                            stage,
                            max));
        }
        if (rows.isEmpty()) {
            throw new IllegalArgumentException(
                    stage + ": the training DataFrame is empty: fit needs labelled rows.");
        }
        List<String> texts = new ArrayList<>(rows.size());
        List<String> pairs = pair ? new ArrayList<>(rows.size()) : null;
        int[] labels = new int[rows.size()];
        for (int i = 0; i < rows.size(); i++) {
            Row r = rows.get(i);
            texts.add(r.isNullAt(0) ? null : r.getString(0));
            if (pair) {
                pairs.add(r.isNullAt(1) ? null : r.getString(1));
            }
        }
        // A null or blank text is refused when scoring, so it is refused here too rather than
        // trained on.
        checkTexts(texts, "text column", getTextCol(), "textCol", stage);
        if (pair) {
            checkTexts(pairs, "text pair column", getTextPairCol(), "textPairCol", stage);
        }
        int maxLabel = 0;
        for (int i = 0; i < rows.size(); i++) {
            labels[i] = label(rows.get(i), i, stage);
            maxLabel = Math.max(maxLabel, labels[i]);
        }

        Device dev = Devices.resolve($(device));
        ModelLocation location = ModelLocation.of(getModel());
        Path dir =
                location.isDefault()
                        ? null
                        : location.toLocalDirectory(
                                dataset.sparkSession().sparkContext().hadoopConfiguration());
        try (HfTokenizer tokenizer =
                        dir == null
                                ? HfTokenizer.builtIn(TokenizerOptions.defaults())
                                : HfTokenizer.fromDirectory(dir, TokenizerOptions.defaults());
                BertModel base = dir == null ? BertModel.builtIn(dev) : BertModel.load(dir, dev)) {
            ClassifierHead head =
                    "auto".equals(getPooling())
                            ? ClassifierHead.defaultFor(base.hasPooler())
                            : ClassifierHead.parse(getPooling());
            int k = numClasses(base, schema.apply(getLabelCol()), maxLabel, stage);
            if (isDefined(thresholds) && $(thresholds).length != k) {
                throw new IllegalArgumentException(
                        String.format(
                                Locale.ROOT,
                                "%s: thresholds has %d entries but there are %d classes; give one"
                                        + " threshold per class.",
                                stage,
                                $(thresholds).length,
                                k));
            }
            double[] weights = config.classWeights();
            if (weights != null && weights.length != k) {
                throw new IllegalArgumentException(
                        String.format(
                                Locale.ROOT,
                                "%s: classWeights has %d entries but there are %d classes; give"
                                        + " one weight per class.",
                                stage,
                                weights.length,
                                k));
            }
            try (BertModel model = withHead(base, k, schema.apply(getLabelCol()), config, stage)) {
                // A checkpoint's own head is already trained: the probe would replace it.
                Trainer trainer =
                        new Trainer(
                                base.hasClassifier()
                                        ? config.toBuilder().linearProbe(false).build()
                                        : config);
                Trainer.Examples all = trainer.encode(tokenizer, texts, pairs, labels);
                Trainer.Examples[] split = split(all, config.validationFraction(), config.seed());
                TrainingSummary summary = trainer.train(model, head, split[0], split[1]);
                ClassifierPayload payload =
                        new ClassifierPayload(
                                UUID.randomUUID().toString(),
                                configJson(model, head),
                                model.toSafetensorsBytes(),
                                tokenizer.toJson(),
                                head.id(),
                                k);
                BertClassificationModel fitted = new BertClassificationModel(uid, payload, summary);
                copyValues(fitted, extractParamMap());
                if (isDefined(thresholds)) {
                    fitted.setThresholds($(thresholds));
                }
                return fitted.setParent(this);
            }
        }
    }

    /**
     * Refuses null and blank (whitespace-only) texts, counting them and naming the column and the
     * first such row.
     */
    private static void checkTexts(
            List<String> texts, String what, String column, String param, String stage) {
        int bad = 0;
        int first = -1;
        for (int i = 0; i < texts.size(); i++) {
            String t = texts.get(i);
            if (t == null || t.isBlank()) {
                if (bad++ == 0) {
                    first = i;
                }
            }
        }
        if (bad > 0) {
            throw new IllegalArgumentException(
                    String.format(
                            Locale.ROOT,
                            "%s: %s '%s' (param %s) has %d null or blank (whitespace-only)"
                                    + " %s (the first at row %d); filter them out or fill them"
                                    + " before fit (a trained model refuses them too).",
                            stage,
                            what,
                            column,
                            param,
                            bad,
                            bad == 1 ? "value" : "values",
                            first));
        }
    }

    private int label(Row r, int i, String stage) {
        if (r.isNullAt(2)) {
            throw badLabel(stage, i, "null");
        }
        double y = r.getDouble(2);
        if (Double.isNaN(y) || y < 0 || y != Math.rint(y) || y > Integer.MAX_VALUE) {
            throw badLabel(stage, i, String.valueOf(y));
        }
        return (int) y;
    }

    private IllegalArgumentException badLabel(String stage, int row, String value) {
        return new IllegalArgumentException(
                String.format(
                        Locale.ROOT,
                        "%s: label column '%s' (param labelCol) has the value %s at row %d; labels"
                                + " must be class indices 0, 1, ..., k-1 (use StringIndexer for"
                                + " string labels, and drop rows without a label).",
                        stage,
                        getLabelCol(),
                        value,
                        row));
    }

    private int numClasses(BertModel base, StructField labelField, int maxLabel, String stage) {
        if (base.hasClassifier()) {
            int k = base.numLabels();
            if (maxLabel >= k) {
                throw new IllegalArgumentException(
                        String.format(
                                Locale.ROOT,
                                "%s: label column '%s' (param labelCol) has label %d but the"
                                        + " checkpoint's classification head has %d classes"
                                        + " (0..%d); use a checkpoint without a head or with"
                                        + " enough labels.",
                                stage,
                                getLabelCol(),
                                maxLabel,
                                k,
                                k - 1));
            }
            return k;
        }
        int fromMeta = SharedParams.numClassesFromMetadata(labelField);
        if (fromMeta > 0 && maxLabel >= fromMeta) {
            throw new IllegalArgumentException(
                    String.format(
                            Locale.ROOT,
                            "%s: label column '%s' (param labelCol) has label %d but its metadata"
                                    + " declares %d classes.",
                            stage,
                            getLabelCol(),
                            maxLabel,
                            fromMeta));
        }
        int k = fromMeta > 0 ? fromMeta : maxLabel + 1;
        if (k < 2) {
            throw new IllegalArgumentException(
                    String.format(
                            Locale.ROOT,
                            "%s: label column '%s' (param labelCol) holds a single class, so a"
                                    + " new classification head cannot learn anything; fit on"
                                    + " data with at least two classes.",
                            stage,
                            getLabelCol()));
        }
        return k;
    }

    /**
     * The model to train: {@code base} with its own head, or with a fresh head of {@code k} classes
     * when it has none. Class names in the label column's metadata become the config's {@code
     * id2label}/{@code label2id} in both cases, so that whatever reads the saved config (this
     * model, SQL functions, HF {@code from_pretrained}) names the classes as training did.
     */
    private BertModel withHead(
            BertModel base, int k, StructField labelField, TrainingConfig config, String stage) {
        String[] names = SharedParams.classNamesFromMetadata(labelField);
        if (base.hasClassifier()) {
            // Fine-tune the checkpoint's own head, under the names training had.
            List<String> labels = base.config().labels();
            if (names != null) {
                labels = headLabels(names, labels, stage);
            }
            return BertModel.fromBytes(
                    base.config().withLabels(labels), base.toSafetensorsBytes(), base.device());
        }
        if (names != null && names.length == k) {
            return base.withFreshClassifier(Arrays.asList(names), config.seed());
        }
        return base.withFreshClassifier(k, config.seed());
    }

    /**
     * The names of a checkpoint head's classes when the label column names {@code names}: those for
     * the first classes, the checkpoint's own for any class after them (a head may have more
     * classes than the training data names).
     */
    private List<String> headLabels(String[] names, List<String> own, String stage) {
        if (names.length > own.size()) {
            throw new IllegalArgumentException(
                    String.format(
                            Locale.ROOT,
                            "%s: label column '%s' (param labelCol) names %d classes %s in its"
                                    + " metadata but the checkpoint's classification head has %d;"
                                    + " use a checkpoint without a head or with enough labels.",
                            stage,
                            getLabelCol(),
                            names.length,
                            Arrays.toString(names),
                            own.size()));
        }
        List<String> labels = new ArrayList<>(Arrays.asList(names));
        labels.addAll(own.subList(names.length, own.size()));
        if (new java.util.HashSet<>(labels).size() != labels.size()) {
            throw new IllegalArgumentException(
                    String.format(
                            Locale.ROOT,
                            "%s: the class names of label column '%s' (param labelCol) %s and the"
                                    + " checkpoint's names for its other classes %s repeat a"
                                    + " name; name every class of the head in the column's"
                                    + " metadata.",
                            stage,
                            getLabelCol(),
                            Arrays.toString(names),
                            own.subList(names.length, own.size())));
        }
        return labels;
    }

    /** The seeded hold-out split; [train, validation or null]. */
    static Trainer.Examples[] split(Trainer.Examples all, double fraction, long seed) {
        int n = all.size();
        int nVal = fraction <= 0 ? 0 : Math.max(1, (int) Math.round(n * fraction));
        if (nVal == 0) {
            return new Trainer.Examples[] {all, null};
        }
        if (nVal >= n) {
            throw new IllegalArgumentException(
                    "validationFraction "
                            + fraction
                            + " leaves no training rows out of "
                            + n
                            + ": lower it or add data.");
        }
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            order.add(i);
        }
        Collections.shuffle(order, new Random(seed));
        return new Trainer.Examples[] {
            subset(all, order.subList(nVal, n)), subset(all, order.subList(0, nVal))
        };
    }

    private static Trainer.Examples subset(Trainer.Examples all, List<Integer> idx) {
        List<Encoding> enc = new ArrayList<>(idx.size());
        int[] y = new int[idx.size()];
        for (int i = 0; i < idx.size(); i++) {
            enc.add(all.encodings().get(idx.get(i)));
            y[i] = all.labels()[idx.get(i)];
        }
        return new Trainer.Examples(enc, y);
    }

    /** HF config.json of the trained classifier plus the {@code sparkbert} key. */
    static String configJson(BertModel model, ClassifierHead head) {
        JsonObject cfg = JsonParser.parseString(model.config().toJson(true)).getAsJsonObject();
        JsonObject sb = new JsonObject();
        sb.addProperty("pooling", head.id());
        sb.addProperty("formatVersion", BertClassificationModel.FORMAT_VERSION);
        cfg.add("sparkbert", sb);
        return cfg.toString();
    }

    @Override
    public BertClassifier copy(ParamMap extra) {
        return (BertClassifier) defaultCopy(extra);
    }

    /**
     * The reader of saved (unfitted) classifiers; params that spark-bert removed are ignored with a
     * warning naming them.
     */
    public static MLReader<BertClassifier> read() {
        return new ClassifierReader();
    }

    /** Loads a saved (unfitted) classifier. */
    public static BertClassifier load(String path) {
        return read().load(path);
    }
}
