package io.sparkbert.classification;

import ai.djl.Device;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.sparkbert.bert.BertModel;
import io.sparkbert.bert.BuiltInModel;
import io.sparkbert.bert.Devices;
import io.sparkbert.bert.Encoding;
import io.sparkbert.bert.HfTokenizer;
import io.sparkbert.bert.TokenizerOptions;
import io.sparkbert.bert.train.ClassifierHead;
import io.sparkbert.bert.train.Trainer;
import io.sparkbert.bert.train.TrainingConfig;
import io.sparkbert.bert.train.TrainingSummary;
import io.sparkbert.inference.TextColumns;
import io.sparkbert.persistence.ModelLocation;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.UUID;
import org.apache.spark.ml.Estimator;
import org.apache.spark.ml.param.BooleanParam;
import org.apache.spark.ml.param.DoubleArrayParam;
import org.apache.spark.ml.param.DoubleParam;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.LongParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.param.ParamValidators;
import org.apache.spark.ml.util.DefaultParamsReader;
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
 * and {@code mean} feed the [CLS] state or the mean token state to the classifier (for a built-in
 * encoder, none of which keeps its pooler, the default is the pooling it was trained with: cls for
 * bge-small-en-v1.5, mean for MiniLM and e5; mean for other checkpoints without a pooler). The
 * choice is saved under the {@code sparkbert} key of config.json; HF {@code from_pretrained}
 * reproduces only {@code pooler}.
 *
 * <p><b>A new head is probed first</b> ({@code linearProbe}, default true): fitted alone by
 * logistic regression on the frozen encoder's features, then everything is fine-tuned (LP-FT, see
 * {@link io.sparkbert.bert.train.LinearProbe}). A checkpoint's own trained head is fine-tuned as it
 * is, never probed; {@code linearProbe=false} gives HF {@code Trainer}'s plain fine-tuning.
 *
 * <p>Not thread-safe for concurrent param changes, like every Spark stage.
 */
public class BertClassifier extends Estimator<BertClassificationModel>
        implements DefaultParamsWritable {
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
    private final IntParam epochs;
    private final IntParam batchSize;
    private final DoubleParam learningRate;
    private final DoubleParam weightDecay;
    private final BooleanParam decayBiasAndNorm;
    private final DoubleParam warmupRatio;
    private final DoubleParam headLearningRate;
    private final DoubleParam layerLrDecay;
    private final DoubleParam emaDecay;
    private final IntParam soupSize;
    private final BooleanParam freezeWordEmbeddings;
    private final DoubleParam rdropAlpha;
    private final DoubleParam labelSmoothing;
    private final DoubleParam samRho;
    private final BooleanParam linearProbe;
    private final DoubleParam linearProbeL2;
    private final Param<String> lrSchedule;
    private final DoubleParam maxGradNorm;
    private final LongParam seed;
    private final BooleanParam shuffle;
    private final BooleanParam groupByLength;
    private final DoubleArrayParam classWeights;
    private final IntParam logEverySteps;
    private final IntParam maxLength;
    private final DoubleParam validationFraction;
    private final IntParam earlyStoppingPatience;
    private final Param<String> device;
    private final IntParam maxTrainingRows;

    /** A classifier with a random uid. */
    public BertClassifier() {
        this(Identifiable.randomUID("bertClassifier"));
    }

    /** A classifier with the given uid. */
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
                        "a built-in encoder (\"default\" = minilm-l6-v2, \"bge-small-en-v1.5\","
                                + " \"e5-small-v2\"), or the URI of an HF"
                                + " checkpoint directory (config.json, model.safetensors,"
                                + " tokenizer.json or vocab.txt) (default \"default\")",
                        SharedParams.nonBlank());
        pooling =
                new Param<>(
                        this,
                        "pooling",
                        "classifier input: auto (a built-in's own pooling, cls for"
                                + " bge-small-en-v1.5; else pooler when the checkpoint has pooler"
                                + " weights, else mean), pooler (HF BertForSequenceClassification), cls or"
                                + " mean (default auto)",
                        ParamValidators.inArray(new String[] {"auto", "pooler", "cls", "mean"}));
        epochs =
                new IntParam(
                        this,
                        "epochs",
                        "training epochs; >= 1 (default 3)",
                        ParamValidators.gtEq(1));
        batchSize = SharedParams.batchSize(this);
        learningRate =
                new DoubleParam(
                        this,
                        "learningRate",
                        "peak AdamW learning rate; > 0 (default 5e-5)",
                        ParamValidators.gt(0));
        weightDecay =
                new DoubleParam(
                        this,
                        "weightDecay",
                        "decoupled AdamW weight decay; >= 0 (default 0.01)",
                        ParamValidators.gtEq(0));
        decayBiasAndNorm =
                new BooleanParam(
                        this,
                        "decayBiasAndNorm",
                        "whether biases and LayerNorm weights are decayed too (plain torch AdamW)"
                                + " or not (HF Trainer) (default false)");
        warmupRatio =
                new DoubleParam(
                        this,
                        "warmupRatio",
                        "fraction of steps with linear warm-up; in [0, 1] (default 0.1)",
                        ParamValidators.inRange(0, 1));
        headLearningRate =
                new DoubleParam(
                        this,
                        "headLearningRate",
                        "peak learning rate of the classification head, which starts from random"
                                + " weights; 0 = learningRate (default 0)",
                        ParamValidators.gtEq(0));
        layerLrDecay =
                new DoubleParam(
                        this,
                        "layerLrDecay",
                        "layer-wise learning-rate decay: encoder layer l of L trains at"
                                + " learningRate * layerLrDecay^(L - l), the embeddings at"
                                + " layerLrDecay^(L + 1); in (0, 1], 1 = off (default 1)",
                        ParamValidators.inRange(0, 1, false, true));
        emaDecay =
                new DoubleParam(
                        this,
                        "emaDecay",
                        "decay of an exponential moving average of the weights, which is then"
                                + " validated and returned; in [0, 1), 0 = off (default 0)",
                        ParamValidators.inRange(0, 1, true, false));
        freezeWordEmbeddings =
                new BooleanParam(
                        this,
                        "freezeWordEmbeddings",
                        "whether the word (token) embedding table keeps its pretrained values;"
                                + " position and type embeddings still train (default false)");
        soupSize =
                new IntParam(
                        this,
                        "soupSize",
                        "number of fine-tunes (seeds seed, seed+1, ...) from the same starting"
                                + " weights whose weights are averaged into the model; n times the"
                                + " training time, one model's scoring cost; >= 1 (default 1)",
                        ParamValidators.gtEq(1));
        rdropAlpha =
                new DoubleParam(
                        this,
                        "rdropAlpha",
                        "weight of the R-Drop term (each batch run twice with different dropout,"
                                + " the symmetric KL between the two predictions added to the loss;"
                                + " twice the compute); >= 0, 0 = off (default 0)",
                        ParamValidators.gtEq(0));
        labelSmoothing =
                new DoubleParam(
                        this,
                        "labelSmoothing",
                        "label smoothing epsilon as in torch CrossEntropyLoss / HF"
                                + " label_smoothing_factor: targets 1 - eps on the class plus eps"
                                + " / k on every class; in [0, 1), 0 = off (default 0)",
                        ParamValidators.inRange(0, 1, true, false));
        samRho =
                new DoubleParam(
                        this,
                        "samRho",
                        "radius of sharpness-aware minimisation: each step takes the gradient at"
                                + " the weights moved samRho along the normalised batch gradient;"
                                + " twice the compute per step; >= 0, 0 = off (default 0)",
                        ParamValidators.gtEq(0));
        linearProbe =
                new BooleanParam(
                        this,
                        "linearProbe",
                        "whether a new classification head is first fitted alone by logistic"
                                + " regression on the frozen encoder's features before"
                                + " fine-tuning (LP-FT); a checkpoint's own head is never probed"
                                + " (default true)");
        linearProbeL2 =
                new DoubleParam(
                        this,
                        "linearProbeL2",
                        "L2 strength of the linear probe: mean cross-entropy + l2/2 * ||W||^2;"
                                + " > 0 (default 1e-3)",
                        ParamValidators.gt(0));
        lrSchedule =
                new Param<>(
                        this,
                        "lrSchedule",
                        "learning rate after warm-up: linear (decay to 0) or constant (default"
                                + " linear)",
                        ParamValidators.inArray(new String[] {"linear", "constant"}));
        maxGradNorm =
                new DoubleParam(
                        this,
                        "maxGradNorm",
                        "global gradient-norm clipping; 0 = off (default 1.0)",
                        ParamValidators.gtEq(0));
        seed =
                new LongParam(
                        this,
                        "seed",
                        "seed of shuffling, head init, dropout, validation split (default 42)");
        shuffle =
                new BooleanParam(
                        this,
                        "shuffle",
                        "reshuffle the training examples every epoch, seeded by seed; false keeps"
                                + " the input order (default true)");
        groupByLength =
                new BooleanParam(
                        this,
                        "groupByLength",
                        "batch texts of similar length together (less padding) (default false)");
        classWeights =
                new DoubleArrayParam(
                        this,
                        "classWeights",
                        "per-class cross-entropy weights, one per class, >= 0 (default: unset,"
                                + " unweighted)");
        logEverySteps =
                new IntParam(
                        this,
                        "logEverySteps",
                        "progress log line every N steps; 0 = per epoch only (default 50)",
                        ParamValidators.gtEq(0));
        maxLength = SharedParams.maxLength(this);
        validationFraction =
                new DoubleParam(
                        this,
                        "validationFraction",
                        "fraction of the rows held out for per-epoch validation; in [0, 1)"
                                + " (default 0)",
                        ParamValidators.inRange(0, 1, true, false));
        earlyStoppingPatience =
                new IntParam(
                        this,
                        "earlyStoppingPatience",
                        "epochs without validation-loss improvement before stopping (best epoch"
                                + " kept); 0 = off; needs validationFraction > 0 (default 0)",
                        ParamValidators.gtEq(0));
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
        setDefault(epochs, 3);
        setDefault(batchSize, 16);
        setDefault(learningRate, 5e-5);
        setDefault(weightDecay, 0.01);
        setDefault(decayBiasAndNorm, false);
        setDefault(warmupRatio, 0.1);
        setDefault(headLearningRate, 0.0);
        setDefault(layerLrDecay, 1.0);
        setDefault(emaDecay, 0.0);
        setDefault(soupSize, 1);
        setDefault(freezeWordEmbeddings, false);
        setDefault(rdropAlpha, 0.0);
        setDefault(labelSmoothing, 0.0);
        setDefault(samRho, 0.0);
        setDefault(linearProbe, true);
        setDefault(linearProbeL2, 1e-3);
        setDefault(lrSchedule, "linear");
        setDefault(maxGradNorm, 1.0);
        setDefault(seed, 42L);
        setDefault(shuffle, true);
        setDefault(groupByLength, false);
        setDefault(logEverySteps, 50);
        setDefault(maxLength, 128);
        setDefault(validationFraction, 0.0);
        setDefault(earlyStoppingPatience, 0);
        setDefault(device, "auto");
        setDefault(maxTrainingRows, 100_000);
    }

    @Override
    public String uid() {
        return uid;
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

    public IntParam epochs() {
        return epochs;
    }

    public IntParam batchSize() {
        return batchSize;
    }

    public DoubleParam learningRate() {
        return learningRate;
    }

    public DoubleParam weightDecay() {
        return weightDecay;
    }

    public BooleanParam decayBiasAndNorm() {
        return decayBiasAndNorm;
    }

    public DoubleParam warmupRatio() {
        return warmupRatio;
    }

    public DoubleParam headLearningRate() {
        return headLearningRate;
    }

    public DoubleParam layerLrDecay() {
        return layerLrDecay;
    }

    public DoubleParam emaDecay() {
        return emaDecay;
    }

    public IntParam soupSize() {
        return soupSize;
    }

    public BooleanParam freezeWordEmbeddings() {
        return freezeWordEmbeddings;
    }

    public DoubleParam rdropAlpha() {
        return rdropAlpha;
    }

    public DoubleParam labelSmoothing() {
        return labelSmoothing;
    }

    public DoubleParam samRho() {
        return samRho;
    }

    public BooleanParam linearProbe() {
        return linearProbe;
    }

    public DoubleParam linearProbeL2() {
        return linearProbeL2;
    }

    public Param<String> lrSchedule() {
        return lrSchedule;
    }

    public DoubleParam maxGradNorm() {
        return maxGradNorm;
    }

    public LongParam seed() {
        return seed;
    }

    public BooleanParam shuffle() {
        return shuffle;
    }

    public BooleanParam groupByLength() {
        return groupByLength;
    }

    public DoubleArrayParam classWeights() {
        return classWeights;
    }

    public IntParam logEverySteps() {
        return logEverySteps;
    }

    public IntParam maxLength() {
        return maxLength;
    }

    public DoubleParam validationFraction() {
        return validationFraction;
    }

    public IntParam earlyStoppingPatience() {
        return earlyStoppingPatience;
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

    public BertClassifier setEpochs(int v) {
        set(epochs, v);
        return this;
    }

    public BertClassifier setBatchSize(int v) {
        set(batchSize, v);
        return this;
    }

    public BertClassifier setLearningRate(double v) {
        set(learningRate, v);
        return this;
    }

    public BertClassifier setWeightDecay(double v) {
        set(weightDecay, v);
        return this;
    }

    public BertClassifier setDecayBiasAndNorm(boolean v) {
        set(decayBiasAndNorm, v);
        return this;
    }

    public BertClassifier setWarmupRatio(double v) {
        set(warmupRatio, v);
        return this;
    }

    public BertClassifier setHeadLearningRate(double v) {
        set(headLearningRate, v);
        return this;
    }

    public BertClassifier setLayerLrDecay(double v) {
        set(layerLrDecay, v);
        return this;
    }

    public BertClassifier setEmaDecay(double v) {
        set(emaDecay, v);
        return this;
    }

    public BertClassifier setFreezeWordEmbeddings(boolean v) {
        set(freezeWordEmbeddings, v);
        return this;
    }

    public BertClassifier setSoupSize(int v) {
        set(soupSize, v);
        return this;
    }

    public BertClassifier setRdropAlpha(double v) {
        set(rdropAlpha, v);
        return this;
    }

    public BertClassifier setLabelSmoothing(double v) {
        set(labelSmoothing, v);
        return this;
    }

    public BertClassifier setSamRho(double v) {
        set(samRho, v);
        return this;
    }

    public BertClassifier setLinearProbe(boolean v) {
        set(linearProbe, v);
        return this;
    }

    public BertClassifier setLinearProbeL2(double v) {
        set(linearProbeL2, v);
        return this;
    }

    public BertClassifier setLrSchedule(String v) {
        set(lrSchedule, v);
        return this;
    }

    public BertClassifier setMaxGradNorm(double v) {
        set(maxGradNorm, v);
        return this;
    }

    public BertClassifier setSeed(long v) {
        set(seed, v);
        return this;
    }

    public BertClassifier setShuffle(boolean v) {
        set(shuffle, v);
        return this;
    }

    public BertClassifier setGroupByLength(boolean v) {
        set(groupByLength, v);
        return this;
    }

    public BertClassifier setClassWeights(double[] v) {
        set(classWeights, v);
        return this;
    }

    public BertClassifier setLogEverySteps(int v) {
        set(logEverySteps, v);
        return this;
    }

    public BertClassifier setMaxLength(int v) {
        set(maxLength, v);
        return this;
    }

    public BertClassifier setValidationFraction(double v) {
        set(validationFraction, v);
        return this;
    }

    public BertClassifier setEarlyStoppingPatience(int v) {
        set(earlyStoppingPatience, v);
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

    /** The trainer settings these params describe. */
    TrainingConfig trainingConfig() {
        return TrainingConfig.builder()
                .epochs((Integer) $(epochs))
                .batchSize((Integer) $(batchSize))
                .learningRate((Double) $(learningRate))
                .weightDecay((Double) $(weightDecay))
                .decayBiasAndNorm((Boolean) $(decayBiasAndNorm))
                .warmupRatio((Double) $(warmupRatio))
                .headLearningRate((Double) $(headLearningRate))
                .layerLrDecay((Double) $(layerLrDecay))
                .emaDecay((Double) $(emaDecay))
                .rdropAlpha((Double) $(rdropAlpha))
                .labelSmoothing((Double) $(labelSmoothing))
                .samRho((Double) $(samRho))
                .linearProbe((Boolean) $(linearProbe))
                .linearProbeL2((Double) $(linearProbeL2))
                .soupSize((Integer) $(soupSize))
                .freezeWordEmbeddings((Boolean) $(freezeWordEmbeddings))
                .schedule(TrainingConfig.Schedule.parse($(lrSchedule)))
                .maxGradNorm((Double) $(maxGradNorm))
                .seed((Long) $(seed))
                .shuffle((Boolean) $(shuffle))
                .groupByLength((Boolean) $(groupByLength))
                .classWeights(isDefined(classWeights) ? $(classWeights) : null)
                .logEverySteps((Integer) $(logEverySteps))
                .maxLength((Integer) $(maxLength))
                .earlyStoppingPatience((Integer) $(earlyStoppingPatience))
                .build();
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
        if ((Integer) $(earlyStoppingPatience) > 0 && (Double) $(validationFraction) == 0) {
            throw new IllegalArgumentException(
                    stage
                            + ": earlyStoppingPatience "
                            + $(earlyStoppingPatience)
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
        BuiltInModel builtIn = location.builtIn();
        Path dir =
                builtIn != null
                        ? null
                        : location.toLocalDirectory(
                                dataset.sparkSession().sparkContext().hadoopConfiguration());
        try (HfTokenizer tokenizer =
                        dir == null
                                ? HfTokenizer.builtIn(builtIn, TokenizerOptions.defaults())
                                : HfTokenizer.fromDirectory(dir, TokenizerOptions.defaults());
                BertModel base =
                        dir == null ? BertModel.builtIn(builtIn, dev) : BertModel.load(dir, dev)) {
            // auto: a built-in's own pooling (bge: cls), else the checkpoint's pooler if it has
            // one.
            ClassifierHead head =
                    "auto".equals(getPooling())
                            ? builtIn != null
                                    ? ClassifierHead.parse(builtIn.pooling().name())
                                    : ClassifierHead.defaultFor(base.hasPooler())
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
                Trainer.Examples[] split =
                        split(all, (Double) $(validationFraction), config.seed());
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

    /** The reader of saved (unfitted) classifiers. */
    public static MLReader<BertClassifier> read() {
        return new DefaultParamsReader<>();
    }

    /** Loads a saved (unfitted) classifier. */
    public static BertClassifier load(String path) {
        return read().load(path);
    }
}
