package io.sparkbert.jobs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sparkbert.bert.BertModel;
import io.sparkbert.bert.Checkpoints;
import io.sparkbert.bert.Devices;
import io.sparkbert.bert.HfTokenizer;
import io.sparkbert.bert.TokenizerOptions;
import io.sparkbert.bert.train.LinearProbe;
import io.sparkbert.bert.train.TrainingSummary;
import io.sparkbert.classification.BertClassificationModel;
import io.sparkbert.classification.BertClassifier;
import io.sparkbert.persistence.ModelLocation;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.UUID;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.FileUtil;
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
        ModelLocation location = ModelLocation.of(model);
        if (location.builtIn() != null) {
            return Optional.empty();
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
        // HF configs name LABEL_0/LABEL_1 even for an encoder without a head; only a trained
        // head's classes constrain the labels (a new head takes the data's).
        if (!Files.isRegularFile(config) || !hasClassifierHead(dir)) {
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
    public Fitted fit(Dataset<Row> data, List<String> labels, boolean hasPair, JobOptions o) {
        Dataset<Row> withNames =
                data.withColumn(
                        LABEL,
                        data.col(LABEL)
                                .as(
                                        LABEL,
                                        NominalAttribute.defaultAttr()
                                                .withName(LABEL)
                                                .withValues(labels.toArray(new String[0]))
                                                .toMetadata()));
        BertClassifier c =
                new BertClassifier()
                        .setTextCol(TEXT)
                        .setLabelCol(LABEL)
                        .setModel(o.require("model"))
                        .setEpochs(o.getInt("epochs"))
                        .setBatchSize(o.getInt("batch-size"))
                        .setLearningRate(o.getDouble("learning-rate"))
                        .setWeightDecay(o.getDouble("weight-decay"))
                        .setDecayBiasAndNorm(o.getBoolean("decay-bias-and-norm"))
                        .setWarmupRatio(o.getDouble("warmup-ratio"))
                        .setMaxGradNorm(o.getDouble("max-grad-norm"))
                        .setMaxLength(o.getInt("max-length"))
                        .setSeed(o.getLong("seed"))
                        .setShuffle(o.getBoolean("shuffle"))
                        .setValidationFraction(o.getDouble("validation-fraction"))
                        .setSoupSize(o.getInt("soup-size"))
                        .setFreezeWordEmbeddings(o.getBoolean("freeze-word-embeddings"))
                        .setLabelSmoothing(o.getDouble("label-smoothing"))
                        .setLinearProbe(o.getBoolean("linear-probe"))
                        .setLinearProbeL2(o.getDouble("linear-probe-l2"))
                        .setSamRho(o.getDouble("sam-rho"))
                        .setDevice(o.require("device"));
        if (hasPair) {
            c.setTextPairCol(PAIR);
        }
        PipelineModel model;
        try {
            model = new Pipeline().setStages(new PipelineStage[] {c}).fit(withNames);
        } catch (IllegalArgumentException e) {
            throw inJobTerms(e, c, o);
        }
        BertClassificationModel fitted = (BertClassificationModel) model.stages()[0];
        return new Fitted(model, summaryJson(fitted.summary()), fitted.labels());
    }

    /**
     * A classifier error in the train job's terms: the stage names its columns as {@code label
     * column '_sb_label' (param labelCol)}, which the user never wrote; this names the flag and the
     * user's column instead ({@code --label-col 'stars'}) and drops the stage's uid. Other errors
     * are returned as they are.
     */
    static IllegalArgumentException inJobTerms(
            IllegalArgumentException e, BertClassifier c, JobOptions o) {
        String m = e.getMessage();
        if (m == null) {
            return e;
        }
        String out =
                m.replace(
                                "label column '" + LABEL + "' (param labelCol)",
                                "--label-col '" + o.require("label-col") + "'")
                        .replace(
                                "text pair column '" + PAIR + "' (param textPairCol)",
                                "--pair-col '" + o.get("pair-col").orElse("") + "'")
                        .replace(
                                "text column '" + TEXT + "' (param textCol)",
                                "--text-col '" + o.require("text-col") + "'");
        if (out.equals(m)) {
            return e;
        }
        String stage = "BertClassifier[" + c.uid() + "]: ";
        if (out.startsWith(stage)) {
            out = out.substring(stage.length());
        }
        return new IllegalArgumentException(out, e);
    }

    /**
     * The trainer's summary with {@code steps [{step, loss, lr, ...}]}, {@code epochs} and, when a
     * new head was probed first, {@code linear_probe}.
     */
    static ObjectNode summaryJson(TrainingSummary s) {
        ObjectNode n = JSON.createObjectNode();
        n.put("backend", "bert");
        ArrayNode steps = n.putArray("steps");
        for (TrainingSummary.Step st : s.steps()) {
            steps.addObject()
                    .put("step", st.step())
                    .put("loss", st.loss())
                    .put("lr", st.learningRate())
                    .put("epoch", st.epoch())
                    .put("grad_norm", st.gradNorm())
                    .put("skipped", st.skipped());
        }
        ArrayNode epochs = n.putArray("epochs");
        for (TrainingSummary.Epoch e : s.epochs()) {
            ObjectNode en =
                    epochs.addObject()
                            .put("epoch", e.epoch())
                            .put("train_loss", e.trainLoss())
                            .put("samples_per_second", e.samplesPerSecond())
                            .put("seconds", e.seconds());
            if (e.valLoss() != null) {
                en.put("val_loss", e.valLoss());
            }
            if (e.valAccuracy() != null) {
                en.put("val_accuracy", e.valAccuracy());
            }
        }
        n.put("best_epoch", s.bestEpoch());
        n.put("train_examples", s.trainExamples());
        n.put("validation_examples", s.validationExamples());
        n.put("samples_per_second", s.samplesPerSecond());
        n.put("device", s.device());
        n.put("skipped_steps", s.skippedSteps());
        LinearProbe.Result probe = s.linearProbe();
        if (probe != null) {
            n.putObject("linear_probe")
                    .put("examples", probe.examples())
                    .put("l2", probe.l2())
                    .put("steps", probe.steps())
                    .put("loss", probe.loss())
                    .put("accuracy", probe.accuracy())
                    .put("grad_norm", probe.gradNorm())
                    .put("seconds", probe.seconds());
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
                    if (!FileUtil.copy(
                            fs, hf, fs, new org.apache.hadoop.fs.Path(hfDir), false, conf)) {
                        throw new IllegalStateException("Copy of " + hf + " failed.");
                    }
                    return true;
                }
            }
        } catch (IOException e) {
            throw new IllegalStateException("Cannot copy the HF checkpoint: " + e, e);
        }
        throw new IllegalStateException("The saved pipeline " + savedPipeline + " has no hf/ dir.");
    }

    @Override
    public LoadedModel loadCheckpoint(String dir, boolean hasPair) {
        SparkSession spark = SparkSession.active();
        Configuration conf = spark.sparkContext().hadoopConfiguration();
        Path local = ModelLocation.of(dir).toLocalDirectory(conf);
        Path tmp;
        try {
            tmp = Files.createTempDirectory("sparkbert-checkpoint-");
        } catch (IOException e) {
            throw new IllegalStateException("Cannot create a temp dir: " + e, e);
        }
        List<String> labels;
        try (HfTokenizer tok = HfTokenizer.fromDirectory(local, TokenizerOptions.defaults());
                BertModel m = BertModel.load(local, Devices.resolve("cpu"))) {
            if (!m.hasClassifier()) {
                throw new IllegalArgumentException(
                        "--model: the checkpoint "
                                + dir
                                + " has no classification head (classifier.weight); fine-tune it"
                                + " with the train job first.");
            }
            labels = m.config().labels();
            // The saved layout BertClassificationModel documents: Spark metadata + hf/ files +
            // sparkbert.json (format version 1).
            Path hf = Files.createDirectories(tmp.resolve("hf"));
            // the checkpoint's own config.json keeps its id2label and any pooling record
            Files.copy(local.resolve("config.json"), hf.resolve("config.json"));
            Files.write(hf.resolve("model.safetensors"), m.toSafetensorsBytes());
            Files.writeString(hf.resolve("tokenizer.json"), tok.toJson());
            ObjectNode info = JSON.createObjectNode();
            info.put("formatVersion", 1);
            info.put("modelId", "checkpoint-" + UUID.randomUUID());
            info.put("pooling", "pooler");
            info.put("numClasses", labels.size());
            Files.writeString(tmp.resolve("sparkbert.json"), info.toString());
            String uid = "BertClassificationModel_" + UUID.randomUUID().toString().substring(0, 12);
            ObjectNode meta = JSON.createObjectNode();
            meta.put("class", BertClassificationModel.class.getName());
            meta.put("timestamp", System.currentTimeMillis());
            meta.put("sparkVersion", spark.version());
            meta.put("uid", uid);
            meta.putObject("paramMap");
            meta.putObject("defaultParamMap");
            Path md = Files.createDirectories(tmp.resolve("metadata"));
            Files.writeString(
                    md.resolve("part-00000"), meta.toString() + "\n", StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException("Cannot stage the checkpoint " + dir + ": " + e, e);
        }
        BertClassificationModel model;
        try {
            model = BertClassificationModel.load(tmp.toString()); // reads the files into memory
        } finally {
            deleteTree(tmp);
        }
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

    private static void deleteTree(Path dir) {
        try (var paths = Files.walk(dir)) {
            paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // a leftover temp dir is harmless
        }
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
