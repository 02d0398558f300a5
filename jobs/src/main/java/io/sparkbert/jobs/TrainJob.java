package io.sparkbert.jobs;

import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.not;
import static org.apache.spark.sql.functions.when;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sparkbert.inference.TextColumns;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/**
 * Fine-tunes a classifier on labelled texts and saves a model dir (see {@link ModelDir}): the
 * PipelineModel, {@code hf/} (the HF checkpoint, BERT backend), {@code metrics.json} (the training
 * summary: {@code steps [{step, loss, lr}]} and per-epoch metrics) and {@value ModelDir#META}.
 * Everything is written to a hidden staging dir next to {@code --output} and renamed into place at
 * the end, so a half-written dir never looks like a model.
 *
 * <p>Thread-safe (stateless between runs).
 */
public final class TrainJob extends SparkJob {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** The train job over the default backend. */
    public TrainJob() {
        this(JobRunner.defaultBackend());
    }

    /** The train job over {@code backend}. */
    public TrainJob(ModelBackend backend) {
        super(backend);
    }

    /** spark-submit entry point. */
    public static void main(String[] args) {
        System.exit(JobRunner.run(new TrainJob(), args, System.out, System.err));
    }

    @Override
    public String name() {
        return "train";
    }

    @Override
    public List<JobOption> options() {
        return List.of(
                JobOption.string("input", "labelled training data (file or directory)"),
                JobOption.choice("input-format", "format of --input", Inputs.FORMAT_CHOICES),
                JobOption.string("output", "model directory to create (must not exist)"),
                JobOption.string(
                        "model",
                        "starting checkpoint: a built-in (default = minilm-l6-v2, bge-small-en-v1.5,"
                                + " e5-small-v2) or a HF dir"),
                JobOption.string("text-col", "column with the texts"),
                JobOption.string("pair-col", "column with the second texts of pairs (optional)"),
                JobOption.string("label-col", "column with class indices or class names"),
                JobOption.integer("epochs", "passes over the training data"),
                JobOption.integer("batch-size", "examples per optimizer step"),
                JobOption.decimal("learning-rate", "peak AdamW learning rate"),
                JobOption.decimal("weight-decay", "AdamW decoupled weight decay"),
                JobOption.bool("decay-bias-and-norm", "also decay biases and LayerNorm weights"),
                JobOption.decimal("warmup-ratio", "share of steps with linear warm-up"),
                JobOption.decimal("max-grad-norm", "global gradient-norm clip (0 = off)"),
                JobOption.integer("max-length", "max tokens per example"),
                JobOption.longValue("seed", "seed of initialisation, shuffling and dropout"),
                JobOption.bool("shuffle", "shuffle the examples every epoch"),
                JobOption.decimal("validation-fraction", "share held out for per-epoch validation"),
                JobOption.integer("soup-size", "fine-tunes averaged into the model (1 = one run)"),
                JobOption.bool("freeze-word-embeddings", "keep the token embedding table as is"),
                JobOption.decimal("label-smoothing", "label smoothing epsilon (0 = off)"),
                JobOption.bool("linear-probe", "fit a new head on frozen features first (LP-FT)"),
                JobOption.decimal("linear-probe-l2", "L2 strength of that linear probe"),
                JobOption.decimal(
                        "sam-rho", "sharpness-aware minimisation radius (0 = off, 2x compute)"),
                JobOption.choice("device", "where to train", "auto", "cpu", "gpu"));
    }

    @Override
    public JobResult run(SparkSession spark, JobOptions o) {
        long start = System.nanoTime();
        Instant startedAt = Instant.now();
        String output = o.require("output");
        checkTrainingOptions(o);
        Configuration conf = spark.sparkContext().hadoopConfiguration();
        Path out = new Path(output);
        // A second run on the same --output fails at once instead of after its training.
        try (OutputLock lock = OutputLock.acquire(conf, out)) {
            return train(spark, o, conf, out, output, start, startedAt);
        }
    }

    private JobResult train(
            SparkSession spark,
            JobOptions o,
            Configuration conf,
            Path out,
            String output,
            long start,
            Instant startedAt) {
        if (Files2.exists(conf, out)) {
            throw new IllegalArgumentException(
                    "--output: '" + output + "' exists; choose a new directory or delete it.");
        }
        String input = o.require("input");
        Dataset<Row> df = Inputs.read(spark, input, Inputs.format(o.require("input-format")), null);
        String textCol = o.require("text-col");
        Inputs.requireStringColumn(df, textCol, "text-col");
        String pairCol = o.get("pair-col").orElse(null);
        if (pairCol != null) {
            Inputs.requireStringColumn(df, pairCol, "pair-col");
        }
        String labelCol = o.require("label-col");
        checkTexts(df, textCol, pairCol);
        String model = o.require("model");
        Labels labels = Labels.forTraining(df, labelCol, backend.checkpointLabels(model, conf));
        List<Column> cols = new ArrayList<>();
        cols.add(TextColumns.named(textCol).as(ModelBackend.TEXT));
        if (pairCol != null) {
            cols.add(TextColumns.named(pairCol).as(ModelBackend.PAIR));
        }
        cols.add(labels.index().as(ModelBackend.LABEL));
        Dataset<Row> data = df.select(cols.toArray(new Column[0]));
        long rows = data.count();

        Path staging = Files2.stagingFor(out);
        try {
            ModelBackend.Fitted fitted = backend.fit(data, labels.names(), pairCol != null, o);
            // The names the model itself carries (hf/config.json for BERT), so that this dir's
            // metadata and the checkpoint never disagree.
            List<String> names = fitted.labels();
            try {
                fitted.model().write().save(staging.toString());
            } catch (java.io.IOException e) {
                throw new IllegalStateException(
                        "Cannot save the model to " + staging + ": " + e, e);
            }
            boolean hf =
                    backend.writeHfCheckpoint(
                            fitted.model(), staging.toString(), new Path(staging, "hf").toString());
            double seconds = (System.nanoTime() - start) / 1e9;
            ObjectNode metrics = fitted.summary().deepCopy();
            metrics.put("rows", rows);
            metrics.putArray("id2label")
                    .addAll(names.stream().map(JSON.getNodeFactory()::textNode).toList());
            metrics.put("input", input);
            metrics.put("model", model);
            metrics.put("hf_checkpoint", hf);
            metrics.put("seconds", seconds);
            metrics.put("start", startedAt.toString());
            metrics.put("end", Instant.now().toString());
            ObjectNode opts = metrics.putObject("options");
            o.asMap().forEach(opts::put);
            Files2.writeString(conf, new Path(staging, "metrics.json"), metrics.toPrettyString());
            // The marker that makes a dir a model goes in last: a staging dir cut short at any
            // earlier point lacks it and is refused by score and evaluate.
            new ModelDir(staging.toString(), backend.name(), names, pairCol != null).write(conf);
            Files2.rename(conf, staging, out);
            return new JobResult(
                    name(),
                    rows,
                    (System.nanoTime() - start) / 1e9,
                    output,
                    names.size() + " classes" + (hf ? ", HF weights in hf/" : ""));
        } finally {
            if (Files2.exists(conf, staging)) {
                Files2.delete(conf, staging);
            }
        }
    }

    /**
     * Refuses null and blank (whitespace-only) texts and pair texts, as BertClassifier does, with
     * their count and the user's column (scoring gives such rows no prediction).
     */
    private static void checkTexts(Dataset<Row> df, String textCol, String pairCol) {
        Column noText = not(TextColumns.hasText(TextColumns.named(textCol)));
        Column noPair =
                pairCol == null ? lit(false) : not(TextColumns.hasText(TextColumns.named(pairCol)));
        Row bad = df.agg(count(when(noText, 1)), count(when(noPair, 1))).first();
        String[][] checks = {{"text-col", textCol}, {"pair-col", pairCol}};
        for (int i = 0; i < 2; i++) {
            long n = bad.getLong(i);
            if (n > 0) {
                throw new IllegalArgumentException(
                        "--"
                                + checks[i][0]
                                + ": column '"
                                + checks[i][1]
                                + "' has "
                                + n
                                + (n == 1
                                        ? " null or blank (whitespace-only) text"
                                        : " null or blank (whitespace-only) texts")
                                + "; drop or fill such rows before training (scoring gives them no"
                                + " prediction either).");
            }
        }
    }

    private static void checkTrainingOptions(JobOptions o) {
        o.checkRange("epochs", 1, 1000);
        o.checkRange("batch-size", 1, 1 << 16);
        o.checkRange("learning-rate", Double.MIN_VALUE, 1);
        o.checkRange("weight-decay", 0, 10);
        o.checkRange("warmup-ratio", 0, 1);
        o.checkRange("max-grad-norm", 0, 1e6);
        o.checkRange("max-length", 2, 512);
        o.checkRange("validation-fraction", 0, 0.5);
        o.checkRange("soup-size", 1, 100);
        o.checkRange("label-smoothing", 0, 0.9);
        o.checkRange("linear-probe-l2", Double.MIN_VALUE, 1e6);
        o.checkRange("sam-rho", 0, 10);
        o.getBoolean("linear-probe");
        o.getBoolean("shuffle");
        o.getBoolean("decay-bias-and-norm");
        o.getLong("seed");
    }
}
