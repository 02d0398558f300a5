package io.sparkbert.classification;

import ai.djl.Device;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.sparkbert.bert.BertConfig;
import io.sparkbert.bert.BertModel;
import io.sparkbert.bert.BuiltInModel;
import io.sparkbert.bert.Checkpoints;
import io.sparkbert.bert.ClassifierHead;
import io.sparkbert.bert.Devices;
import io.sparkbert.bert.HfExport;
import io.sparkbert.bert.HfTokenizer;
import io.sparkbert.bert.ProblemType;
import io.sparkbert.bert.TokenizerOptions;
import io.sparkbert.bert.train.OptionException;
import io.sparkbert.bert.train.Trainer;
import io.sparkbert.bert.train.TrainingConfig;
import io.sparkbert.bert.train.TrainingSummary;
import io.sparkbert.persistence.ModelLocation;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.UUID;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * One {@link BertClassifier#fit}: collects the rows to the driver, loads the starting checkpoint,
 * builds the head for the resolved problem type, trains with {@link Trainer} and packs the result.
 * Used once, on the driver.
 */
final class ClassifierFit {
    private final BertClassifier c;
    private final Dataset<?> dataset;
    private final StructType schema;
    private final String stage;
    private final TrainingConfig config;

    ClassifierFit(BertClassifier c, Dataset<?> dataset, String stage) {
        this.c = c;
        this.dataset = dataset;
        this.schema = dataset.schema();
        this.stage = stage;
        this.config = c.trainingConfig();
    }

    /** Fits and returns the model. */
    BertClassificationModel run() {
        if (config.earlyStoppingPatience() > 0 && config.validationFraction() == 0) {
            throw new OptionException(
                    "earlyStoppingPatience",
                    stage
                            + ": earlyStoppingPatience "
                            + config.earlyStoppingPatience()
                            + " needs validation data: set validationFraction > 0 (e.g. 0.1).");
        }
        Device dev = Devices.resolve(c.getDevice());
        ModelLocation location = ModelLocation.of(c.getModel());
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
            // auto: a checkpoint's own head keeps its pooling; a new head gets HF's pooler path on
            // every encoder, built-ins included (their embedding pooling is for BertEmbeddings).
            ClassifierHead head =
                    "auto".equals(c.getPooling())
                            ? ClassifierHead.defaultFor(base)
                            : ClassifierHead.parse(c.getPooling());
            ProblemType type =
                    ProblemTargets.resolve(
                            c.problemTypeOption(),
                            schema.apply(c.getLabelCol()).dataType(),
                            base.hasClassifier()
                                    ? ProblemType.declaredBy(base.config(), true)
                                    : null,
                            c.getLabelCol(),
                            stage);
            if (type != ProblemType.SINGLE_LABEL) {
                return fitTargets(base, head, tokenizer, type);
            }
            return fitSingleLabel(base, head, tokenizer);
        }
    }

    /** Fits a single-label head on class ids. */
    private BertClassificationModel fitSingleLabel(
            BertModel base, ClassifierHead head, HfTokenizer tokenizer) {
        boolean pair = !c.getTextPairCol().isEmpty();
        TrainingRows data =
                TrainingRows.collect(
                        dataset,
                        c.getTextCol(),
                        pair ? c.getTextPairCol() : null,
                        c.getLabelCol(),
                        c.getMaxTrainingRows(),
                        stage,
                        false);
        int maxLabel = data.maxLabel();
        int k =
                Heads.numClasses(
                        base, schema.apply(c.getLabelCol()), c.getLabelCol(), maxLabel, stage);
        checkPerClass(k);
        try (BertModel model =
                Heads.singleLabel(
                        Heads.withHead(
                                base,
                                k,
                                schema.apply(c.getLabelCol()),
                                c.getLabelCol(),
                                config,
                                stage))) {
            return train(model, base.hasClassifier(), head, tokenizer, data, null, k);
        }
    }

    /**
     * Fits a multi-label or regression head: the label column's arrays or numbers become target
     * rows ({@link ProblemTargets}), and the head's config records the problem type.
     */
    private BertClassificationModel fitTargets(
            BertModel base, ClassifierHead head, HfTokenizer tokenizer, ProblemType type) {
        StructField label = schema.apply(c.getLabelCol());
        ProblemTargets.checkType(type, label, c.getLabelCol(), stage);
        TrainingRows data =
                TrainingRows.collect(
                        dataset,
                        c.getTextCol(),
                        c.getTextPairCol().isEmpty() ? null : c.getTextPairCol(),
                        c.getLabelCol(),
                        c.getMaxTrainingRows(),
                        stage,
                        true);
        boolean ownHead = base.hasClassifier();
        List<String> classes;
        float[][] targets;
        if (type == ProblemType.MULTI_LABEL) {
            boolean names = ProblemTargets.namesClasses(label);
            classes =
                    ProblemTargets.classes(
                            data.raw(),
                            names,
                            ownHead ? base.config().labels() : null,
                            c.getLabelCol(),
                            stage);
            targets = ProblemTargets.multiHot(data.raw(), names, classes, c.getLabelCol(), stage);
        } else {
            if (ownHead && base.numLabels() != 1) {
                throw new IllegalArgumentException(
                        String.format(
                                Locale.ROOT,
                                "%s: problemType regression needs a head with one output but the"
                                        + " checkpoint's head has %d; start from a checkpoint"
                                        + " without a classification head.",
                                stage,
                                base.numLabels()));
            }
            if (c.isDefined(c.thresholds())) {
                throw new IllegalArgumentException(
                        stage
                                + ": thresholds are set but problemType is regression, which"
                                + " predicts a value: unset thresholds.");
            }
            classes = ownHead ? base.config().labels() : List.of("LABEL_0");
            targets = ProblemTargets.values(data.raw(), c.getLabelCol(), stage);
        }
        checkPerClass(classes.size());
        try (BertModel model = Heads.withProblemHead(base, classes, type, config.seed())) {
            return train(model, ownHead, head, tokenizer, data, targets, classes.size());
        }
    }

    /** Fine-tunes {@code model} on the rows and packs the result as the fitted model. */
    private BertClassificationModel train(
            BertModel model,
            boolean ownHead,
            ClassifierHead head,
            HfTokenizer tokenizer,
            TrainingRows data,
            float[][] targets,
            int k) {
        // A checkpoint's own head is already trained: the probe would replace it.
        Trainer trainer =
                new Trainer(ownHead ? config.toBuilder().linearProbe(false).build() : config);
        Trainer.Examples all =
                targets == null
                        ? trainer.encode(tokenizer, data.texts(), data.pairs(), data.labels())
                        : trainer.encode(tokenizer, data.texts(), data.pairs(), targets);
        Trainer.Examples[] split =
                TrainingRows.split(all, config.validationFraction(), config.seed());
        TrainingSummary summary = trainer.train(model, head, split[0], split[1]);
        ClassifierPayload payload =
                new ClassifierPayload(
                        UUID.randomUUID().toString(),
                        configJson(model, head),
                        model.toSafetensorsBytes(),
                        tokenizer.toJson(),
                        head.id(),
                        k);
        return c.fitted(payload, summary);
    }

    /** Refuses thresholds and class weights whose length is not the class count. */
    private void checkPerClass(int k) {
        if (c.isDefined(c.thresholds()) && c.getThresholds().length != k) {
            throw new IllegalArgumentException(
                    String.format(
                            Locale.ROOT,
                            "%s: thresholds has %d entries but there are %d classes; give one"
                                    + " threshold per class.",
                            stage,
                            c.getThresholds().length,
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
    }

    /**
     * What the starting checkpoint's head declares ({@link ProblemType#declaredBy}), read from its
     * config.json and the tensor names of its weights alone, without loading it: what {@link #run}
     * resolves from the loaded model, for {@link BertClassifier#transformSchema}. Null for a
     * built-in encoder or a checkpoint without a classification head.
     */
    static ProblemType declaredByCheckpoint(String model) {
        ModelLocation location = ModelLocation.of(model);
        if (location.builtIn() != null) {
            return null;
        }
        Path dir =
                location.isLocal()
                        ? location.localPath()
                        : location.toLocalDirectory(
                                SparkSession.active().sparkContext().hadoopConfiguration());
        if (!Checkpoints.hasClassifierHead(dir)) {
            return null;
        }
        return ProblemType.declaredBy(BertConfig.load(dir.resolve(HfExport.CONFIG)), true);
    }

    /** HF config.json of the trained classifier plus the {@code sparkbert} key. */
    static String configJson(BertModel model, ClassifierHead head) {
        JsonObject cfg = JsonParser.parseString(model.config().toJson(true)).getAsJsonObject();
        JsonObject sb = new JsonObject();
        sb.addProperty("pooling", head.id());
        sb.addProperty("formatVersion", BertClassificationModel.FORMAT_VERSION);
        cfg.add("sparkbert", sb);
        // As HF's save_pretrained after training: the config says how to read the logits.
        cfg.addProperty("problem_type", ProblemType.of(model.config()).hfName());
        return cfg.toString();
    }
}
