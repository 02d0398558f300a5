package io.sparkbert.inference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import io.sparkbert.bert.BertConfig;
import io.sparkbert.bert.BertModel;
import io.sparkbert.bert.ClassifierHead;
import io.sparkbert.bert.Encoding;
import io.sparkbert.bert.HfTokenizer;
import io.sparkbert.bert.Pooling;
import io.sparkbert.bert.TokenizerOptions;
import io.sparkbert.classification.BertClassificationModel;
import io.sparkbert.classification.BertClassifier;
import io.sparkbert.classification.BertClassifierAccess;
import io.sparkbert.feature.BertEmbeddings;
import io.sparkbert.testing.BertArrays;
import io.sparkbert.testing.Fixtures;
import io.sparkbert.testing.LocalCluster;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.Metadata;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Scoring on {@code local-cluster[2,1,2048]}: two executor JVMs. Outputs equal driver-side
 * single-text inference, rows keep order and count, each executor JVM loads a model once, and a
 * model that exists only in driver memory scores through a broadcast.
 */
class BertInferenceIT {
    private static final double TOL = 1e-5;

    /** Reports "pid:loads" of the JVM running each partition. */
    static final class LoadProbe implements MapPartitionsFunction<Long, String> {
        private static final long serialVersionUID = 1L;
        private final ModelSource source;

        LoadProbe(ModelSource source) {
            this.source = source;
        }

        @Override
        public Iterator<String> call(Iterator<Long> rows) throws Exception {
            while (rows.hasNext()) {
                rows.next();
            }
            Thread.sleep(200); // spread the probe tasks over both executors
            return List.of(
                            ProcessHandle.current().pid()
                                    + ":"
                                    + ModelCache.loadCount(source, "cpu")
                                    + ":"
                                    + ModelCache.loadCount())
                    .iterator();
        }
    }

    static List<String> sentences(int n, long seed) {
        String[] words = {
            "the", "movie", "was", "great", "terrible", "food", "service", "i", "loved", "it",
            "never", "again", "phone", "battery", "works", "fine", "and", "but", "very", "bad"
        };
        Random rnd = new Random(seed);
        List<String> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int len = 1 + rnd.nextInt(i % 6 == 0 ? 40 : 12);
            StringBuilder sb = new StringBuilder();
            for (int w = 0; w < len; w++) {
                sb.append(w == 0 ? "" : " ").append(words[rnd.nextInt(words.length)]);
            }
            out.add(sb.toString());
        }
        return out;
    }

    static Dataset<Row> frame(
            SparkSession spark, List<Integer> ids, List<String> texts, int parts) {
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < texts.size(); i++) {
            rows.add(RowFactory.create(ids.get(i), texts.get(i)));
        }
        StructType schema =
                new StructType().add("id", DataTypes.IntegerType).add("text", DataTypes.StringType);
        return spark.createDataFrame(rows, schema).repartition(parts).sortWithinPartitions("id");
    }

    /** Loads per executor pid for a source, from a probe job of many small tasks. */
    static Map<Long, Integer> loadsPerExecutor(SparkSession spark, ModelSource source) {
        Map<Long, Integer> out = new TreeMap<>();
        for (String s :
                spark.range(0, 16, 1, 16)
                        .mapPartitions(new LoadProbe(source), Encoders.STRING())
                        .collectAsList()) {
            String[] p = s.split(":");
            out.merge(Long.parseLong(p[0]), Integer.parseInt(p[1]), Math::max);
        }
        return out;
    }

    /**
     * LocalCluster.close() stops the session, but the thread's active session stays set, which the
     * next LocalCluster.start() refuses; clear it between tests.
     */
    @AfterEach
    void clearSessions() {
        SparkSession.clearActiveSession();
        SparkSession.clearDefaultSession();
    }

    @Test
    void clusterScoringMatchesDriverAndLoadsOncePerExecutor() {
        List<String> texts = sentences(300, 5);
        List<Integer> ids = new ArrayList<>();
        for (int i = 0; i < texts.size(); i++) {
            ids.add(i);
        }
        Collections.shuffle(ids, new Random(9));
        List<String> shuffled = new ArrayList<>();
        for (int id : ids) {
            shuffled.add(texts.get(id));
        }
        String dir = Fixtures.tinyBert().toString();
        try (LocalCluster cluster = LocalCluster.start("bert-inference-it");
                BertModel model = BertModel.load(Fixtures.tinyBert(), Device.cpu());
                HfTokenizer tok =
                        HfTokenizer.fromDirectory(
                                Fixtures.tinyBert(),
                                TokenizerOptions.defaults().withMaxLength(32))) {
            SparkSession spark = cluster.spark();
            long driverPid = ProcessHandle.current().pid();
            Dataset<Row> df = frame(spark, ids, shuffled, 6);
            List<Row> input = df.collectAsList();
            BertEmbeddings stage =
                    new BertEmbeddings()
                            .setInputCol("text")
                            .setModel(dir)
                            .setMaxLength(32)
                            .setBatchSize(16)
                            .setWindowSize(40);
            Dataset<Row> scored = stage.transform(df);
            List<Row> out = scored.collectAsList();
            // A second action on another transform must reuse the executors' models.
            assertEquals(texts.size(), stage.setPooling("cls").transform(df).count());
            assertEquals(input.size(), out.size());
            for (int i = 0; i < out.size(); i++) {
                Row r = out.get(i);
                assertEquals(input.get(i).getInt(0), r.getInt(0), "row order at " + i);
                String text = r.getString(1);
                Encoding e = tok.encode(text);
                float[] expected = BertArrays.embed(model, e, Pooling.MEAN, false);
                Vector v = r.getAs("embedding");
                for (int k = 0; k < expected.length; k++) {
                    assertEquals(expected[k], v.apply(k), TOL, "row " + i + " dim " + k);
                }
            }
            Map<Long, Integer> loads = loadsPerExecutor(spark, ModelSource.location(dir));
            assertEquals(2, loads.size(), "probe tasks should reach both executors: " + loads);
            for (Map.Entry<Long, Integer> e : loads.entrySet()) {
                assertNotEquals(driverPid, e.getKey().longValue());
                assertEquals(1, e.getValue(), "model loads in executor JVM " + e.getKey());
            }

            // A classifier that exists only in driver memory (never saved) scores on the cluster.
            BertConfig config = model.config();
            try (BertModel fresh = BertModel.initialize(config, true, true, 1234L, Device.cpu())) {
                ModelBytes bytes =
                        new ModelBytes(
                                config.toJson(true), fresh.toSafetensorsBytes(), tok.toJson());
                ModelSource shipped = ModelSource.broadcast(spark.sparkContext(), bytes);
                ScoringSpec spec =
                        new ScoringSpec(shipped, ScoringSpec.Output.LOGITS)
                                .columns("BertInferenceIT", "text", null)
                                .maxLength(32)
                                .batchSize(16);
                StructField[] fields = {
                    new StructField("logits", SQLDataTypes.VectorType(), true, Metadata.empty())
                };
                List<Row> logits =
                        PartitionScorer.transform(
                                        df,
                                        spec,
                                        fields,
                                        s -> new Object[] {Vectors.dense(toDoubles(s.values()))})
                                .collectAsList();
                assertEquals(input.size(), logits.size());
                for (int i = 0; i < logits.size(); i++) {
                    Row r = logits.get(i);
                    assertEquals(input.get(i).getInt(0), r.getInt(0));
                    Encoding e = tok.encode(r.getString(1));
                    float[] expected = BertArrays.logits(fresh, e);
                    Vector v = r.getAs("logits");
                    assertEquals(2, v.size());
                    for (int k = 0; k < expected.length; k++) {
                        assertEquals(expected[k], v.apply(k), TOL, "logit row " + i);
                    }
                }
                Map<Long, Integer> shippedLoads = loadsPerExecutor(spark, shipped);
                assertTrue(shippedLoads.values().stream().allMatch(n -> n <= 1), "" + shippedLoads);
                assertTrue(
                        shippedLoads.values().stream().anyMatch(n -> n == 1),
                        "the shipped model was loaded on an executor: " + shippedLoads);
            }
        }
    }

    @Test
    void fittedButUnsavedClassifierScoresOnTheCluster() {
        List<String> texts = sentences(60, 13);
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < texts.size(); i++) {
            rows.add(RowFactory.create(texts.get(i), (double) (texts.get(i).length() % 2)));
        }
        StructType schema =
                new StructType()
                        .add("text", DataTypes.StringType)
                        .add("label", DataTypes.DoubleType);
        try (LocalCluster cluster = LocalCluster.start("bert-classifier-it")) {
            SparkSession spark = cluster.spark();
            // Materialised once: a round-robin repartition re-run on a multi-executor cluster may
            // fetch shuffle blocks in another order, and the test compares positions.
            Dataset<Row> df = spark.createDataFrame(rows, schema).repartition(4).localCheckpoint();
            BertClassificationModel model =
                    new BertClassifier()
                            .setModel(Fixtures.tinyBert().toString())
                            .setEpochs(1)
                            .setBatchSize(8)
                            .setLearningRate(1e-3)
                            .setLogEverySteps(0)
                            .setDevice("cpu")
                            .fit(df);
            List<Row> input = df.collectAsList();
            List<Row> out = model.setBatchSize(7).transform(df).collectAsList();
            assertEquals(input.size(), out.size());
            // Driver-side reference: the same weights, one text at a time.
            ModelBytes bytes = BertClassifierAccess.bytes(model);
            try (BertModel driver =
                            BertModel.fromBytes(
                                    BertConfig.parse(bytes.configJson(), "driver"),
                                    bytes.safetensors(),
                                    Device.cpu());
                    HfTokenizer tok =
                            HfTokenizer.fromJson(
                                    bytes.tokenizerJson(),
                                    TokenizerOptions.defaults().withMaxLength(128))) {
                for (int i = 0; i < out.size(); i++) {
                    Row r = out.get(i);
                    assertEquals(input.get(i).getString(0), r.getString(0), "row order " + i);
                    float[] expected =
                            BertArrays.logits(
                                    ClassifierHead.parse(model.pooling()),
                                    driver,
                                    List.of(tok.encode(r.getString(0))))[0];
                    double[] raw = ((Vector) r.getAs("rawPrediction")).toArray();
                    double[] prob = ((Vector) r.getAs("probability")).toArray();
                    for (int k = 0; k < expected.length; k++) {
                        assertEquals(expected[k], raw[k], TOL, "logit " + i + "," + k);
                    }
                    assertEquals(1.0, prob[0] + prob[1], 1e-12);
                    assertEquals(raw[1] > raw[0] ? 1.0 : 0.0, r.<Double>getAs("prediction"));
                }
            }
        }
    }

    private static double[] toDoubles(float[] v) {
        double[] d = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            d[i] = v[i];
        }
        return d;
    }
}
