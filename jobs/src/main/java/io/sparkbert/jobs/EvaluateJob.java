package io.sparkbert.jobs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sparkbert.bert.ProblemType;
import io.sparkbert.persistence.HadoopFiles;
import java.io.IOException;
import java.time.Instant;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/**
 * Evaluates a model on labelled data: accuracy, precision/recall/F1 per class, confusion matrix
 * and, for two classes, ROC AUC (see {@link Evaluation}), written as {@code metrics.json} and a
 * self-contained {@code report.html} with inline SVG plots. A multi-label model reports micro and
 * macro F1, subset accuracy and Hamming loss, a regression model RMSE, MAE and R2 ({@link
 * ProblemMetrics}). The output dir is written to a staging dir and swapped in at the end. Rows with
 * a null text are left out and counted.
 *
 * <p>Thread-safe (stateless between runs).
 */
public final class EvaluateJob extends SparkJob {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String LABEL_NAME = ModelBackend.INTERNAL_PREFIX + "label_name";

    /** The evaluate job over the default backend. */
    public EvaluateJob() {
        this(JobRunner.defaultBackend());
    }

    /** The evaluate job over {@code backend}. */
    public EvaluateJob(ModelBackend backend) {
        super(backend);
    }

    /** spark-submit entry point. */
    public static void main(String[] args) {
        System.exit(JobRunner.run(new EvaluateJob(), args, System.out, System.err));
    }

    @Override
    public String name() {
        return "evaluate";
    }

    @Override
    public List<JobOption> options() {
        return List.of(
                JobOption.string("model", "model dir from the train job, or a HF checkpoint dir"),
                JobOption.string("input", "labelled data (file or directory)"),
                JobOption.choice("input-format", "format of --input", Inputs.FORMAT_CHOICES),
                JobOption.string("output", "directory for metrics.json and report.html"),
                JobOption.string("text-col", "column with the texts"),
                JobOption.string("pair-col", "column with the second texts of pairs (optional)"),
                JobOption.string("label-col", "column with class indices or class names"),
                JobOption.integer("batch-size", "texts per forward pass"),
                JobOption.integer("window-size", "rows length-sorted together before batching"),
                JobOption.integer("max-length", "max tokens per text"),
                JobOption.choice("overflow", "texts longer than max-length", "truncate", "window"),
                JobOption.choice("device", "where to run the model", "auto", "cpu", "gpu"));
    }

    @Override
    public JobResult run(SparkSession spark, JobOptions o) {
        long start = System.nanoTime();
        Instant startedAt = Instant.now();
        o.checkRange("batch-size", 1, 1 << 16);
        o.checkRange("window-size", 1, 1 << 20);
        o.checkRange("max-length", 2, 512);
        String output = o.require("output");
        String input = o.require("input");
        String model = o.require("model");
        String textCol = o.require("text-col");
        String pairCol = o.get("pair-col").orElse(null);
        OutputDirs.checkReplaceable(
                spark.sparkContext().hadoopConfiguration(),
                new Path(output),
                "evaluate",
                "report.html",
                input,
                model);
        Scorer scorer = Scorer.load(spark, backend, model, pairCol != null, o);
        Dataset<Row> df = Inputs.read(spark, input, Inputs.format(o.require("input-format")), null);
        if (scorer.problemType() != ProblemType.SINGLE_LABEL) {
            return evaluateTargets(spark, o, scorer, df, start, startedAt);
        }
        Labels labels = Labels.forModel(df, o.require("label-col"), scorer.labels());
        Dataset<Row> withLabel = df.withColumn(ModelBackend.LABEL, labels.index());
        Dataset<Row> scored =
                scorer.score(withLabel, textCol, pairCol, LABEL_NAME)
                        .filter(org.apache.spark.sql.functions.col(Scorer.PREDICTION).isNotNull())
                        .cache();
        try {
            long nullTexts = df.count() - scored.count();
            Evaluation e =
                    Evaluation.compute(
                            scored,
                            Scorer.PREDICTION,
                            ModelBackend.LABEL,
                            Scorer.PROBABILITY,
                            scorer.labels());
            Configuration conf = spark.sparkContext().hadoopConfiguration();
            JsonNode training = trainingMetrics(conf, model);
            ObjectNode metrics = e.toJson();
            metrics.put("null_texts_skipped", nullTexts);
            metrics.put("model", model);
            metrics.put("input", input);
            metrics.put("start", startedAt.toString());
            metrics.put("end", Instant.now().toString());
            writeOutput(
                    conf,
                    output,
                    metrics,
                    HtmlReport.render("spark-bert evaluation", model, input, e, training));
            return new JobResult(
                    name(),
                    e.rows(),
                    (System.nanoTime() - start) / 1e9,
                    output,
                    String.format(
                            java.util.Locale.ROOT,
                            "accuracy %.4f%s",
                            e.accuracy(),
                            scorer.labels().size() == 2
                                    ? String.format(
                                            java.util.Locale.ROOT, ", ROC AUC %.4f", e.rocAuc())
                                    : ""));
        } finally {
            scored.unpersist();
        }
    }

    /**
     * Evaluates a multi-label or regression model ({@link ProblemMetrics}): metrics.json and a
     * report.html listing the metrics.
     */
    private JobResult evaluateTargets(
            SparkSession spark,
            JobOptions o,
            Scorer scorer,
            Dataset<Row> df,
            long start,
            Instant startedAt) {
        ProblemType type = scorer.problemType();
        String output = o.require("output");
        String input = o.require("input");
        String model = o.require("model");
        Dataset<Row> withLabel =
                df.withColumn(
                        ModelBackend.LABEL,
                        ProblemMetrics.labels(df, o.require("label-col"), type, scorer.labels()));
        Dataset<Row> scored =
                scorer.score(
                                withLabel,
                                o.require("text-col"),
                                o.get("pair-col").orElse(null),
                                LABEL_NAME)
                        .filter(org.apache.spark.sql.functions.col(Scorer.PREDICTION).isNotNull())
                        .cache();
        try {
            ObjectNode metrics =
                    ProblemMetrics.compute(
                            scored,
                            Scorer.PREDICTION,
                            ModelBackend.LABEL,
                            type,
                            scorer.labels().size());
            long rows = metrics.get("rows").asLong();
            metrics.put("null_texts_skipped", df.count() - rows);
            metrics.put("model", model);
            metrics.put("input", input);
            metrics.put("start", startedAt.toString());
            metrics.put("end", Instant.now().toString());
            writeOutput(
                    spark.sparkContext().hadoopConfiguration(),
                    output,
                    metrics,
                    ProblemMetrics.html("spark-bert evaluation", model, input, metrics));
            String summary =
                    type == ProblemType.REGRESSION
                            ? String.format(
                                    java.util.Locale.ROOT,
                                    "RMSE %.4f, MAE %.4f, R2 %.4f",
                                    metrics.get("rmse").asDouble(),
                                    metrics.get("mae").asDouble(),
                                    metrics.get("r2").asDouble())
                            : String.format(
                                    java.util.Locale.ROOT,
                                    "micro F1 %.4f, macro F1 %.4f, subset accuracy %.4f, Hamming"
                                            + " loss %.4f",
                                    metrics.get("micro_f1").asDouble(),
                                    metrics.get("macro_f1").asDouble(),
                                    metrics.get("subset_accuracy").asDouble(),
                                    metrics.get("hamming_loss").asDouble());
            return new JobResult(name(), rows, (System.nanoTime() - start) / 1e9, output, summary);
        } finally {
            scored.unpersist();
        }
    }

    /** Writes metrics.json and report.html to a staging dir and swaps it in as {@code output}. */
    private static void writeOutput(
            Configuration conf, String output, ObjectNode metrics, String html) {
        Path out = new Path(output);
        Path staging = OutputDirs.stagingFor(out);
        try {
            HadoopFiles.mkdirs(conf, staging);
            HadoopFiles.writeString(
                    conf, new Path(staging, "metrics.json"), metrics.toPrettyString());
            HadoopFiles.writeString(conf, new Path(staging, "report.html"), html);
            OutputDirs.replaceDir(conf, staging, out);
        } finally {
            if (HadoopFiles.exists(conf, staging)) {
                HadoopFiles.delete(conf, staging);
            }
        }
    }

    /** The training metrics.json of a model dir, or null. */
    static JsonNode trainingMetrics(Configuration conf, String model) {
        Path p = new Path(model, "metrics.json");
        if (!HadoopFiles.exists(conf, p)) {
            return null;
        }
        try {
            return JSON.readTree(HadoopFiles.readString(conf, p));
        } catch (IOException e) {
            return null;
        }
    }
}
