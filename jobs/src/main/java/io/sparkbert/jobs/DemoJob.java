package io.sparkbert.jobs;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.when;

import io.sparkbert.bert.BuiltInModel;
import io.sparkbert.bert.train.TrainingOption;
import io.sparkbert.data.SentimentData;
import io.sparkbert.persistence.HadoopFiles;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;

/**
 * The README's main command: fine-tunes the default built-in encoder on the training split of the
 * UCI Sentiment Labelled Sentences (stratified 80/20, seed 42), evaluates it on the held-out split
 * (metrics.json + report.html), scores the held-out texts as a corpus, and prints the accuracy and
 * where everything is. It runs {@link TrainJob}, {@link EvaluateJob} and {@link ScoreJob} on files
 * it writes under {@code --output}:
 *
 * <pre>
 * output/data/{train,test}.jsonl   the split (id, text, label = negative|positive, source)
 * output/data/corpus.jsonl         the held-out texts without labels (id, text, source)
 * output/model/                    the trained model dir
 * output/evaluation/               metrics.json, report.html
 * output/scores/                   the scored corpus (parquet) and _manifest.json
 * </pre>
 *
 * <p>Thread-safe (stateless between runs).
 */
public final class DemoJob extends SparkJob {
    /** Seed of the train/test split (fixed so every run evaluates on the same sentences). */
    public static final long SPLIT_SEED = 42;

    /** The demo over the default backend. */
    public DemoJob() {
        this(JobRunner.defaultBackend());
    }

    /** The demo over {@code backend}. */
    public DemoJob(ModelBackend backend) {
        super(backend);
    }

    /** spark-submit entry point. */
    public static void main(String[] args) {
        System.exit(JobRunner.run(new DemoJob(), args, System.out, System.err));
    }

    @Override
    public String name() {
        return "demo";
    }

    /** The training options the demo passes on to the train job. */
    private static final List<TrainingOption<?>> TRAINING =
            List.of(
                    TrainingOption.EPOCHS,
                    TrainingOption.BATCH_SIZE,
                    TrainingOption.LEARNING_RATE,
                    TrainingOption.MAX_LENGTH,
                    TrainingOption.SEED,
                    TrainingOption.FREEZE_WORD_EMBEDDINGS);

    @Override
    public List<JobOption> options() {
        List<JobOption> options =
                new ArrayList<>(
                        List.of(
                                JobOption.string(
                                        "output",
                                        "directory for data, model, evaluation and scores"),
                                JobOption.bool("overwrite", "replace an existing demo output"),
                                JobOption.string(
                                        "data-dir", "folder with amazon/imdb/yelp.json (optional)"),
                                JobOption.integer(
                                        "limit",
                                        "use only the first N sentences per split (0 = all)"),
                                JobOption.string(
                                        "model",
                                        "starting checkpoint: a built-in ("
                                                + BuiltInModel.describeNames()
                                                + ") or a HF dir")));
        options.addAll(TrainingFlags.jobOptions(TRAINING));
        options.add(JobOption.choice("device", "where to run", "auto", "cpu", "gpu"));
        return options;
    }

    @Override
    public JobResult run(SparkSession spark, JobOptions o) {
        long start = System.nanoTime();
        String output = o.require("output");
        int limit = (int) o.checkRange("limit", 0, Integer.MAX_VALUE);
        TrainingFlags.check(o, TRAINING);
        Configuration conf = spark.sparkContext().hadoopConfiguration();
        String data = writeData(spark, o, conf, output, limit);

        String model = output + "/model";
        List<String> trainArgs =
                new ArrayList<>(List.of("--input", data + "/train.jsonl", "--output", model));
        List<String> passed = new ArrayList<>(List.of("model", "device"));
        TRAINING.forEach(t -> passed.add(t.flag()));
        for (String k : passed) {
            trainArgs.add("--" + k);
            trainArgs.add(o.require(k));
        }
        TrainJob trainJob = new TrainJob(backend);
        JobResult trained =
                trainJob.runDescribed(spark, trainJob.parse(trainArgs.toArray(new String[0])));
        System.out.println(trained.summaryLine());

        EvaluateJob evaluateJob = new EvaluateJob(backend);
        String evaluation = output + "/evaluation";
        JobResult evaluated =
                evaluateJob.runDescribed(
                        spark,
                        evaluateJob.parse(
                                "--model",
                                model,
                                "--input",
                                data + "/test.jsonl",
                                "--output",
                                evaluation,
                                "--max-length",
                                o.require("max-length"),
                                "--device",
                                o.require("device")));
        System.out.println(evaluated.summaryLine());

        ScoreJob scoreJob = new ScoreJob(backend);
        String scores = output + "/scores";
        JobResult scored =
                scoreJob.runDescribed(
                        spark,
                        scoreJob.parse(
                                "--model",
                                model,
                                "--input",
                                data + "/corpus.jsonl",
                                "--output",
                                scores,
                                "--id-col",
                                "id",
                                "--max-length",
                                o.require("max-length"),
                                "--device",
                                o.require("device")));
        System.out.println(scored.summaryLine());

        double accuracy =
                EvaluateJob.trainingMetrics(conf, evaluation).path("accuracy").asDouble(Double.NaN);
        System.out.printf(
                Locale.ROOT,
                "%nHeld-out accuracy: %.4f on %d sentences%n  model:  %s%n  report: %s%n"
                        + "  scores: %s%n",
                accuracy,
                evaluated.rows(),
                model,
                evaluation + "/report.html",
                scores);
        return new JobResult(
                name(),
                trained.rows() + evaluated.rows() + scored.rows(),
                (System.nanoTime() - start) / 1e9,
                output,
                String.format(Locale.ROOT, "accuracy %.4f", accuracy));
    }

    /**
     * Replaces a previous demo output, then writes the split under {@code output/data}: train, test
     * and the unlabelled test texts; returns that directory.
     */
    private static String writeData(
            SparkSession spark, JobOptions o, Configuration conf, String output, int limit) {
        org.apache.hadoop.fs.Path out = new org.apache.hadoop.fs.Path(output);
        if (HadoopFiles.exists(conf, out)) {
            if (!o.getBoolean("overwrite")) {
                throw new IllegalArgumentException(
                        "--output: '"
                                + output
                                + "' exists; pass --overwrite true or choose"
                                + " another directory.");
            }
            if (!HadoopFiles.exists(conf, new org.apache.hadoop.fs.Path(out, "data/train.jsonl"))) {
                throw new IllegalArgumentException(
                        "--output: '"
                                + output
                                + "' exists and is not a demo output; refusing to"
                                + " delete it.");
            }
            HadoopFiles.delete(conf, out);
        }
        Dataset<Row> all =
                o.get("data-dir")
                        .map(d -> SentimentData.load(spark, Path.of(d)))
                        .orElseGet(() -> SentimentData.load(spark));
        SentimentData.Split split = SentimentData.split(all, 0.8, SPLIT_SEED);
        Dataset<Row> train = named(split.train());
        Dataset<Row> test = named(split.test());
        if (limit > 0) {
            train = train.orderBy(SentimentData.ID).limit(limit);
            test = test.orderBy(SentimentData.ID).limit(limit);
        }
        String data = output + "/data";
        write(train, data + "/train.jsonl");
        write(test, data + "/test.jsonl");
        write(test.drop(SentimentData.LABEL), data + "/corpus.jsonl");
        return data;
    }

    /** Class names instead of 0/1, so that outputs read "positive"/"negative". */
    private static Dataset<Row> named(Dataset<Row> df) {
        return df.withColumn(
                SentimentData.LABEL,
                when(col(SentimentData.LABEL).equalTo(1.0), lit("positive"))
                        .otherwise(lit("negative")));
    }

    private static void write(Dataset<Row> df, String path) {
        df.coalesce(1).write().mode(SaveMode.ErrorIfExists).json(path);
    }
}
