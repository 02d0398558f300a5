package io.sparkbert.feature;

import io.sparkbert.data.SentimentData;
import java.util.List;
import java.util.Locale;
import org.apache.spark.ml.Pipeline;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.PipelineStage;
import org.apache.spark.ml.classification.LogisticRegression;
import org.apache.spark.ml.evaluation.BinaryClassificationEvaluator;
import org.apache.spark.ml.evaluation.MulticlassClassificationEvaluator;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/**
 * Benchmark program (not a test): {@link BertEmbeddings} (built-in MiniLM, mean pooling) + MLlib
 * {@code LogisticRegression} on the UCI sentiment 80/20 split (seed 42), the same split and
 * protocol as the TF-IDF baseline: regParam chosen by accuracy on a validation split of the
 * training set (80/20 of train, seed 7), then one {@code Pipeline} of both stages is fit on the
 * whole training set and scored once on the test set. Run with {@code
 * scripts/bench-embeddings-lr.sh [master]}. Not thread-safe; a command-line program.
 */
public final class EmbeddingsLrBaseline {
    private static final double[] REG_PARAMS = {0.0, 0.001, 0.01, 0.03, 0.1, 0.3, 1.0};

    private EmbeddingsLrBaseline() {}

    /** Runs the benchmark and prints a Markdown table row. */
    public static void main(String[] args) {
        String master = args.length > 0 ? args[0] : "local[2]";
        SparkSession spark =
                SparkSession.builder()
                        .master(master)
                        .appName("embeddings-lr-baseline")
                        .config("spark.ui.enabled", "false")
                        .config("spark.sql.shuffle.partitions", "2")
                        .config("spark.driver.host", "127.0.0.1")
                        .config("spark.driver.bindAddress", "127.0.0.1")
                        .getOrCreate();
        spark.sparkContext().setLogLevel("WARN");
        try {
            SentimentData.Split split = SentimentData.split(SentimentData.load(spark), 0.8, 42);
            SentimentData.Split inner = SentimentData.split(split.train(), 0.8, 7);
            BertEmbeddings embed =
                    new BertEmbeddings()
                            .setModel("minilm-l6-v2")
                            .setInputCol("text")
                            .setOutputCol("features");
            // Embed the tuning data once; LR fits are cheap next to the encoder.
            Dataset<Row> tuneTrain = embed.transform(inner.train()).cache();
            Dataset<Row> tuneVal = embed.transform(inner.test()).cache();
            MulticlassClassificationEvaluator acc =
                    new MulticlassClassificationEvaluator().setMetricName("accuracy");
            double bestReg = REG_PARAMS[0];
            double bestAcc = -1;
            for (double reg : REG_PARAMS) {
                double a =
                        acc.evaluate(
                                new LogisticRegression()
                                        .setMaxIter(200)
                                        .setRegParam(reg)
                                        .fit(tuneTrain)
                                        .transform(tuneVal));
                System.out.printf(Locale.ROOT, "validation regParam=%s accuracy=%.4f%n", reg, a);
                if (a > bestAcc) {
                    bestAcc = a;
                    bestReg = reg;
                }
            }
            long t0 = System.nanoTime();
            PipelineModel model =
                    new Pipeline()
                            .setStages(
                                    new PipelineStage[] {
                                        embed,
                                        new LogisticRegression()
                                                .setMaxIter(200)
                                                .setRegParam(bestReg)
                                    })
                            .fit(split.train());
            double trainSeconds = (System.nanoTime() - t0) / 1e9;
            Dataset<Row> scored = model.transform(split.test()).cache();
            double accuracy = acc.evaluate(scored);
            double f1 =
                    new MulticlassClassificationEvaluator().setMetricName("f1").evaluate(scored);
            double auc = new BinaryClassificationEvaluator().evaluate(scored);
            List<Row> n = scored.groupBy().count().collectAsList();
            System.out.println();
            System.out.println(
                    "| model | accuracy | F1 (weighted) | AUC | settings | train time |");
            System.out.printf(
                    Locale.ROOT,
                    "| BertEmbeddings (MiniLM, mean) + LR (MLlib) | %.4f | %.4f | %.4f |"
                            + " regParam %s, %s test rows | %.1f s |%n",
                    accuracy,
                    f1,
                    auc,
                    bestReg,
                    n.get(0).getLong(0),
                    trainSeconds);
        } finally {
            spark.stop();
        }
    }
}
