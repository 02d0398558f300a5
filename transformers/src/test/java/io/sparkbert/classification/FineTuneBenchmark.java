package io.sparkbert.classification;

import io.sparkbert.bert.train.TrainingSummary;
import io.sparkbert.data.SentimentData;
import java.util.Locale;
import org.apache.spark.ml.evaluation.BinaryClassificationEvaluator;
import org.apache.spark.ml.evaluation.MulticlassClassificationEvaluator;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/**
 * Benchmark program (not a test): fine-tunes a built-in encoder (the {@code default}, or {@code
 * model=NAME} in params) with {@link BertClassifier} on the UCI sentiment 80/20 split (seed 42) on
 * the CPU and reports test accuracy, weighted F1, area under ROC, training samples/s and wall
 * times.
 *
 * <p>Arguments: {@code [master (local[2])] [groupByLength (true, the default)] [seed (42)]
 * [params]}, where {@code params} is an optional comma-separated list of estimator params in JSON
 * form, e.g. {@code epochs=4,learningRate=8e-5,decayBiasAndNorm=true}; every other setting is the
 * estimator's default (the pooler head, lr 5e-5, batch 16, 3 epochs, 10% warm-up then linear decay,
 * clipping 1.0, weight decay 0.01 without biases/LayerNorm, maxLength 128). Run it with {@code
 * scripts/bench-finetune.sh}; it lives in the test tree because it needs MLlib at run time. The
 * environment variable {@code SPARKBERT_BENCH_SPLIT_SEED} (default 42, the split) draws
 * another 80/20 split, to check on unseen test sentences a setting chosen on the seed-42 split. A
 * command-line program; not thread-safe.
 */
public final class FineTuneBenchmark {
    private FineTuneBenchmark() {}

    /** Runs the benchmark and prints one result line plus the per-epoch summary. */
    public static void main(String[] args) throws java.io.IOException {
        String master = args.length > 0 ? args[0] : "local[2]";
        boolean group = args.length <= 1 || Boolean.parseBoolean(args[1]);
        long seed = args.length > 2 ? Long.parseLong(args[2]) : 42L;
        String params = args.length > 3 ? args[3] : "";
        long splitSeed =
                Long.parseLong(System.getenv().getOrDefault("SPARKBERT_BENCH_SPLIT_SEED", "42"));
        SparkSession spark =
                SparkSession.builder()
                        .master(master)
                        .appName("finetune-benchmark")
                        .config("spark.ui.enabled", "false")
                        .config("spark.sql.shuffle.partitions", "2")
                        .config("spark.driver.host", "127.0.0.1")
                        .config("spark.driver.bindAddress", "127.0.0.1")
                        .getOrCreate();
        spark.sparkContext().setLogLevel("WARN");
        // Keep the trainer's progress lines (INFO) while Spark stays at WARN.
        org.apache.logging.log4j.core.config.Configurator.setLevel(
                "io.sparkbert", org.apache.logging.log4j.Level.INFO);
        try {
            long t0 = System.nanoTime();
            SentimentData.Split split =
                    SentimentData.split(SentimentData.load(spark), 0.8, splitSeed);
            Dataset<Row> train = split.train().cache();
            Dataset<Row> test = split.test().cache();
            long nTrain = train.count();
            long nTest = test.count();
            BertClassifier clf =
                    new BertClassifier()
                            .setTextCol(SentimentData.TEXT)
                            .setLabelCol(SentimentData.LABEL)
                            .setDevice("cpu")
                            .setGroupByLength(group)
                            .setSeed(seed);
            applyParams(clf, params);
            long f0 = System.nanoTime();
            BertClassificationModel model = clf.fit(train);
            double fitSeconds = (System.nanoTime() - f0) / 1e9;
            long s0 = System.nanoTime();
            Dataset<Row> scored = model.transform(test).cache();
            scored.count();
            double scoreSeconds = (System.nanoTime() - s0) / 1e9;
            double accuracy =
                    new MulticlassClassificationEvaluator()
                            .setMetricName("accuracy")
                            .evaluate(scored);
            double f1 =
                    new MulticlassClassificationEvaluator().setMetricName("f1").evaluate(scored);
            double auc = new BinaryClassificationEvaluator().evaluate(scored);
            TrainingSummary s = model.summary();
            java.nio.file.Path summaryFile =
                    java.nio.file.Paths.get(
                            "target",
                            "finetune-summary-"
                                    + clf.getOrDefault(clf.model())
                                            .replaceAll("[^A-Za-z0-9.-]+", "_")
                                    + "-"
                                    + (group ? "grouped" : "random")
                                    + "-"
                                    + seed
                                    + (params.isEmpty()
                                            ? ""
                                            : "-" + params.replaceAll("[^A-Za-z0-9.-]+", "_"))
                                    + ".json");
            java.nio.file.Files.writeString(summaryFile, s.toJson());
            // The misclassified test sentences, to judge what is left (label noise, hard cases).
            java.nio.file.Path errorsFile =
                    java.nio.file.Paths.get(
                            summaryFile
                                    .toString()
                                    .replace("finetune-summary-", "finetune-errors-"));
            StringBuilder errors = new StringBuilder();
            for (Row r :
                    scored.filter(
                                    org.apache
                                            .spark
                                            .sql
                                            .functions
                                            .col("prediction")
                                            .notEqual(
                                                    org.apache.spark.sql.functions.col(
                                                            SentimentData.LABEL)))
                            .select(SentimentData.LABEL, "probability", SentimentData.TEXT)
                            .collectAsList()) {
                errors.append(r.get(0))
                        .append('\t')
                        .append(r.get(1))
                        .append('\t')
                        .append(r.get(2))
                        .append('\n');
            }
            java.nio.file.Files.writeString(errorsFile, errors);
            TrainingSummary.Step worst =
                    s.steps().stream()
                            .max(
                                    java.util.Comparator.comparingDouble(
                                            TrainingSummary.Step::gradNorm))
                            .orElseThrow();
            System.out.printf(
                    Locale.ROOT,
                    "largest gradient norm %.4g at step %d of %d (summary: %s)%n",
                    worst.gradNorm(),
                    worst.step(),
                    s.steps().size(),
                    summaryFile.toAbsolutePath());
            for (TrainingSummary.Epoch e : s.epochs()) {
                System.out.printf(
                        Locale.ROOT,
                        "epoch %d: train loss %.4f, %.1f samples/s, %.1f s%n",
                        e.epoch(),
                        e.trainLoss(),
                        e.samplesPerSecond(),
                        e.seconds());
            }
            System.out.printf(
                    Locale.ROOT,
                    "RESULT model=%s pooling=%s groupByLength=%s seed=%d split=%d params=%s train=%d"
                            + " test=%d"
                            + " accuracy=%.4f f1=%.4f auc=%.4f train_samples_per_s=%.1f"
                            + " train_s=%.1f fit_s=%.1f score_s=%.1f (%.0f rows/s) total_s=%.1f"
                            + " skipped_steps=%d%n",
                    clf.getOrDefault(clf.model()),
                    model.pooling(),
                    group,
                    seed,
                    splitSeed,
                    params.isEmpty() ? "defaults" : params,
                    nTrain,
                    nTest,
                    accuracy,
                    f1,
                    auc,
                    s.samplesPerSecond(),
                    s.wallSeconds(),
                    fitSeconds,
                    scoreSeconds,
                    nTest / scoreSeconds,
                    (System.nanoTime() - t0) / 1e9,
                    s.skippedSteps());
        } finally {
            spark.stop();
        }
    }

    /** Sets {@code name=json,...} on the estimator through Spark's own param decoding. */
    private static void applyParams(BertClassifier clf, String params) {
        for (String kv : params.split(",")) {
            if (kv.isBlank()) {
                continue;
            }
            int eq = kv.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException(
                        "params entry \"" + kv + "\" is not name=value (e.g. epochs=4)");
            }
            org.apache.spark.ml.param.Param<Object> p = clf.getParam(kv.substring(0, eq).trim());
            String value = kv.substring(eq + 1).trim();
            // String params may come without their JSON quotes (shells and Maven drop them).
            boolean bareString =
                    p.getClass() == org.apache.spark.ml.param.Param.class
                            && !value.startsWith("\"");
            clf.set(p, bareString ? value : p.jsonDecode(value));
        }
    }
}
