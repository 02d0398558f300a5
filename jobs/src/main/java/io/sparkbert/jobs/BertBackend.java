package io.sparkbert.jobs;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sparkbert.bert.BertConfig;
import io.sparkbert.bert.Checkpoints;
import io.sparkbert.bert.ProblemType;
import io.sparkbert.bert.train.TrainingSummary;
import io.sparkbert.classification.BertClassificationModel;
import io.sparkbert.classification.BertClassifier;
import io.sparkbert.classification.ColumnException;
import io.sparkbert.persistence.ModelLocation;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.spark.ml.Pipeline;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.PipelineStage;
import org.apache.spark.ml.Transformer;
import org.apache.spark.ml.attribute.NominalAttribute;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * The real backend: {@link BertClassifier} / {@link BertClassificationModel}. Class names travel to
 * the model as NominalAttribute metadata on the label column, so they land in the checkpoint's
 * {@code id2label}.
 *
 * <p>Stateless and thread-safe.
 */
public final class BertBackend implements ModelBackend {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Override
    public String name() {
        return "bert";
    }

    @Override
    public Optional<List<String>> checkpointLabels(String model, Configuration hadoopConf) {
        // HF configs name LABEL_0/LABEL_1 even for an encoder without a head; only a trained
        // head's classes constrain the labels (a new head takes the data's).
        Path config = headConfig(model, hadoopConf);
        if (config == null) {
            return Optional.empty();
        }
        try {
            JsonNode id2label = JSON.readTree(config.toFile()).path("id2label");
            if (!id2label.isObject() || id2label.size() == 0) {
                return Optional.empty();
            }
            Map<Integer, String> byId = new TreeMap<>();
            for (Iterator<Map.Entry<String, JsonNode>> it = id2label.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                byId.put(Integer.parseInt(e.getKey()), e.getValue().asText());
            }
            return Optional.of(new ArrayList<>(byId.values()));
        } catch (IOException | NumberFormatException e) {
            throw new IllegalArgumentException(
                    "--model: cannot read the labels of " + config + ": " + e.getMessage(), e);
        }
    }

    @Override
    public Optional<String> checkpointProblemType(String model, Configuration hadoopConf) {
        Path config = headConfig(model, hadoopConf);
        if (config == null) {
            return Optional.empty();
        }
        ProblemType t = ProblemType.declaredBy(BertConfig.load(config), true);
        return Optional.ofNullable(t).map(ProblemType::hfName);
    }

    /**
     * The config.json of the checkpoint {@code --model} names when it has a trained head, else null
     * (a built-in, no config, no head).
     */
    private static Path headConfig(String model, Configuration hadoopConf) {
        ModelLocation location = ModelLocation.of(model);
        if (location.builtIn() != null) {
            return null;
        }
        Path dir;
        try {
            // A file: URI is the local directory; a remote one is copied into the model cache,
            // where the fit that follows finds it.
            dir = location.toLocalDirectory(hadoopConf);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--model: " + e.getMessage(), e);
        }
        Path config = dir.resolve("config.json");
        return Files.isRegularFile(config) && hasClassifierHead(dir) ? config : null;
    }

    /**
     * Whether the checkpoint has a trained head; unreadable weights are named as {@code --model}.
     */
    private static boolean hasClassifierHead(Path model) {
        try {
            return Checkpoints.hasClassifierHead(model);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--model: " + e.getMessage(), e);
        }
    }

    @Override
    public Fitted fit(
            Dataset<Row> data, List<String> labels, boolean hasPair, TrainSettings settings) {
        // Multi-label and regression labels go as they are; the classifier names the classes.
        Dataset<Row> withNames =
                labels.isEmpty()
                        ? data
                        : data.withColumn(
                                LABEL,
                                data.col(LABEL)
                                        .as(
                                                LABEL,
                                                NominalAttribute.defaultAttr()
                                                        .withName(LABEL)
                                                        .withValues(labels.toArray(new String[0]))
                                                        .toMetadata()));
        BertClassifier c =
                TrainingFlags.apply(
                        settings,
                        new BertClassifier()
                                .setTextCol(TEXT)
                                .setLabelCol(LABEL)
                                .setModel(settings.model())
                                .setDevice(settings.device()));
        if (hasPair) {
            c.setTextPairCol(PAIR);
        }
        PipelineModel model;
        try {
            model = new Pipeline().setStages(new PipelineStage[] {c}).fit(withNames);
        } catch (IllegalArgumentException e) {
            throw inJobTerms(e, settings);
        }
        BertClassificationModel fitted = (BertClassificationModel) model.stages()[0];
        return new Fitted(model, summaryJson(fitted.summary()), fitted.labels());
    }

    /**
     * A classifier error in the train job's terms: the stage names its columns as {@code label
     * column '_sb_label' (param labelCol)}, which the user never wrote; for a {@link
     * ColumnException} this names the flag and the user's column instead ({@code --label-col
     * 'stars'}), from the param the exception carries, and drops the stage's uid. Other errors are
     * returned as they are.
     */
    static IllegalArgumentException inJobTerms(IllegalArgumentException e, TrainSettings settings) {
        if (!(e instanceof ColumnException ce)) {
            return e;
        }
        String flag =
                switch (ce.param()) {
                    case "labelCol" -> "--label-col '" + settings.labelCol() + "'";
                    case "textPairCol" ->
                            "--pair-col '"
                                    + (settings.pairCol() == null ? "" : settings.pairCol())
                                    + "'";
                    case "textCol" -> "--text-col '" + settings.textCol() + "'";
                    default -> null;
                };
        return flag == null ? e : new IllegalArgumentException(ce.messageNaming(flag), e);
    }

    /**
     * The trainer's summary in its one JSON format ({@link TrainingSummary#toJson()}: {@code
     * steps}, {@code epochs}, {@code best_epoch}, ..., and {@code linear_probe} when a new head was
     * probed first), after {@code "backend": "bert"}.
     */
    static ObjectNode summaryJson(TrainingSummary s) {
        ObjectNode n = JSON.createObjectNode();
        n.put("backend", "bert");
        try {
            n.setAll((ObjectNode) JSON.readTree(s.toJson()));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("The training summary is not JSON: " + e, e);
        }
        return n;
    }

    @Override
    public boolean writeHfCheckpoint(PipelineModel model, String savedPipeline, String hfDir) {
        Configuration conf = SparkSession.active().sparkContext().hadoopConfiguration();
        org.apache.hadoop.fs.Path stages = new org.apache.hadoop.fs.Path(savedPipeline, "stages");
        try {
            FileSystem fs = stages.getFileSystem(conf);
            for (FileStatus st : fs.listStatus(stages)) {
                org.apache.hadoop.fs.Path hf = new org.apache.hadoop.fs.Path(st.getPath(), "hf");
                if (fs.exists(hf)) {
                    // Moved, not copied: the stage then reads its weights from DIR/hf, so the
                    // model directory holds them once.
                    BertClassificationModel.moveHfFolder(conf, st.getPath().toString(), hfDir);
                    return true;
                }
            }
        } catch (IOException e) {
            throw new IllegalStateException("Cannot move the HF checkpoint: " + e, e);
        }
        throw new IllegalStateException("The saved pipeline " + savedPipeline + " has no hf/ dir.");
    }

    @Override
    public LoadedModel loadCheckpoint(String dir, boolean hasPair) {
        SparkSession spark = SparkSession.active();
        BertClassificationModel model;
        try {
            model = BertClassificationModel.fromCheckpoint(dir);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--model: " + e.getMessage(), e);
        }
        List<String> labels = model.labels();
        model.setTextCol(TEXT);
        if (hasPair) {
            model.setTextPairCol(PAIR);
        }
        StructType schema = new StructType().add(TEXT, DataTypes.StringType);
        if (hasPair) {
            schema = schema.add(PAIR, DataTypes.StringType);
        }
        PipelineModel pipeline =
                new Pipeline()
                        .setStages(new PipelineStage[] {model})
                        .fit(spark.createDataFrame(List.<Row>of(), schema));
        return new LoadedModel(pipeline, labels);
    }

    @Override
    public void configureScoring(PipelineModel model, JobOptions o) {
        for (Transformer t : model.stages()) {
            if (t instanceof BertClassificationModel m) {
                m.setBatchSize(o.getInt("batch-size"))
                        .setWindowSize(o.getInt("window-size"))
                        .setMaxLength(o.getInt("max-length"))
                        .setDevice(o.require("device"))
                        .setOverflow(o.require("overflow"));
            }
        }
    }
}
