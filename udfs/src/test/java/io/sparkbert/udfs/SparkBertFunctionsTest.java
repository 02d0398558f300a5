package io.sparkbert.udfs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.sparkbert.bert.BertModel;
import io.sparkbert.bert.Encoding;
import io.sparkbert.bert.HfTokenizer;
import io.sparkbert.bert.Pooling;
import io.sparkbert.bert.TokenizerOptions;
import io.sparkbert.testing.BertArrays;
import io.sparkbert.testing.Fixtures;
import io.sparkbert.testing.SparkTestSession;
import java.lang.reflect.Field;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.TaskContext;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class SparkBertFunctionsTest {
    private static final StructType SCHEMA =
            new StructType().add("id", DataTypes.IntegerType).add("text", DataTypes.StringType);

    private static SparkSession spark;
    private static JsonObject golden;

    @BeforeAll
    static void setUp() throws Exception {
        spark = SparkTestSession.get();
        golden =
                JsonParser.parseString(Files.readString(Fixtures.tinyBert().resolve("golden.json")))
                        .getAsJsonObject();
        SparkBertFunctions.register(spark, "tiny", Fixtures.tinyBert().toString());
    }

    /** Tests that register another model take the bert_* names from tinybert; give them back. */
    @AfterEach
    void registerTinyAgain() {
        SparkBertFunctions.register(spark, "tiny", Fixtures.tinyBert().toString());
    }

    private static List<String> evalTexts() {
        List<String> texts = new ArrayList<>();
        for (var t : golden.getAsJsonObject("eval").getAsJsonArray("texts")) {
            texts.add(t.getAsString());
        }
        return texts;
    }

    private static void view(String name, List<String> texts, int partitions) {
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < texts.size(); i++) {
            rows.add(RowFactory.create(i, texts.get(i)));
        }
        spark.createDataFrame(rows, SCHEMA).repartition(partitions).createOrReplaceTempView(name);
    }

    @Test
    void classifyMatchesTheHuggingFaceReferenceAndIsBatched() {
        List<String> texts = evalTexts();
        view("eval_texts", texts, 2);
        Dataset<Row> out =
                spark.sql(
                        "SELECT id, bert_classify(text) AS c, tiny_classify(text).predictedLabel AS l"
                                + " FROM eval_texts");
        String plan = out.queryExecution().executedPlan().toString();
        assertTrue(plan.contains("BatchedInference[bert_classify]"), plan);
        assertTrue(plan.contains("BatchedInference[tiny_classify]"), plan);
        List<Row> rows = out.collectAsList();
        assertEquals(texts.size(), rows.size());
        JsonArray probs = golden.getAsJsonObject("eval").getAsJsonArray("probs");
        for (Row r : rows) {
            int id = r.getInt(0);
            Row c = r.getStruct(1);
            List<Double> p = c.getList(2);
            JsonArray expected = probs.get(id).getAsJsonArray();
            assertEquals(expected.size(), p.size());
            int best = 0;
            for (int k = 0; k < p.size(); k++) {
                assertEquals(expected.get(k).getAsDouble(), p.get(k), 1e-4, "text " + id);
                if (expected.get(k).getAsDouble() > expected.get(best).getAsDouble()) {
                    best = k;
                }
            }
            assertEquals(best, c.getDouble(1), 0.0);
            assertEquals("LABEL_" + best, c.getString(0));
            assertEquals(c.getString(0), r.getString(2));
        }
    }

    /** The message of the error that analysing {@code query} fails with (no job runs). */
    private static String analysisError(String query) {
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> spark.sql(query));
        return e.getMessage();
    }

    @Test
    void nonStringArgumentInAProjectionFailsAtAnalysisNamingFunctionTypeAndCast() {
        view("typed_texts", evalTexts(), 2);
        assertEquals(
                "bert_tokenize takes a STRING argument, but 42 is INT; to use its text form,"
                        + " cast it: bert_tokenize(CAST(42 AS STRING)).",
                analysisError("SELECT bert_tokenize(42)"));
        assertEquals(
                "bert_embed takes a STRING argument, but 42 is INT; to use its text form,"
                        + " cast it: bert_embed(CAST(42 AS STRING)).",
                analysisError("SELECT bert_embed(42)"));
        assertEquals(
                "bert_classify takes a STRING argument, but typed_texts.id is INT; to use its"
                        + " text form, cast it: bert_classify(CAST(typed_texts.id AS STRING)).",
                analysisError("SELECT id, bert_classify(id) FROM typed_texts"));
        assertEquals(
                "tiny_embed takes a STRING argument, but 1.5D is DOUBLE; to use its text form,"
                        + " cast it: tiny_embed(CAST(1.5D AS STRING)).",
                analysisError("SELECT tiny_embed(1.5D) FROM typed_texts"));
        // the suggested cast works and scores the text form
        List<Row> cast =
                spark.sql("SELECT bert_embed(CAST(42 AS STRING)), bert_embed('42')")
                        .collectAsList();
        assertEquals(cast.get(0).getList(1), cast.get(0).getList(0));
        assertEquals(32, cast.get(0).getList(0).size());
        // an untyped NULL still gives NULL
        assertNull(spark.sql("SELECT bert_embed(NULL)").collectAsList().get(0).get(0));
    }

    @Test
    void nonStringArgumentInAFilterFailsAtAnalysisToo() {
        view("typed_texts2", evalTexts(), 2);
        assertEquals(
                "bert_classify takes a STRING argument, but typed_texts2.id is INT; to use its"
                        + " text form, cast it: bert_classify(CAST(typed_texts2.id AS STRING)).",
                analysisError(
                        "SELECT id FROM typed_texts2 WHERE bert_classify(id).prediction = 1"));
        assertEquals(
                "bert_tokenize takes a STRING argument, but typed_texts2.id is INT; to use its"
                        + " text form, cast it: bert_tokenize(CAST(typed_texts2.id AS STRING)).",
                analysisError(
                        "SELECT id FROM typed_texts2 WHERE size(bert_tokenize(id).tokens) > 2"));
        assertEquals(
                "bert_embed takes a STRING argument, but x is INT; to use its text form,"
                        + " cast it: bert_embed(CAST(x AS STRING)).",
                analysisError("SELECT transform(array(1, 2), x -> bert_embed(x))"));
    }

    @Test
    void callsOutsideAProjectionGiveTheSameValuesRowByRow() {
        view("eval_texts2", evalTexts(), 2);
        List<Row> batched =
                spark.sql(
                                "SELECT id FROM (SELECT id, bert_classify(text).prediction AS p"
                                        + " FROM eval_texts2) WHERE p = 1 ORDER BY id")
                        .collectAsList();
        Dataset<Row> filtered =
                spark.sql(
                        "SELECT id FROM eval_texts2 WHERE bert_classify(text).prediction = 1"
                                + " ORDER BY id");
        assertEquals(batched, filtered.collectAsList());
        assertTrue(!batched.isEmpty());
    }

    @Test
    void embedEqualsDriverSideMeanPoolingAndKeepsNulls() {
        SparkBertFunctions.register(spark, "mini", "default");
        List<String> texts = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
            texts.add(
                    i % 7 == 3 ? null : "sentence number " + i + (i % 2 == 0 ? " is longer" : ""));
        }
        view("embed_texts", texts, 3);
        Dataset<Row> out = spark.sql("SELECT id, mini_embed(text) AS e FROM embed_texts");
        assertTrue(
                out.queryExecution().executedPlan().toString().contains("BatchedInference"),
                "embedding calls must be planned batched");
        List<Row> rows = out.collectAsList();
        assertEquals(texts.size(), rows.size());
        try (BertModel model = BertModel.builtIn(Device.cpu());
                HfTokenizer tok = HfTokenizer.builtIn(TokenizerOptions.defaults())) {
            for (Row r : rows) {
                String text = texts.get(r.getInt(0));
                if (text == null) {
                    assertNull(r.get(1));
                    continue;
                }
                assertEquals(384, r.getList(1).size());
                assertDriverEmbedding(model, tok.encode(text), r);
            }
        }
    }

    /** Row (id, embedding) equals the driver's mean-pooled, normalised vector within 1e-5. */
    private static void assertDriverEmbedding(BertModel model, Encoding e, Row r) {
        float[] expected = BertArrays.embed(model, e, Pooling.MEAN, true);
        List<Double> got = r.getList(1);
        assertEquals(expected.length, got.size());
        for (int k = 0; k < expected.length; k++) {
            assertEquals(expected[k], got.get(k), 1e-5, "row " + r.getInt(0));
        }
    }

    @Test
    void tokenizeGivesTheReferenceIds() {
        Row r = spark.sql("SELECT bert_tokenize('COVID-19 pandemic') AS t").first().getStruct(0);
        assertEquals(List.of(101, 2522, 17258, 1011, 2539, 6090, 3207, 7712, 102), r.getList(1));
        assertEquals(
                List.of("[CLS]", "co", "##vid", "-", "19", "pan", "##de", "##mic", "[SEP]"),
                r.getList(0));
        assertNull(spark.sql("SELECT bert_tokenize(CAST(NULL AS STRING))").first().get(0));
    }

    @Test
    void classifyWithoutAHeadFailsClearly() {
        SparkBertFunctions.register(spark, "encoderonly", "default");
        Exception e =
                assertThrows(
                        Exception.class,
                        () -> spark.sql("SELECT encoderonly_classify('hi')").collectAsList());
        Throwable root = e;
        while (root.getCause() != null
                && !(root instanceof IllegalArgumentException
                        && root.getMessage().contains("no classification head"))) {
            root = root.getCause();
        }
        assertNotNull(root.getMessage());
        assertTrue(root.getMessage().contains("no classification head"), e.toString());
    }

    /** The innermost cause whose message contains {@code fragment}, or null. */
    private static Throwable causeWith(Throwable e, String fragment) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t.getMessage() != null && t.getMessage().contains(fragment)) {
                return t;
            }
        }
        return null;
    }

    @Test
    void aNameRegisteredAgainIsNeverScoredWithTheModelItReplaced() {
        view("again_texts", List.of("a good film", "a bad film"), 1);
        String query = "SELECT id, bert_classify(text).predictedLabel FROM again_texts";
        Dataset<Row> analysedBefore = spark.sql(query);
        // bert_classify now belongs to a model without a head: the batched projection must
        // fail as the row-by-row call does, not go on with tinybert's classifier.
        SparkBertFunctions.register(spark, "headless", "default");
        Exception e = assertThrows(Exception.class, () -> spark.sql(query).collectAsList());
        assertNotNull(causeWith(e, "no classification head"), e.toString());
        // A plan analysed before keeps the function it was analysed with, on both paths.
        assertEquals(2, analysedBefore.collectAsList().size());

        // A user function registered under one of the names is the user's function.
        spark.udf()
                .register(
                        "tiny_embed",
                        (org.apache.spark.sql.api.java.UDF1<String, List<Double>>)
                                t -> List.of(1.0, 2.0),
                        SparkBertFunctions.EMBED_TYPE);
        Dataset<Row> mine = spark.sql("SELECT tiny_embed(text) FROM again_texts");
        assertTrue(
                !mine.queryExecution().executedPlan().toString().contains("BatchedInference"),
                mine.queryExecution().executedPlan().toString());
        for (Row r : mine.collectAsList()) {
            assertEquals(List.of(1.0, 2.0), r.getList(0));
        }

        // A wrong argument count is still refused when the query is analysed.
        Exception arity =
                assertThrows(
                        Exception.class,
                        () -> spark.sql("SELECT bert_embed(text, text) FROM again_texts"));
        assertNotNull(causeWith(arity, "bert_embed"), arity.toString());
    }

    @Test
    void callsInsideALambdaAreScoredRowByRow() {
        List<String> texts = evalTexts();
        view("lambda_texts", texts, 2);
        List<Row> rows =
                spark.sql(
                                "SELECT id, transform(array(text, 'x'), t -> tiny_classify(t)),"
                                        + " tiny_classify(text), tiny_classify('x')"
                                        + " FROM lambda_texts ORDER BY id")
                        .collectAsList();
        assertEquals(texts.size(), rows.size());
        for (Row r : rows) {
            List<Row> inLambda = r.getList(1);
            assertSameClass(r.getStruct(2), inLambda.get(0), "row " + r.getInt(0));
            assertSameClass(r.getStruct(3), inLambda.get(1), "'x' in row " + r.getInt(0));
        }
    }

    /** Two bert_classify results agree (batched and row-by-row pad differently: 1e-6). */
    private static void assertSameClass(Row expected, Row actual, String what) {
        assertNotNull(actual, what);
        assertEquals(expected.getString(0), actual.getString(0), what);
        List<Double> p = expected.getList(2);
        List<Double> q = actual.getList(2);
        assertEquals(p.size(), q.size(), what);
        for (int k = 0; k < p.size(); k++) {
            assertEquals(p.get(k), q.get(k), 1e-6, what);
        }
    }

    @Test
    void rowByRowCallsLeaveNothingForTheEndOfTheTask() {
        // How many task-completion callbacks the calling task holds (TaskContextImpl's private
        // stack: read by reflection, for this test only).
        spark.udf()
                .register(
                        "task_callbacks",
                        (org.apache.spark.sql.api.java.UDF1<String, Integer>)
                                t -> {
                                    TaskContext ctx = TaskContext.get();
                                    Field f =
                                            ctx.getClass().getDeclaredField("onCompleteCallbacks");
                                    f.setAccessible(true);
                                    Object callbacks = f.get(ctx);
                                    return (Integer)
                                            callbacks
                                                    .getClass()
                                                    .getMethod("size")
                                                    .invoke(callbacks);
                                },
                        DataTypes.IntegerType);
        Row r =
                spark.sql(
                                "SELECT count(*), max(task_callbacks(t)) FROM (SELECT CAST(id AS"
                                        + " STRING) t FROM range(0, 2000, 1, 1))"
                                        + " WHERE size(tiny_embed(t)) > 0")
                        .first();
        assertEquals(2000L, r.getLong(0));
        // Before, every row left its scorer (window, scores, native scope) to the task's end.
        assertTrue(r.getInt(1) < 10, "callbacks held by the task: " + r.getInt(1));
    }

    @Test
    void batchingAndTruncationComeFromTheSessionConf() {
        try {
            spark.conf().set(SparkBertFunctions.CONF_MAX_LENGTH, "6");
            spark.conf().set(SparkBertFunctions.CONF_BATCH_SIZE, "2");
            spark.conf().set(SparkBertFunctions.CONF_WINDOW_SIZE, "3");
            spark.conf().set(SparkBertFunctions.CONF_DEVICE, "cpu");
            SparkBertFunctions.register(spark, "short6", "default");
            Row t = spark.sql("SELECT short6_tokenize('COVID-19 pandemic')").first().getStruct(0);
            assertEquals(List.of(101, 2522, 17258, 1011, 2539, 102), t.getList(1));

            List<String> texts =
                    List.of(
                            "a rather long sentence that is cut after four word pieces",
                            "short",
                            "another sentence with many more tokens than six",
                            "two words",
                            "and one more for an odd count");
            view("short_texts", texts, 2);
            List<Row> rows =
                    spark.sql("SELECT id, short6_embed(text) FROM short_texts").collectAsList();
            assertEquals(texts.size(), rows.size());
            try (BertModel model = BertModel.builtIn(Device.cpu());
                    HfTokenizer tok =
                            HfTokenizer.builtIn(TokenizerOptions.defaults().withMaxLength(6))) {
                for (Row r : rows) {
                    Encoding e = tok.encode(texts.get(r.getInt(0)));
                    assertTrue(e.inputIds().length <= 6);
                    assertDriverEmbedding(model, e, r);
                }
            }

            spark.conf().set(SparkBertFunctions.CONF_BATCH_SIZE, "0");
            IllegalArgumentException bad =
                    assertThrows(
                            IllegalArgumentException.class,
                            () -> SparkBertFunctions.register(spark, "bad", "default"));
            assertTrue(
                    bad.getMessage().contains(SparkBertFunctions.CONF_BATCH_SIZE)
                            && bad.getMessage().contains("'0'")
                            && bad.getMessage().contains("1..65536"),
                    bad.getMessage());
            spark.conf().unset(SparkBertFunctions.CONF_BATCH_SIZE);
            spark.conf().set(SparkBertFunctions.CONF_DEVICE, "tpu");
            bad =
                    assertThrows(
                            IllegalArgumentException.class,
                            () -> SparkBertFunctions.register(spark, "bad", "default"));
            assertTrue(
                    bad.getMessage().contains(SparkBertFunctions.CONF_DEVICE)
                            && bad.getMessage().contains("'tpu'"),
                    bad.getMessage());
        } finally {
            for (String key :
                    List.of(
                            SparkBertFunctions.CONF_MAX_LENGTH,
                            SparkBertFunctions.CONF_BATCH_SIZE,
                            SparkBertFunctions.CONF_WINDOW_SIZE,
                            SparkBertFunctions.CONF_DEVICE)) {
                spark.conf().unset(key);
            }
            SparkBertFunctions.register(spark, "tiny", Fixtures.tinyBert().toString());
        }
    }

    @Test
    void badNamesAndModelsAreRefused() {
        IllegalArgumentException e =
                assertThrows(
                        IllegalArgumentException.class,
                        () -> SparkBertFunctions.register(spark, "my-model", "default"));
        assertTrue(e.getMessage().contains("'my-model'"), e.getMessage());
        e =
                assertThrows(
                        IllegalArgumentException.class,
                        () -> SparkBertFunctions.register(spark, "x", Fixtures.root().toString()));
        assertTrue(e.getMessage().contains("config.json"), e.getMessage());
    }
}
