package io.sparkbert.jobs;

import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.not;
import static org.apache.spark.sql.functions.when;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sparkbert.bert.BuiltInModel;
import io.sparkbert.bert.train.TrainingOption;
import io.sparkbert.inference.TextColumns;
import io.sparkbert.persistence.HadoopFiles;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.ArrayType;

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
        List<JobOption> options =
                new ArrayList<>(
                        List.of(
                                JobOption.string(
                                        "input", "labelled training data (file or directory)"),
                                JobOption.choice(
                                        "input-format", "format of --input", Inputs.FORMAT_CHOICES),
                                JobOption.string(
                                        "output", "model directory to create (must not exist)"),
                                JobOption.string(
                                        "model",
                                        "starting checkpoint: a built-in ("
                                                + BuiltInModel.describeNames()
                                                + ") or a HF dir"),
                                JobOption.string("text-col", "column with the texts"),
                                JobOption.string(
                                        "pair-col",
                                        "column with the second texts of pairs (optional)"),
                                JobOption.string(
                                        "label-col", "column with class indices or class names")));
        options.addAll(TrainingFlags.jobOptions(TrainingFlags.TRAIN));
        options.add(JobOption.choice("device", "where to train", "auto", "cpu", "gpu"));
        return options;
    }

    @Override
    public JobResult run(SparkSession spark, JobOptions o) {
        long start = System.nanoTime();
        Instant startedAt = Instant.now();
        String output = o.require("output");
        TrainingFlags.check(o, TrainingFlags.TRAIN);
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
        if (HadoopFiles.exists(conf, out)) {
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
        Labels labels =
                targetLabels(df, labelCol, o, model, conf)
                        ? Labels.asTargets(df, labelCol)
                        : Labels.forTraining(df, labelCol, backend.checkpointLabels(model, conf));
        Dataset<Row> data = internalColumns(df, textCol, pairCol, labels);
        long rows = data.count();

        Path staging = OutputDirs.stagingFor(out);
        try {
            ModelBackend.Fitted fitted =
                    backend.fit(data, labels.names(), pairCol != null, TrainSettings.of(o));
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
            ObjectNode metrics = fitted.summary().deepCopy();
            metrics.put("rows", rows);
            metrics.putArray("id2label")
                    .addAll(names.stream().map(JSON.getNodeFactory()::textNode).toList());
            metrics.put("input", input);
            metrics.put("model", model);
            metrics.put("hf_checkpoint", hf);
            addRunInfo(metrics, o, start, startedAt);
            HadoopFiles.writeString(
                    conf, new Path(staging, "metrics.json"), metrics.toPrettyString());
            // The marker that makes a dir a model goes in last: a staging dir cut short at any
            // earlier point lacks it and is refused by score and evaluate.
            new ModelDir(staging.toString(), backend.name(), names, pairCol != null).write(conf);
            HadoopFiles.rename(conf, staging, out);
            return new JobResult(
                    name(),
                    rows,
                    (System.nanoTime() - start) / 1e9,
                    output,
                    (labels.names().isEmpty() && names.size() == 1
                                    ? "1 output"
                                    : names.size() + " classes")
                            + (hf ? ", HF weights in hf/" : ""));
        } finally {
            if (HadoopFiles.exists(conf, staging)) {
                HadoopFiles.delete(conf, staging);
            }
        }
    }

    /**
     * Whether the label column goes to the classifier as it is (multi-label arrays, regression
     * values) rather than as class indices: {@code --problem-type multi_label} or {@code
     * regression}, or {@code auto} with an array column or a checkpoint whose head is a regression
     * (the classifier's own auto rule, which then decides the rest).
     */
    private boolean targetLabels(
            Dataset<Row> df, String labelCol, JobOptions o, String model, Configuration conf) {
        String type = (String) TrainingFlags.value(o, TrainingOption.PROBLEM_TYPE);
        if (type.equals("multi_label") || type.equals("regression")) {
            return true;
        }
        boolean array =
                Inputs.field(df.schema(), labelCol, "label-col").dataType() instanceof ArrayType;
        return type.equals("auto")
                && (array
                        || backend.checkpointProblemType(model, conf)
                                .map("regression"::equals)
                                .orElse(false));
    }

    /** The backend's input: the user's columns under the internal names, labels as indices. */
    private static Dataset<Row> internalColumns(
            Dataset<Row> df, String textCol, String pairCol, Labels labels) {
        List<Column> cols = new ArrayList<>();
        cols.add(TextColumns.named(textCol).as(ModelBackend.TEXT));
        if (pairCol != null) {
            cols.add(TextColumns.named(pairCol).as(ModelBackend.PAIR));
        }
        cols.add(labels.index().as(ModelBackend.LABEL));
        return df.select(cols.toArray(new Column[0]));
    }

    /** Adds the run's duration, start and end times and effective options to metrics.json. */
    private static void addRunInfo(
            ObjectNode metrics, JobOptions o, long start, Instant startedAt) {
        metrics.put("seconds", (System.nanoTime() - start) / 1e9);
        metrics.put("start", startedAt.toString());
        metrics.put("end", Instant.now().toString());
        ObjectNode opts = metrics.putObject("options");
        o.asMap().forEach(opts::put);
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
}
