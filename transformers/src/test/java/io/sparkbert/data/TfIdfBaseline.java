package io.sparkbert.data;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.apache.spark.ml.Pipeline;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.PipelineStage;
import org.apache.spark.ml.classification.LogisticRegression;
import org.apache.spark.ml.evaluation.BinaryClassificationEvaluator;
import org.apache.spark.ml.evaluation.MulticlassClassificationEvaluator;
import org.apache.spark.ml.feature.HashingTF;
import org.apache.spark.ml.feature.IDF;
import org.apache.spark.ml.feature.NGram;
import org.apache.spark.ml.feature.RegexTokenizer;
import org.apache.spark.ml.feature.SQLTransformer;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/**
 * Benchmark program (not a test): the classic TF-IDF + logistic regression baseline on the UCI
 * sentiment 80/20 split (seed 42), trained and scored with MLlib on {@code local[2]}.
 *
 * <p>Pipeline: {@code RegexTokenizer} (lower-case, splits on anything but letters, digits and
 * apostrophes) → optional {@code NGram(2)} concatenated to the unigrams → {@code HashingTF} (2^18
 * features) → {@code IDF} → {@code LogisticRegression}. The n-gram range and {@code regParam} are
 * chosen on a validation split of the training set (80/20 of train, seed 7), then the chosen
 * pipeline is refit on the whole training set and scored once on the test set: accuracy and
 * weighted F1 ({@code MulticlassClassificationEvaluator}), area under ROC ({@code
 * BinaryClassificationEvaluator}).
 *
 * <p>It lives in the test tree because it needs MLlib, which the library jar only has as {@code
 * provided}; run it with {@code scripts/bench-baselines.sh}. Arguments: {@code [master]} (default
 * {@code local[2]}). Not thread-safe; a command-line program.
 */
public final class TfIdfBaseline {
    private static final double[] REG_PARAMS = {0.0, 0.01, 0.03, 0.1, 0.3};
    private static final int[] MAX_NGRAMS = {1, 2};

    private TfIdfBaseline() {}

    /** One scored configuration. */
    record Scores(double accuracy, double f1, double auc) {}

    /** Runs the benchmark and prints a table of results. */
    public static void main(String[] args) {
        String master = args.length > 0 ? args[0] : "local[2]";
        SparkSession spark =
                SparkSession.builder()
                        .master(master)
                        .appName("tfidf-baseline")
                        .config("spark.ui.enabled", "false")
                        .config("spark.sql.shuffle.partitions", "2")
                        .config("spark.driver.host", "127.0.0.1")
                        .config("spark.driver.bindAddress", "127.0.0.1")
                        .getOrCreate();
        spark.sparkContext().setLogLevel("WARN");
        try {
            long start = System.nanoTime();
            Dataset<Row> data = SentimentData.load(spark).cache();
            SentimentData.Split split = SentimentData.split(data, 0.8, 42);
            Dataset<Row> train = split.train().cache();
            Dataset<Row> test = split.test().cache();
            SentimentData.Split tuning = SentimentData.split(train, 0.8, 7);
            Dataset<Row> fit = tuning.train().cache();
            Dataset<Row> validation = tuning.test().cache();
            System.out.printf(
                    Locale.ROOT,
                    "rows: train %d (tuning fit %d, validation %d), test %d%n",
                    train.count(),
                    fit.count(),
                    validation.count(),
                    test.count());

            int bestN = 1;
            double bestReg = 0.0;
            double bestAcc = -1;
            System.out.println("validation (tuning on train only):");
            System.out.println("  ngrams  regParam  accuracy  f1      auc");
            for (int n : MAX_NGRAMS) {
                for (double reg : REG_PARAMS) {
                    Scores s = score(pipeline(n, reg).fit(fit), validation);
                    System.out.printf(
                            Locale.ROOT,
                            "  1-%d     %-8s  %.4f    %.4f  %.4f%n",
                            n,
                            reg,
                            s.accuracy(),
                            s.f1(),
                            s.auc());
                    if (s.accuracy() > bestAcc) {
                        bestAcc = s.accuracy();
                        bestN = n;
                        bestReg = reg;
                    }
                }
            }
            long trainStart = System.nanoTime();
            PipelineModel model = pipeline(bestN, bestReg).fit(train);
            double trainSeconds = (System.nanoTime() - trainStart) / 1e9;
            Scores s = score(model, test);
            System.out.printf(
                    Locale.ROOT,
                    "TEST (ngrams 1-%d, regParam %s, fit on 2400 train rows in %.1f s):"
                            + " accuracy %.4f  f1 %.4f  auc %.4f%n",
                    bestN,
                    bestReg,
                    trainSeconds,
                    s.accuracy(),
                    s.f1(),
                    s.auc());
            Scores plain = score(pipeline(1, 0.0).fit(train), test);
            System.out.printf(
                    Locale.ROOT,
                    "TEST (untuned: unigrams, regParam 0.0): accuracy %.4f  f1 %.4f  auc %.4f%n",
                    plain.accuracy(),
                    plain.f1(),
                    plain.auc());
            System.out.printf(Locale.ROOT, "total %.1f s%n", (System.nanoTime() - start) / 1e9);
        } finally {
            spark.stop();
        }
    }

    static Pipeline pipeline(int maxNgram, double regParam) {
        List<PipelineStage> stages = new ArrayList<>();
        stages.add(
                new RegexTokenizer()
                        .setInputCol("text")
                        .setOutputCol("words")
                        .setPattern("[^\\p{L}\\p{N}']+")
                        .setToLowercase(true));
        String terms = "words";
        if (maxNgram >= 2) {
            stages.add(new NGram().setN(2).setInputCol("words").setOutputCol("bigrams"));
            stages.add(
                    new SQLTransformer()
                            .setStatement(
                                    "SELECT *, concat(words, bigrams) AS terms FROM __THIS__"));
            terms = "terms";
        }
        stages.add(new HashingTF().setInputCol(terms).setOutputCol("tf").setNumFeatures(1 << 18));
        stages.add(new IDF().setInputCol("tf").setOutputCol("features"));
        stages.add(
                new LogisticRegression()
                        .setFeaturesCol("features")
                        .setLabelCol("label")
                        .setRegParam(regParam)
                        .setElasticNetParam(0.0)
                        .setMaxIter(100));
        return new Pipeline().setStages(stages.toArray(new PipelineStage[0]));
    }

    static Scores score(PipelineModel model, Dataset<Row> rows) {
        Dataset<Row> predicted = model.transform(rows).cache();
        MulticlassClassificationEvaluator multi =
                new MulticlassClassificationEvaluator()
                        .setLabelCol("label")
                        .setPredictionCol("prediction");
        double accuracy = multi.setMetricName("accuracy").evaluate(predicted);
        double f1 = multi.setMetricName("f1").evaluate(predicted);
        double auc =
                new BinaryClassificationEvaluator()
                        .setLabelCol("label")
                        .setRawPredictionCol("rawPrediction")
                        .setMetricName("areaUnderROC")
                        .evaluate(predicted);
        predicted.unpersist();
        return new Scores(accuracy, f1, auc);
    }
}
