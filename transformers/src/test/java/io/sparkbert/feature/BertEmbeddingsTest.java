package io.sparkbert.feature;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import io.sparkbert.bert.BertModel;
import io.sparkbert.bert.BuiltInModel;
import io.sparkbert.bert.Encoding;
import io.sparkbert.bert.HfTokenizer;
import io.sparkbert.bert.Pooling;
import io.sparkbert.bert.TokenizerOptions;
import io.sparkbert.data.SentimentData;
import io.sparkbert.inference.ModelCache;
import io.sparkbert.inference.ModelSource;
import io.sparkbert.testing.BertArrays;
import io.sparkbert.testing.Fixtures;
import io.sparkbert.testing.SparkTestSession;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.apache.spark.SparkException;
import org.apache.spark.ml.Pipeline;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.PipelineStage;
import org.apache.spark.ml.classification.LogisticRegression;
import org.apache.spark.ml.evaluation.MulticlassClassificationEvaluator;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The {@link BertEmbeddings} stage on a local[2] session. */
class BertEmbeddingsTest {
    private static final double TOL = 1e-5;

    private static SparkSession spark() {
        return SparkTestSession.get();
    }

    static final String[] WORDS = {
        "the",
        "movie",
        "was",
        "great",
        "terrible",
        "food",
        "service",
        "i",
        "loved",
        "it",
        "never",
        "again",
        "phone",
        "battery",
        "works",
        "fine",
        "and",
        "but",
        "very",
        "bad",
        "unbelievable"
    };

    /** Texts of varied length, in a shuffled order, with ids 0..n-1 in that shuffled order. */
    static List<String> sentences(int n, long seed) {
        Random rnd = new Random(seed);
        List<String> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int len = 1 + rnd.nextInt(i % 5 == 0 ? 30 : 10);
            StringBuilder sb = new StringBuilder();
            for (int w = 0; w < len; w++) {
                sb.append(w == 0 ? "" : " ").append(WORDS[rnd.nextInt(WORDS.length)]);
            }
            out.add(sb.toString());
        }
        return out;
    }

    static Dataset<Row> frame(List<Integer> ids, List<String> texts, int partitions) {
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < texts.size(); i++) {
            rows.add(RowFactory.create(ids.get(i), texts.get(i)));
        }
        StructType schema =
                new StructType().add("id", DataTypes.IntegerType).add("text", DataTypes.StringType);
        return spark().createDataFrame(rows, schema).coalesce(partitions);
    }

    /** Single-text, unpadded, driver-side inference with the engine. */
    static float[] reference(
            BertModel model, HfTokenizer tok, String text, Pooling pooling, boolean norm) {
        Encoding e = tok.encode(text);
        return BertArrays.embed(model, e, pooling, norm);
    }

    static void assertVector(float[] expected, Vector actual, String what) {
        assertNotNull(actual, what);
        assertEquals(expected.length, actual.size(), what);
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], actual.apply(i), TOL, what + " [" + i + "]");
        }
    }

    @Test
    void paramsHaveDocumentedDefaults() {
        BertEmbeddings e = new BertEmbeddings();
        assertTrue(e.uid().startsWith("bertEmbeddings_"), e.uid());
        assertEquals("default", e.getModel());
        assertEquals("auto", e.getPooling());
        // auto is the built-in's recorded pooling (the default, e5: mean), mean for a directory.
        assertEquals(Pooling.MEAN, e.effectivePooling());
        assertEquals(Pooling.MEAN, e.setModel("minilm-l6-v2").effectivePooling());
        assertEquals(Pooling.CLS, e.setModel("bge-small-en-v1.5").effectivePooling());
        assertEquals(Pooling.MEAN, e.setModel("e5-small-v2").effectivePooling());
        assertEquals(Pooling.MEAN, e.setModel("/models/some-bert").effectivePooling());
        assertEquals(Pooling.CLS, e.setPooling("cls").setModel("default").effectivePooling());
        e.setPooling("auto");
        assertEquals(false, e.getNormalize());
        assertEquals(32, e.getBatchSize());
        assertEquals(8192, e.getWindowSize());
        assertEquals("truncate", e.getOverflow());
        assertEquals("auto", e.getDevice());
        assertEquals("embedding", e.getOutputCol());
        assertEquals("error", e.getHandleInvalid());
        assertThrows(IllegalArgumentException.class, () -> e.setPooling("max"));
        assertThrows(IllegalArgumentException.class, () -> e.setBatchSize(0));
        assertThrows(IllegalArgumentException.class, () -> e.setDevice("tpu"));
        assertThrows(IllegalArgumentException.class, () -> e.setOverflow("drop"));
        BertEmbeddings copy = e.setBatchSize(7).copy(new org.apache.spark.ml.param.ParamMap());
        assertEquals(7, copy.getBatchSize());
        assertEquals(e.uid(), copy.uid());
    }

    @Test
    void outputsEqualSingleTextInferenceInShuffledOrder() {
        Path dir = Fixtures.tinyBert();
        List<String> texts = sentences(120, 42);
        List<Integer> ids = new ArrayList<>();
        for (int i = 0; i < texts.size(); i++) {
            ids.add(i);
        }
        Collections.shuffle(ids, new Random(3));
        List<String> shuffled = new ArrayList<>();
        for (int id : ids) {
            shuffled.add(texts.get(id));
        }
        Dataset<Row> df = frame(ids, shuffled, 3);
        try (BertModel model = BertModel.load(dir, Device.cpu());
                HfTokenizer tok =
                        HfTokenizer.fromDirectory(
                                dir, TokenizerOptions.defaults().withMaxLength(32))) {
            for (Pooling pooling : Pooling.values()) {
                for (boolean norm : new boolean[] {false, true}) {
                    BertEmbeddings stage =
                            new BertEmbeddings()
                                    .setInputCol("text")
                                    .setModel(dir.toString())
                                    .setPooling(pooling.name())
                                    .setNormalize(norm)
                                    .setMaxLength(32)
                                    .setBatchSize(8)
                                    .setMaxTokens(160)
                                    .setWindowSize(17);
                    List<Row> out = stage.transform(df).collectAsList();
                    assertEquals(texts.size(), out.size());
                    for (int i = 0; i < out.size(); i++) {
                        Row r = out.get(i);
                        assertEquals(ids.get(i), r.getInt(0), "row order at " + i);
                        assertEquals(shuffled.get(i), r.getString(1));
                        assertVector(
                                reference(model, tok, shuffled.get(i), pooling, norm),
                                r.getAs("embedding"),
                                pooling + " norm=" + norm + " id " + ids.get(i));
                    }
                }
            }
        }
    }

    @Test
    void defaultModelMatchesEngineAndLoadsOncePerJvm() {
        List<String> texts =
                List.of(
                        "The food was great and the service friendly.",
                        "Battery died after two days, never again.",
                        "ok",
                        "I would not recommend this phone to anyone I know, it broke within a"
                                + " week and support never answered.");
        List<Integer> ids = List.of(0, 1, 2, 3);
        BertEmbeddings stage = new BertEmbeddings().setInputCol("text").setBatchSize(2);
        List<Row> out = stage.transform(frame(ids, texts, 2)).collectAsList();
        stage.transform(frame(ids, texts, 2)).count();
        assertEquals(1, ModelCache.loadCount(ModelSource.location("default"), "cpu"));
        try (BertModel model = BertModel.builtIn(Device.cpu());
                HfTokenizer tok = HfTokenizer.builtIn(TokenizerOptions.defaults())) {
            for (int i = 0; i < texts.size(); i++) {
                float[] expected = reference(model, tok, texts.get(i), Pooling.MEAN, false);
                assertEquals(384, expected.length);
                assertVector(expected, out.get(i).getAs("embedding"), "row " + i);
            }
        }
    }

    /** A built-in named by its id (not "default") is served by the executors' model cache too. */
    @Test
    void aBuiltInByNameMatchesItsEngineOnTheExecutors() {
        List<String> texts = List.of("The food was great.", "Battery died after two days.", "ok");
        List<Integer> ids = List.of(0, 1, 2);
        BertEmbeddings stage =
                new BertEmbeddings().setInputCol("text").setModel("MiniLM-L6-v2").setBatchSize(2);
        List<Row> out = stage.transform(frame(ids, texts, 2)).collectAsList();
        assertEquals(1, ModelCache.loadCount(ModelSource.location("minilm-l6-v2"), "cpu"));
        try (BertModel model = BertModel.builtIn(BuiltInModel.MINILM_L6_V2, Device.cpu());
                HfTokenizer tok =
                        HfTokenizer.builtIn(
                                BuiltInModel.MINILM_L6_V2, TokenizerOptions.defaults())) {
            for (int i = 0; i < texts.size(); i++) {
                float[] expected = reference(model, tok, texts.get(i), Pooling.MEAN, false);
                assertVector(expected, out.get(i).getAs("embedding"), "row " + i);
            }
        }
    }

    @Test
    void invalidTextsFollowHandleInvalid() {
        // "\t\n" is blank too, although Spark's trim (spaces only) would leave it non-empty.
        List<String> texts = new ArrayList<>(List.of("good food", "", "bad phone", "fine", "\t\n"));
        texts.set(3, null);
        Dataset<Row> df = frame(List.of(0, 1, 2, 3, 4), texts, 2);
        BertEmbeddings stage =
                new BertEmbeddings()
                        .setInputCol("text")
                        .setModel(Fixtures.tinyBert().toString())
                        .setMaxLength(32);
        SparkException e =
                assertThrows(SparkException.class, () -> stage.transform(df).collectAsList());
        String msg = rootMessage(e);
        assertTrue(msg.contains("column 'text'") && msg.contains("handleInvalid"), msg);

        List<Row> kept = stage.setHandleInvalid("keep").transform(df).collectAsList();
        assertEquals(5, kept.size());
        assertNotNull(kept.get(0).getAs("embedding"));
        assertNull(kept.get(1).getAs("embedding"));
        assertNotNull(kept.get(2).getAs("embedding"));
        assertNull(kept.get(3).getAs("embedding"));
        assertNull(kept.get(4).getAs("embedding"));

        List<Row> skipped = stage.setHandleInvalid("skip").transform(df).collectAsList();
        assertEquals(2, skipped.size());
        assertEquals(0, skipped.get(0).getInt(0));
        assertEquals(2, skipped.get(1).getInt(0));
        assertEquals((Vector) kept.get(2).getAs("embedding"), skipped.get(1).getAs("embedding"));
    }

    @Test
    void aDottedInputColumnIsTakenLiterallyWhenSkipping() {
        Dataset<Row> df =
                frame(List.of(0, 1, 2), List.of("good food", " ", "bad phone"), 1)
                        .withColumnRenamed("text", "review.text");
        BertEmbeddings stage =
                new BertEmbeddings()
                        .setInputCol("review.text")
                        .setModel(Fixtures.tinyBert().toString())
                        .setMaxLength(32)
                        .setHandleInvalid("skip");
        List<Row> out = stage.transform(df).collectAsList();
        assertEquals(2, out.size());
        assertEquals(2, out.get(1).getInt(0));
    }

    private static String rootMessage(Throwable t) {
        StringBuilder sb = new StringBuilder();
        for (Throwable c = t; c != null; c = c.getCause()) {
            sb.append(c.getMessage()).append(" | ");
        }
        return sb.toString();
    }

    @Test
    void schemaErrorsNameTheParam() {
        Dataset<Row> df = frame(List.of(0), List.of("x"), 1);
        BertEmbeddings stage = new BertEmbeddings();
        IllegalArgumentException e =
                assertThrows(
                        IllegalArgumentException.class, () -> stage.transformSchema(df.schema()));
        assertTrue(e.getMessage().contains("inputCol"), e.getMessage());
        e =
                assertThrows(
                        IllegalArgumentException.class,
                        () -> stage.setInputCol("review").transform(df));
        assertTrue(e.getMessage().contains("'review'"), e.getMessage());
        e =
                assertThrows(
                        IllegalArgumentException.class,
                        () -> stage.setInputCol("id").transform(df));
        assertTrue(e.getMessage().contains("must be of type string"), e.getMessage());
        e =
                assertThrows(
                        IllegalArgumentException.class,
                        () -> stage.setInputCol("text").setOutputCol("id").transform(df));
        assertTrue(e.getMessage().contains("outputCol"), e.getMessage());
        e =
                assertThrows(
                        IllegalArgumentException.class,
                        () ->
                                stage.setOutputCol("v")
                                        .setPairCol("text")
                                        .setOverflow("window")
                                        .transformSchema(df.schema()));
        assertTrue(e.getMessage().contains("overflow=window"), e.getMessage());
        StructType ok = stage.setPairCol("").transformSchema(df.schema());
        assertEquals("vector", ok.apply("v").dataType().typeName());
    }

    @Test
    void windowOverflowEmbedsLongTextsAsMeanOfWindows() {
        String longText = String.join(" ", sentences(40, 8));
        List<String> texts = List.of("short text", longText);
        Dataset<Row> df = frame(List.of(0, 1), texts, 1);
        BertEmbeddings base =
                new BertEmbeddings()
                        .setInputCol("text")
                        .setModel(Fixtures.tinyBert().toString())
                        .setMaxLength(32)
                        .setStride(4);
        List<Row> trunc = base.transform(df).collectAsList();
        List<Row> win = base.setOverflow("window").transform(df).collectAsList();
        assertEquals((Vector) trunc.get(0).getAs("embedding"), win.get(0).getAs("embedding"));
        Vector a = trunc.get(1).getAs("embedding");
        Vector b = win.get(1).getAs("embedding");
        assertTrue(
                org.apache.spark.ml.linalg.Vectors.sqdist(a, b) > 1e-6,
                "window mode should differ from truncation on a long text");
    }

    @Test
    void windowStrideTooLargeForAShortModelNamesStageAndStride() {
        Dataset<Row> df = frame(List.of(0), List.of("short text"), 1);
        BertEmbeddings stage =
                new BertEmbeddings()
                        .setInputCol("text")
                        .setModel(Fixtures.tinyBert().toString())
                        .setMaxLength(512)
                        .setOverflow("window")
                        .setStride(200);
        // 200 < 512 - 2 passes the schema check; the model's 128 positions only show up at scoring
        stage.transformSchema(df.schema());
        Exception e = assertThrows(Exception.class, () -> stage.transform(df).collectAsList());
        Throwable root = e;
        while (root.getCause() != null) {
            root = root.getCause();
        }
        String m = root.getMessage();
        assertTrue(m.startsWith(stage.stageName() + ": stride=200 "), m);
        assertTrue(m.contains("max_position_embeddings is 128"), m);
        assertTrue(m.contains("stride must be below 126; lower stride"), m);
    }

    @Test
    void saveLoadAloneAndInsidePipeline(@TempDir Path tmp) throws IOException {
        BertEmbeddings stage =
                new BertEmbeddings()
                        .setInputCol("text")
                        .setModel(Fixtures.tinyBert().toString())
                        .setPooling("cls")
                        .setNormalize(true)
                        .setMaxLength(32)
                        .setBatchSize(5)
                        .setOutputCol("vec");
        spark();
        String path = tmp.resolve("stage").toString();
        stage.save(path);
        assertThrows(IOException.class, () -> stage.save(path));
        BertEmbeddings loaded = BertEmbeddings.load(path);
        assertEquals(stage.uid(), loaded.uid());
        assertEquals("cls", loaded.getPooling());
        assertEquals(true, loaded.getNormalize());
        assertEquals(5, loaded.getBatchSize());
        assertEquals("vec", loaded.getOutputCol());

        Dataset<Row> df = frame(List.of(0, 1, 2), sentences(3, 1), 1);
        PipelineModel pm = new Pipeline().setStages(new PipelineStage[] {stage}).fit(df);
        String pmPath = tmp.resolve("pipeline").toString();
        pm.save(pmPath);
        List<Row> before = pm.transform(df).collectAsList();
        List<Row> after = PipelineModel.load(pmPath).transform(df).collectAsList();
        for (int i = 0; i < 3; i++) {
            assertEquals((Vector) before.get(i).getAs("vec"), after.get(i).getAs("vec"));
        }
    }

    /** Proof of use: default model + mean pooling + MLlib logistic regression, one Pipeline. */
    @Test
    void embeddingsFeedLogisticRegressionInOnePipeline() {
        Dataset<Row> yelp =
                SentimentData.load(spark()).filter(functions.col("source").equalTo("yelp"));
        SentimentData.Split split = SentimentData.split(yelp, 0.8, 7);
        Pipeline pipeline =
                new Pipeline()
                        .setStages(
                                new PipelineStage[] {
                                    new BertEmbeddings()
                                            .setInputCol("text")
                                            .setOutputCol("features"),
                                    new LogisticRegression().setMaxIter(200).setRegParam(0.01)
                                });
        PipelineModel model = pipeline.fit(split.train());
        Dataset<Row> scored = model.transform(split.test());
        double accuracy =
                new MulticlassClassificationEvaluator().setMetricName("accuracy").evaluate(scored);
        long n = scored.count();
        assertEquals(200, n);
        // Chance is 0.5; TF-IDF + LR reaches about 0.83 on the whole corpus.
        assertTrue(accuracy > 0.8, "accuracy " + accuracy);
        System.out.printf("BertEmbeddings+LR on yelp subset: accuracy %.3f (n=%d)%n", accuracy, n);
    }
}
