package io.sparkbert.classification;

import io.sparkbert.bert.BuiltInModel;
import io.sparkbert.bert.ProblemType;
import io.sparkbert.bert.train.Trainer;
import io.sparkbert.bert.train.TrainingConfig;
import io.sparkbert.bert.train.TrainingOption;
import io.sparkbert.bert.train.TrainingSummary;
import io.sparkbert.persistence.ModelLocation;
import java.util.Map;
import org.apache.spark.ml.Estimator;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.param.ParamValidators;
import org.apache.spark.ml.util.DefaultParamsWritable;
import org.apache.spark.ml.util.Identifiable;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.sql.Dataset;
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
 * <p><b>Problem types</b> ({@code problemType}, as HF's {@code problem_type}). {@code auto} (the
 * default): a label column of arrays is multi-label; a numeric column is what the checkpoint's own
 * head declares in its config.json ({@code problem_type}, or regression for a head with one
 * output), else single-label, so a numeric 0/1 or 0.0/1.0 column is single-label classification as
 * it always was. A numeric column never turns into a regression on its own: set {@code
 * problemType=regression} (or start from a regression checkpoint). {@code multi_label}: the label
 * column holds arrays of class names (strings; a new head's classes are the sorted distinct names,
 * a checkpoint's head keeps its names and an unknown name is an error) or of class indices; an
 * empty array means no class; loss {@code BCEWithLogitsLoss} with the class weights as {@code
 * pos_weight}. {@code regression}: a numeric label column, one output, loss {@code MSELoss}; class
 * weights, thresholds and label smoothing are refused. The trained config.json records {@code
 * problem_type} for all three, as HF's {@code save_pretrained} does.
 *
 * <p><b>Class names</b> come from the label column's NominalAttribute values (as {@code
 * StringIndexer} writes them) and are saved as the config's {@code id2label}/{@code label2id}, for
 * a fresh head and for a checkpoint's own head alike (a head with more classes than named keeps its
 * own names for the rest); {@link BertClassificationModel#labels()} returns them. Without names a
 * fresh head's classes are {@code LABEL_0..k-1} and a checkpoint's head keeps its names.
 *
 * <p><b>Head pooling</b> ({@code pooling}): {@code pooler} is HF {@code
 * BertForSequenceClassification}, the default for a new head on every encoder (a checkpoint without
 * pooler weights, e.g. the built-in MiniLM, gets a fresh pooler that trains with the head); a
 * checkpoint's own head keeps the pooling it was trained with. {@code cls} and {@code mean} feed
 * the [CLS] state or the mean token state to the classifier; they are saved as an HF {@code
 * BertModel} plus the head in its own file (see {@link io.sparkbert.bert.HfExport}).
 *
 * <p><b>A new head is probed first</b> ({@code linearProbe}, default true): fitted alone by
 * logistic regression on the frozen encoder's features, then everything is fine-tuned (LP-FT, see
 * {@link io.sparkbert.bert.train.LinearProbe}). A checkpoint's own trained head is fine-tuned as it
 * is, never probed; {@code linearProbe=false} gives HF {@code Trainer}'s plain fine-tuning.
 *
 * <p>Not thread-safe for concurrent param changes, like every Spark stage.
 */
public class BertClassifier extends Estimator<BertClassificationModel>
        implements DefaultParamsWritable,
                TrainingParams<BertClassifier>,
                ClassifierParams<BertClassifier> {
    private static final long serialVersionUID = 1L;

    private final String uid;

    private final ClassifierParams.Declared shared;
    private final Param<String> labelCol;
    private final Param<String> model;
    private final Param<String> pooling;
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
        shared = new ClassifierParams.Declared(this);
        labelCol =
                new Param<>(
                        this,
                        "labelCol",
                        "label column: class indices 0..k-1, numeric; multi_label: arrays of"
                                + " class names or indices; regression: numbers (default"
                                + " \"label\")",
                        SharedParams.nonBlank());
        model =
                new Param<>(
                        this,
                        "model",
                        "a built-in encoder ("
                                + BuiltInModel.describeNames()
                                + "), or the URI of an HF"
                                + " checkpoint directory (config.json, model.safetensors,"
                                + " tokenizer.json or vocab.txt) (default \"default\")",
                        SharedParams.nonBlank());
        pooling =
                new Param<>(
                        this,
                        "pooling",
                        "classifier input: auto (a checkpoint's own head keeps its pooling, a"
                                + " new head gets pooler), pooler (HF"
                                + " BertForSequenceClassification), cls or mean (default auto)",
                        ParamValidators.inArray(new String[] {"auto", "pooler", "cls", "mean"}));
        maxTrainingRows =
                new IntParam(
                        this,
                        "maxTrainingRows",
                        "most rows fit() collects to the driver; more is an error (default"
                                + " 100000)",
                        ParamValidators.gtEq(1));
        shared.defaults().forEach((p, v) -> setDefault((Param<Object>) p, v));
        setDefault(labelCol, "label");
        setDefault(model, ModelLocation.DEFAULT);
        setDefault(pooling, "auto");
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
    public ClassifierParams.Declared classifierParams() {
        return shared;
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

    public Param<String> labelCol() {
        return labelCol;
    }

    public Param<String> model() {
        return model;
    }

    public Param<String> pooling() {
        return pooling;
    }

    public IntParam maxTrainingRows() {
        return maxTrainingRows;
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

    public BertClassifier setLabelCol(String v) {
        set(labelCol, v);
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
        SharedParams.requireTexts(schema, this, stage);
        SharedParams.requireExists(schema, getLabelCol(), "labelCol", stage);
        StructField label = schema.apply(getLabelCol());
        String option = problemTypeOption();
        ProblemType type = ProblemTargets.forSchema(option, label.dataType());
        if ("auto".equals(option) && type == ProblemType.SINGLE_LABEL) {
            // As fit: a numeric column follows what the checkpoint's own head declares.
            ProblemType declared = ClassifierFit.declaredByCheckpoint(getModel());
            type = ProblemTargets.resolve(option, label.dataType(), declared, getLabelCol(), stage);
        }
        if (type != ProblemType.SINGLE_LABEL) {
            ProblemTargets.checkType(type, label, getLabelCol(), stage);
            SharedParams.requireAbsent(schema, getPredictionCol(), "predictionCol", stage);
            if (type == ProblemType.MULTI_LABEL) {
                SharedParams.requireAbsent(schema, getProbabilityCol(), "probabilityCol", stage);
                SharedParams.requireAbsent(
                        schema, getRawPredictionCol(), "rawPredictionCol", stage);
            }
            return SharedParams.withOutputs(
                    schema,
                    type,
                    getPredictionCol(),
                    getProbabilityCol(),
                    getRawPredictionCol(),
                    -1,
                    false);
        }
        if (!(label.dataType() instanceof NumericType)) {
            throw ColumnException.label(
                    stage,
                    getLabelCol(),
                    " must be numeric (class indices 0..k-1) but is "
                            + label.dataType().simpleString()
                            + "; index string labels with StringIndexer first.");
        }
        SharedParams.requireAbsent(schema, getPredictionCol(), "predictionCol", stage);
        SharedParams.requireAbsent(schema, getProbabilityCol(), "probabilityCol", stage);
        SharedParams.requireAbsent(schema, getRawPredictionCol(), "rawPredictionCol", stage);
        return SharedParams.withOutputs(
                schema, getPredictionCol(), getProbabilityCol(), getRawPredictionCol(), -1, false);
    }

    @Override
    public BertClassificationModel fit(Dataset<?> dataset) {
        transformSchema(dataset.schema());
        return new ClassifierFit(this, dataset, stageName()).run();
    }

    /** problemType as set (lower case); auto when unset. */
    String problemTypeOption() {
        return trainingConfig().problemType();
    }

    /** The fitted model of this classifier: its params, thresholds and the trained payload. */
    BertClassificationModel fitted(ClassifierPayload payload, TrainingSummary summary) {
        BertClassificationModel fitted = new BertClassificationModel(uid, payload, summary);
        copyValues(fitted, extractParamMap());
        if (isDefined(thresholds())) {
            fitted.setThresholds(getThresholds());
        }
        return fitted.setParent(this);
    }

    /** Multi-label: the probability above which a class is predicted (default 0.5). */
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
