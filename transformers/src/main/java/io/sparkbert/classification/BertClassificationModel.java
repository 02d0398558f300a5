package io.sparkbert.classification;

import io.sparkbert.bert.BertConfig;
import io.sparkbert.bert.HfExport;
import io.sparkbert.bert.ProblemType;
import io.sparkbert.bert.train.TrainingSummary;
import io.sparkbert.inference.ModelBytes;
import io.sparkbert.inference.ModelSource;
import io.sparkbert.inference.PartitionScorer;
import io.sparkbert.inference.Score;
import io.sparkbert.inference.ScoringSpec;
import io.sparkbert.inference.TextColumns;
import io.sparkbert.persistence.HfFolders;
import java.io.IOException;
import java.util.Arrays;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.ml.Model;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.param.ParamValidators;
import org.apache.spark.ml.util.Identifiable;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.ml.util.MLWritable;
import org.apache.spark.ml.util.MLWriter;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * A fine-tuned BERT sequence classifier, produced by {@link BertClassifier#fit}. Adds MLlib's
 * classifier columns: {@code rawPredictionCol} (Vector of logits), {@code probabilityCol} (Vector,
 * softmax) and {@code predictionCol} (double class index, argmax of probability / thresholds as in
 * MLlib), so MLlib evaluators, {@code Pipeline} and {@code CrossValidator} work unchanged.
 *
 * <p><b>Problem types</b> ({@link #problemType()}, from the config.json's {@code problem_type}).
 * Multi-label: {@code rawPredictionCol} the logits, {@code probabilityCol} a sigmoid per class
 * (they do not sum to 1), {@code predictionCol} an array of the class indices (doubles, ascending)
 * whose probability is strictly above its threshold ({@code thresholds[c]} when set, else {@code
 * threshold}, default 0.5), as MLlib's {@code MultilabelClassificationEvaluator} reads it.
 * Regression: {@code predictionCol} alone, the head's single output, like MLlib's regressors. For
 * windowed texts both are computed from the logits averaged over the windows.
 *
 * <p><b>Scoring.</b> Through {@link PartitionScorer}: each partition is read in windows of rows,
 * tokenized, cut into length-bucketed batches of at most {@code batchSize} rows and scored in the
 * original row order. The weights travel once in a broadcast keyed by their content; each executor
 * JVM loads the model once ({@link io.sparkbert.inference.ModelCache}). A null or blank text (or
 * pair text) is handled by {@code handleInvalid}: {@code error} (default) fails the task with an
 * error naming the column, {@code keep} gives the row null prediction, probability and
 * rawPrediction in its place, {@code skip} drops the row before scoring. Rows are otherwise never
 * dropped or reordered.
 *
 * <p><b>Persistence.</b> {@code write().save(path)} writes Spark metadata plus the HF folder {@code
 * path/hf/} ({@code config.json} with {@code id2label} and a {@code sparkbert} key recording the
 * pooling, {@code model.safetensors}, {@code tokenizer.json}; see {@link HfExport}), {@code
 * path/sparkbert.json} (format version, checked on load) and {@code path/training-summary.json}.
 * With the default pooling ({@code pooler}) {@code hf/} is a {@code BertForSequenceClassification}
 * that HF's {@code from_pretrained} reads with the same logits; a {@code mean} or {@code cls} head
 * is written as an HF {@code BertModel} plus {@code hf/classifier.safetensors}. {@link
 * HfFolders#move} moves {@code hf/} elsewhere in a larger directory (the train job's {@code
 * DIR/hf}) so the weights are stored once.
 *
 * <p>Not thread-safe for concurrent param changes, like every Spark stage; transform may be called
 * from several threads.
 */
public class BertClassificationModel extends Model<BertClassificationModel>
        implements MLWritable, ClassifierParams<BertClassificationModel> {
    private static final long serialVersionUID = 1L;

    /**
     * The on-disk layout version this class writes; it reads 1 too (the same files without {@code
     * hfDir} or {@code hf/classifier.safetensors}).
     */
    static final int FORMAT_VERSION = 2;

    /** The folder of the HF files, below the model path unless sparkbert.json says otherwise. */
    static final String HF = HfFolders.HF;

    private final String uid;
    private final ClassifierPayload payload;
    private final TrainingSummary summary;
    private transient ModelSource source;

    private final ClassifierParams.Declared shared;
    private final IntParam batchSize;
    private final IntParam maxLength;
    private final Param<String> overflow;
    private final IntParam stride;
    private final IntParam windowSize;
    private final Param<String> handleInvalid;
    private transient ProblemType problemType;

    @SuppressWarnings("unchecked")
    BertClassificationModel(String uid, ClassifierPayload payload, TrainingSummary summary) {
        this.uid = uid;
        this.payload = payload;
        this.summary = summary;
        shared = new ClassifierParams.Declared(this);
        batchSize = SharedParams.batchSize(this);
        maxLength = SharedParams.maxLength(this);
        overflow =
                new Param<>(
                        this,
                        "overflow",
                        "texts longer than maxLength: truncate, or window (probabilities and"
                                + " logits averaged over overlapping windows of maxLength tokens;"
                                + " single texts only) (default truncate)",
                        ParamValidators.inArray(new String[] {"truncate", "window"}));
        stride =
                new IntParam(
                        this,
                        "stride",
                        "tokens shared by consecutive windows with overflow=window, >= 0 and below"
                                + " maxLength - 2 (default 32)",
                        ParamValidators.gtEq(0));
        windowSize = ScoringSpec.windowSizeParam(this);
        handleInvalid = ScoringSpec.handleInvalidParam(this);
        shared.defaults().forEach((p, v) -> setDefault((Param<Object>) p, v));
        setDefault(batchSize, 16);
        setDefault(maxLength, 128);
        setDefault(overflow, "truncate");
        setDefault(stride, 32);
        setDefault(windowSize, ScoringSpec.DEFAULT_WINDOW_SIZE);
        setDefault(handleInvalid, "error");
    }

    @Override
    public String uid() {
        return uid;
    }

    /** The summary of the training run that produced this model. */
    public TrainingSummary summary() {
        if (summary == null) {
            throw new IllegalStateException(
                    "BertClassificationModel[" + uid + "] has no training summary");
        }
        return summary;
    }

    /** Whether a training summary is available. */
    public boolean hasSummary() {
        return summary != null;
    }

    /** Number of classes. */
    public int numClasses() {
        return payload.numClasses;
    }

    /**
     * The class names by class id: the {@code id2label} of the saved config.json, which SQL
     * functions and HF {@code from_pretrained} read too.
     */
    public List<String> labels() {
        return BertConfig.parse(payload.configJson, "BertClassificationModel[" + uid + "]")
                .labels();
    }

    /** The pooling of the classification head: pooler, cls or mean. */
    public String pooling() {
        return payload.pooling;
    }

    /**
     * What the head predicts, from its config.json's {@code problem_type} (a head with one output
     * and no problem_type is a regression, as in HF; otherwise single-label).
     */
    public ProblemType problemType() {
        if (problemType == null) {
            problemType = ProblemType.of(BertConfig.parse(payload.configJson, stageName()));
        }
        return problemType;
    }

    /** The id of this set of weights (the executor cache key). */
    public String modelId() {
        return payload.modelId;
    }

    // ------------------------------------------------------------------ params

    @Override
    public ClassifierParams.Declared classifierParams() {
        return shared;
    }

    /** Texts per forward pass. */
    public IntParam batchSize() {
        return batchSize;
    }

    /** Maximum tokens per text. */
    public IntParam maxLength() {
        return maxLength;
    }

    /** Texts longer than maxLength: truncate or window. */
    public Param<String> overflow() {
        return overflow;
    }

    /** Tokens shared by consecutive windows with overflow=window. */
    public IntParam stride() {
        return stride;
    }

    public String getOverflow() {
        return $(overflow);
    }

    public int getStride() {
        return (Integer) $(stride);
    }

    public BertClassificationModel setOverflow(String v) {
        set(overflow, v);
        return this;
    }

    /** What happens to a row whose text (or pair text) is null or blank. */
    public Param<String> handleInvalid() {
        return handleInvalid;
    }

    public String getHandleInvalid() {
        return $(handleInvalid);
    }

    public BertClassificationModel setHandleInvalid(String v) {
        set(handleInvalid, v);
        return this;
    }

    /** Rows length-sorted together before batching. */
    public IntParam windowSize() {
        return windowSize;
    }

    public int getWindowSize() {
        return (Integer) $(windowSize);
    }

    public BertClassificationModel setWindowSize(int v) {
        set(windowSize, v);
        return this;
    }

    public BertClassificationModel setStride(int v) {
        set(stride, v);
        return this;
    }

    public int getBatchSize() {
        return (Integer) $(batchSize);
    }

    public int getMaxLength() {
        return (Integer) $(maxLength);
    }

    /**
     * Sets per-class thresholds.
     *
     * @throws IllegalArgumentException when their number differs from the number of classes
     */
    @Override
    public BertClassificationModel setThresholds(double[] v) {
        if (v != null && v.length != payload.numClasses) {
            throw new IllegalArgumentException(
                    stageName()
                            + ": thresholds has "
                            + v.length
                            + " entries but the model has "
                            + payload.numClasses
                            + " classes.");
        }
        set(thresholds(), v);
        return this;
    }

    public BertClassificationModel setBatchSize(int v) {
        set(batchSize, v);
        return this;
    }

    public BertClassificationModel setMaxLength(int v) {
        set(maxLength, v);
        return this;
    }

    private String stageName() {
        return "BertClassificationModel[" + uid + "]";
    }

    // --------------------------------------------------------------- transform

    @Override
    public StructType transformSchema(StructType schema) {
        String stage = stageName();
        SharedParams.requireTexts(schema, this, stage);
        SharedParams.requireAbsent(schema, getPredictionCol(), "predictionCol", stage);
        if (problemType() != ProblemType.REGRESSION) {
            SharedParams.requireAbsent(schema, getProbabilityCol(), "probabilityCol", stage);
            SharedParams.requireAbsent(schema, getRawPredictionCol(), "rawPredictionCol", stage);
        }
        if (isDefined(thresholds()) && getThresholds().length != payload.numClasses) {
            throw new IllegalArgumentException(
                    stage
                            + ": thresholds has "
                            + getThresholds().length
                            + " entries but the model has "
                            + payload.numClasses
                            + " classes.");
        }
        return SharedParams.withOutputs(
                schema,
                problemType(),
                getPredictionCol(),
                getProbabilityCol(),
                getRawPredictionCol(),
                payload.numClasses,
                getHandleInvalid().equals("keep"));
    }

    @Override
    public Dataset<Row> transform(Dataset<?> dataset) {
        StructType out = transformSchema(dataset.schema());
        String pairCol = getTextPairCol().isEmpty() ? null : getTextPairCol();
        ScoringSpec spec =
                new ScoringSpec(modelSource(dataset.sparkSession()), ScoringSpec.Output.LOGITS)
                        .columns(stageName(), getTextCol(), pairCol)
                        .classifierHead(payload.pooling)
                        .device(getDevice())
                        .maxLength(getMaxLength())
                        .batchSize(getBatchSize())
                        .windowSize(getWindowSize())
                        .overflow($(overflow), (Integer) $(stride))
                        .handleInvalid(getHandleInvalid().equals("error") ? "error" : "keep")
                        .invalidHint(
                                "Set handleInvalid to keep (null outputs) or skip (drop the row),"
                                        + " or filter out rows whose text (param textCol"
                                        + (pairCol == null ? "" : " or textPairCol")
                                        + ") is null or blank before transform.");
        Dataset<?> input = dataset;
        if (getHandleInvalid().equals("skip")) {
            input = dataset.filter(TextColumns.scorable(getTextCol(), pairCol));
        }
        double[] th = isDefined(thresholds()) ? getThresholds() : null;
        StructField[] appended =
                Arrays.copyOfRange(out.fields(), dataset.schema().size(), out.size());
        ProblemType type = problemType();
        if (type != ProblemType.SINGLE_LABEL) {
            double t = getThreshold();
            return PartitionScorer.transform(
                    input, spec, appended, score -> ProblemOutputs.row(score, type, th, t));
        }
        return PartitionScorer.transform(input, spec, appended, score -> outputs(score, th));
    }

    /** prediction, probability, rawPrediction (= logits) of one row. */
    private static Object[] outputs(Score score, double[] thresholds) {
        if (score == null) {
            return new Object[] {null, null, null};
        }
        float[] logits = score.values();
        double[] prob = score.probabilities();
        double[] raw = new double[logits.length];
        for (int j = 0; j < raw.length; j++) {
            raw[j] = logits[j];
        }
        return new Object[] {
            (double) predict(prob, thresholds), Vectors.dense(prob), Vectors.dense(raw)
        };
    }

    /**
     * The executors' view of this model: its bytes in a broadcast, made once per model instance and
     * keyed by content, so each executor JVM loads it once.
     */
    private synchronized ModelSource modelSource(SparkSession spark) {
        if (source == null) {
            source =
                    ModelSource.broadcast(
                            spark.sparkContext(),
                            new ModelBytes(
                                    payload.configJson, payload.weights, payload.tokenizerJson));
        }
        return source;
    }

    /** MLlib's rule: argmax of probability / threshold (a 0 threshold wins outright). */
    static int predict(double[] probability, double[] thresholds) {
        int best = 0;
        double bestScore = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < probability.length; i++) {
            double score;
            if (thresholds == null) {
                score = probability[i];
            } else {
                score =
                        thresholds[i] == 0
                                ? Double.POSITIVE_INFINITY
                                : probability[i] / thresholds[i];
            }
            if (score > bestScore) {
                bestScore = score;
                best = i;
            }
        }
        return best;
    }

    // ------------------------------------------------------------- copy, io

    @Override
    public BertClassificationModel copy(ParamMap extra) {
        BertClassificationModel copy = new BertClassificationModel(uid, payload, summary);
        return copyValues(copy, extra).setParent(parent());
    }

    @Override
    public MLWriter write() {
        return new ClassificationModelFiles.Writer(this);
    }

    @Override
    public void save(String path) throws IOException {
        write().save(path);
    }

    /** The reader for saved models (also used by PipelineModel.load). */
    public static MLReader<BertClassificationModel> read() {
        return new ClassificationModelFiles.Reader();
    }

    /** Loads a saved model. */
    public static BertClassificationModel load(String path) {
        return read().load(path);
    }

    /**
     * A model from an HF checkpoint directory (local path or Hadoop URI) with a trained
     * classification head: {@code config.json} (its {@code id2label} names the classes), {@code
     * model.safetensors}, {@code tokenizer.json} or {@code vocab.txt}. It scores as HF {@code
     * BertForSequenceClassification} does, or with the pooling BertClassifier recorded.
     *
     * @throws IllegalArgumentException when the directory is not such a checkpoint
     */
    public static BertClassificationModel fromCheckpoint(String path) {
        return CheckpointModels.fromCheckpoint(path);
    }

    ClassifierPayload payload() {
        return payload;
    }

    /**
     * Moves the hf/ folder of a model saved at {@code savedModel} to {@code hfDir} and records
     * where it went ({@link HfFolders#move}), so that a directory holding both (the train job's
     * output: {@code DIR/hf} and the pipeline stage under {@code DIR/stages/}) holds the weights
     * once.
     *
     * @param conf the Hadoop configuration
     * @param savedModel where {@code write().save} put the model
     * @param hfDir the new place of its hf/ folder, outside the model's folder (must not exist)
     */
    public static void moveHfFolder(Configuration conf, String savedModel, String hfDir) {
        HfFolders.move(conf, savedModel, hfDir, FORMAT_VERSION);
    }

    /** A new random uid for this class. */
    static String newUid() {
        return Identifiable.randomUID("bertClassificationModel");
    }
}
