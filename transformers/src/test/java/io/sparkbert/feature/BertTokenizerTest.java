package io.sparkbert.feature;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkbert.inference.TokenizerCache;
import io.sparkbert.testing.Fixtures;
import io.sparkbert.testing.SparkTestSession;
import io.sparkbert.testing.TokenizerGolden;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;
import org.apache.spark.ml.Pipeline;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.PipelineStage;
import org.apache.spark.ml.param.Param;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import scala.collection.JavaConverters;

/** The {@link BertTokenizer} stage on a local[2] session. */
class BertTokenizerTest {
    private static final TokenizerGolden GOLDEN = TokenizerGolden.load();

    private static SparkSession spark() {
        return SparkTestSession.get();
    }

    private static Dataset<Row> texts(List<String> texts) {
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < texts.size(); i++) {
            rows.add(RowFactory.create(i, texts.get(i)));
        }
        StructType schema =
                new StructType().add("id", DataTypes.IntegerType).add("text", DataTypes.StringType);
        return spark().createDataFrame(rows, schema).repartition(2);
    }

    private static Dataset<Row> pairs(List<String> a, List<String> b) {
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < a.size(); i++) {
            rows.add(RowFactory.create(i, a.get(i), b.get(i)));
        }
        StructType schema =
                new StructType()
                        .add("id", DataTypes.IntegerType)
                        .add("a", DataTypes.StringType)
                        .add("b", DataTypes.StringType);
        return spark().createDataFrame(rows, schema).repartition(2);
    }

    private static long[] longs(Row row, String column) {
        List<Integer> list = row.getList(row.fieldIndex(column));
        return list.stream().mapToLong(Integer::longValue).toArray();
    }

    private static List<Row> sorted(Dataset<Row> df) {
        return df.orderBy("id").collectAsList();
    }

    @Test
    void paramsDefaultsAndValidation() {
        BertTokenizer t = new BertTokenizer();
        assertTrue(t.uid().startsWith("bertTok_"), t.uid());
        assertFalse(t.isDefined(t.inputCol()));
        assertEquals("", t.getPairCol());
        assertEquals("default", t.getModel());
        assertEquals(512, t.getMaxLength());
        assertEquals("longest_first", t.getTruncation());
        assertEquals("none", t.getPadding());
        assertTrue(t.getAddSpecialTokens());
        assertEquals("tokens", t.getTokensCol());
        assertEquals("input_ids", t.getInputIdsCol());
        assertEquals("attention_mask", t.getAttentionMaskCol());
        assertEquals("token_type_ids", t.getTokenTypeIdsCol());
        assertEquals("error", t.getHandleInvalid());
        List<String> names =
                Arrays.stream(t.params()).map(Param::name).sorted().collect(Collectors.toList());
        assertEquals(
                List.of(
                        "addSpecialTokens",
                        "attentionMaskCol",
                        "handleInvalid",
                        "inputCol",
                        "inputIdsCol",
                        "maxLength",
                        "model",
                        "padding",
                        "pairCol",
                        "tokenTypeIdsCol",
                        "tokensCol",
                        "truncation"),
                names);
        for (Param<?> p : t.params()) {
            assertEquals(t.uid(), p.parent());
            assertFalse(p.doc().isEmpty());
        }
        assertThrows(IllegalArgumentException.class, () -> t.setTruncation("true"));
        assertThrows(IllegalArgumentException.class, () -> t.setPadding("longest"));
        assertThrows(IllegalArgumentException.class, () -> t.setMaxLength(0));
        assertThrows(IllegalArgumentException.class, () -> t.setHandleInvalid("ignore"));
        assertThrows(IllegalArgumentException.class, () -> t.setModel(" "));
        assertThrows(IllegalArgumentException.class, () -> t.setInputCol(""));
        BertTokenizer copy = t.setMaxLength(64).copy(new org.apache.spark.ml.param.ParamMap());
        assertEquals(t.uid(), copy.uid());
        assertEquals(64, copy.getMaxLength());
    }

    @Test
    void goldenSingleTextsWithBuiltInAndVocabDirectory() {
        List<String> texts = GOLDEN.single.stream().map(c -> c.text).collect(Collectors.toList());
        for (String model : new String[] {"default", Fixtures.tinyBert().toString()}) {
            // The stage treats "" as invalid (handleInvalid); keep gives it null outputs.
            List<Row> rows =
                    sorted(
                            new BertTokenizer()
                                    .setInputCol("text")
                                    .setModel(model)
                                    .setHandleInvalid("keep")
                                    .transform(texts(texts)));
            assertEquals(texts.size(), rows.size());
            for (int i = 0; i < rows.size(); i++) {
                TokenizerGolden.Single c = GOLDEN.single.get(i);
                Row r = rows.get(i);
                assertEquals(c.text, r.getString(1));
                if (c.text.isEmpty()) {
                    assertNull(r.get(r.fieldIndex("input_ids")));
                    continue;
                }
                assertArrayEquals(c.encoding.inputIds, longs(r, "input_ids"), c.text);
                assertArrayEquals(c.encoding.attentionMask, longs(r, "attention_mask"), c.text);
                assertArrayEquals(c.encoding.tokenTypeIds, longs(r, "token_type_ids"), c.text);
                List<String> expectedTokens = new ArrayList<>();
                expectedTokens.add("[CLS]");
                expectedTokens.addAll(c.tokens);
                expectedTokens.add("[SEP]");
                assertEquals(expectedTokens, r.getList(r.fieldIndex("tokens")), c.text);
            }
        }
    }

    @Test
    void goldenPairs() {
        for (TokenizerGolden.Pair c : GOLDEN.pair) {
            BertTokenizer t = new BertTokenizer().setInputCol("a").setPairCol("b");
            if (c.kwargs.maxLength != null) {
                t.setMaxLength(c.kwargs.maxLength);
            }
            t.setTruncation(
                    c.kwargs.truncation != null
                            ? c.kwargs.truncation
                            : c.kwargs.maxLength != null ? "longest_first" : "none");
            t.setPadding(c.kwargs.padding == null ? "none" : c.kwargs.padding);
            Dataset<Row> df = pairs(List.of(c.a), List.of(c.b));
            if (c.error != null) {
                Exception e = assertThrows(Exception.class, () -> t.transform(df).collectAsList());
                assertTrue(causeMessages(e).contains(c.error), causeMessages(e));
                continue;
            }
            Row r = t.transform(df).collectAsList().get(0);
            assertArrayEquals(c.encoding.inputIds, longs(r, "input_ids"), c.a + c.kwargs);
            assertArrayEquals(c.encoding.tokenTypeIds, longs(r, "token_type_ids"));
            assertArrayEquals(c.encoding.attentionMask, longs(r, "attention_mask"));
        }
    }

    @Test
    void goldenFixedLengthBatch() {
        // batch[2]: padding max_length 16.
        TokenizerGolden.Batch c = GOLDEN.batch.get(2);
        assertEquals("max_length", c.kwargs.padding);
        List<Row> rows =
                sorted(
                        new BertTokenizer()
                                .setInputCol("text")
                                .setPadding("max_length")
                                .setMaxLength(c.kwargs.maxLength)
                                .setTokensCol("")
                                .transform(texts(c.texts)));
        for (int i = 0; i < rows.size(); i++) {
            assertArrayEquals(c.encodings.get(i).inputIds, longs(rows.get(i), "input_ids"));
            assertArrayEquals(
                    c.encodings.get(i).attentionMask, longs(rows.get(i), "attention_mask"));
            assertEquals(-1, Arrays.asList(rows.get(i).schema().fieldNames()).indexOf("tokens"));
        }
    }

    @Test
    void saveLoadRoundTripAloneAndInPipeline(@TempDir Path dir) throws Exception {
        BertTokenizer t =
                new BertTokenizer()
                        .setInputCol("text")
                        .setModel(Fixtures.tinyBert().toString())
                        .setMaxLength(6)
                        .setPadding("max_length")
                        .setAttentionMaskCol("mask")
                        .setHandleInvalid("keep");
        String path = dir.resolve("tok").toString();
        t.write().save(path);
        BertTokenizer loaded = BertTokenizer.load(path);
        assertEquals(t.uid(), loaded.uid());
        for (Param<?> p : t.params()) {
            assertEquals(
                    t.getOrDefault(p), loaded.getOrDefault(loaded.getParam(p.name())), p.name());
        }
        assertThrows(IOException.class, () -> t.write().save(path));
        t.write().overwrite().save(path);

        Dataset<Row> df = texts(List.of("COVID-19 pandemic", "short sentence"));
        List<Row> expected = sorted(t.transform(df));
        assertEquals(
                List.of(101L, 2522L, 17258L, 1011L, 2539L, 102L),
                Arrays.stream(longs(expected.get(0), "input_ids"))
                        .boxed()
                        .collect(Collectors.toList()));
        assertEquals(expected, sorted(loaded.transform(df)));

        PipelineModel pm = new Pipeline().setStages(new PipelineStage[] {t}).fit(df);
        String pmPath = dir.resolve("pipeline").toString();
        pm.write().save(pmPath);
        assertThrows(IOException.class, () -> pm.write().save(pmPath));
        PipelineModel pmLoaded = PipelineModel.load(pmPath);
        assertTrue(pmLoaded.stages()[0] instanceof BertTokenizer);
        assertEquals(expected, sorted(pmLoaded.transform(df)));
    }

    @Test
    void schemaErrorsNameStageColumnAndFix() {
        Dataset<Row> df = texts(List.of("x"));
        StructType schema = df.schema();
        String msg =
                assertThrows(
                                IllegalArgumentException.class,
                                () -> new BertTokenizer("bertTok_1").transformSchema(schema))
                        .getMessage();
        assertEquals(
                "BertTokenizer[bertTok_1]: param inputCol is not set; call setInputCol(\"text\").",
                msg);
        msg =
                assertThrows(
                                IllegalArgumentException.class,
                                () ->
                                        new BertTokenizer("bertTok_1")
                                                .setInputCol("txt")
                                                .transformSchema(schema))
                        .getMessage();
        assertEquals(
                "BertTokenizer[bertTok_1]: input column 'txt' (param inputCol) does not exist;"
                        + " available columns: [id, text]. Set inputCol to one of them.",
                msg);
        msg =
                assertThrows(
                                IllegalArgumentException.class,
                                () ->
                                        new BertTokenizer("bertTok_1")
                                                .setInputCol("id")
                                                .transformSchema(schema))
                        .getMessage();
        assertEquals(
                "BertTokenizer[bertTok_1]: input column 'id' (param inputCol) must be of type"
                        + " string but is int; cast it first, e.g. col(\"id\").cast(\"string\").",
                msg);
        msg =
                assertThrows(
                                IllegalArgumentException.class,
                                () ->
                                        new BertTokenizer("bertTok_1")
                                                .setInputCol("text")
                                                .setTokensCol("text")
                                                .transformSchema(schema))
                        .getMessage();
        assertEquals(
                "BertTokenizer[bertTok_1]: output column 'text' (param tokensCol) already exists;"
                        + " choose another name with setTokensCol(...) or drop the column first.",
                msg);
        msg =
                assertThrows(
                                IllegalArgumentException.class,
                                () ->
                                        new BertTokenizer("bertTok_1")
                                                .setInputCol("text")
                                                .setTokensCol("")
                                                .setInputIdsCol("")
                                                .setAttentionMaskCol("")
                                                .setTokenTypeIdsCol("")
                                                .transformSchema(schema))
                        .getMessage();
        assertTrue(msg.contains("every output column is off"), msg);
        msg =
                assertThrows(
                                IllegalArgumentException.class,
                                () ->
                                        new BertTokenizer("bertTok_1")
                                                .setInputCol("text")
                                                .setModel("/no/such/model")
                                                .transformSchema(schema))
                        .getMessage();
        assertTrue(
                msg.startsWith(
                        "BertTokenizer[bertTok_1]: param model: Model directory /no/such/model"),
                msg);

        StructType ok = new BertTokenizer().setInputCol("text").transformSchema(schema);
        assertEquals(
                List.of("id", "text", "tokens", "input_ids", "attention_mask", "token_type_ids"),
                Arrays.asList(ok.fieldNames()));
        assertEquals(
                DataTypes.createArrayType(DataTypes.IntegerType, false),
                ok.apply("input_ids").dataType());
    }

    @Test
    void nullAndEmptyTextUnderEachHandleInvalid() {
        Dataset<Row> df = texts(Arrays.asList("hello", null, "", "   "));
        BertTokenizer t = new BertTokenizer().setInputCol("text");

        Exception e = assertThrows(Exception.class, () -> t.transform(df).collectAsList());
        assertTrue(
                causeMessages(e).contains("encountered a NULL value in column 'text' (inputCol)")
                        || causeMessages(e).contains("encountered an empty value in column 'text'"),
                causeMessages(e));
        assertTrue(causeMessages(e).contains("handleInvalid"), causeMessages(e));

        List<Row> skipped = sorted(t.setHandleInvalid("skip").transform(df));
        assertEquals(
                List.of(0, 3), skipped.stream().map(r -> r.getInt(0)).collect(Collectors.toList()));
        assertArrayEquals(new long[] {101, 102}, longs(skipped.get(1), "input_ids"));

        List<Row> kept = sorted(t.setHandleInvalid("keep").transform(df));
        assertEquals(4, kept.size());
        assertArrayEquals(new long[] {101, 7592, 102}, longs(kept.get(0), "input_ids"));
        for (int i : new int[] {1, 2}) {
            Row r = kept.get(i);
            for (String c :
                    new String[] {"tokens", "input_ids", "attention_mask", "token_type_ids"}) {
                assertNull(r.get(r.fieldIndex(c)), c + " of row " + i);
            }
        }
    }

    @Test
    void columnNamesWithDotsAreTakenLiterally() {
        Dataset<Row> df =
                texts(Arrays.asList("hello", "", "world"))
                        .withColumnRenamed("id", "meta.id")
                        .withColumnRenamed("text", "review.text");
        BertTokenizer t = new BertTokenizer().setInputCol("review.text").setHandleInvalid("keep");
        Dataset<Row> out = t.transform(df);
        assertEquals("meta.id", out.columns()[0]);
        assertEquals(3, out.count());
        assertEquals(2, t.setHandleInvalid("skip").transform(df).count());
    }

    @Test
    void tokenizerIsLoadedOncePerJvm() {
        TokenizerCache.clear();
        List<String> many = new ArrayList<>();
        for (int i = 0; i < 300; i++) {
            many.add("sentence " + i);
        }
        Dataset<Row> df = texts(many).repartition(6);
        BertTokenizer t = new BertTokenizer().setInputCol("text").setMaxLength(32);
        assertEquals(300, t.transform(df).collectAsList().size());
        assertEquals(1, TokenizerCache.loadCount());
        assertEquals(300, t.transform(df).count());
        assertEquals(1, TokenizerCache.loadCount());
        t.setMaxLength(16).transform(df).collectAsList();
        assertEquals(2, TokenizerCache.loadCount());
    }

    private static String causeMessages(Throwable e) {
        StringBuilder sb = new StringBuilder();
        for (Throwable t = e; t != null; t = t.getCause()) {
            sb.append(t.getMessage()).append(" | ");
        }
        return sb.toString();
    }

    @SuppressWarnings("unused")
    private static <T> List<T> asList(scala.collection.Seq<T> seq) {
        return JavaConverters.seqAsJavaList(seq);
    }
}
