package io.sparkbert.classification;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkbert.feature.BertEmbeddings;
import io.sparkbert.feature.BertTokenizer;
import io.sparkbert.inference.ModelCache;
import io.sparkbert.inference.ModelSource;
import io.sparkbert.testing.Fixtures;
import io.sparkbert.testing.SparkTestSession;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeoutException;
import org.apache.spark.ml.Pipeline;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.PipelineStage;
import org.apache.spark.ml.Transformer;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.streaming.StreamingQuery;
import org.apache.spark.sql.streaming.StreamingQueryException;
import org.apache.spark.sql.streaming.StreamingQueryProgress;
import org.apache.spark.sql.streaming.Trigger;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The stages on a streaming DataFrame (a file stream source, several micro-batches on local[2]):
 * each gives the values of its batch transform of the same rows, and the model is loaded once per
 * JVM across micro-batches.
 */
class StreamingStagesTest {
    private static final StructType SCHEMA =
            new StructType().add("id", DataTypes.StringType).add("text", DataTypes.StringType);
    private static final int FILES = 3;

    @TempDir static Path tmp;

    private static SparkSession spark;
    private static Path input;
    private static BertClassificationModel classifier;

    @BeforeAll
    static void setUp() throws IOException {
        spark = SparkTestSession.get();
        input = tmp.resolve("in");
        Files.createDirectories(input);
        for (int f = 0; f < FILES; f++) {
            List<String> lines = new ArrayList<>();
            for (int i = 0; i < 7; i++) {
                String id = "f" + f + "r" + i;
                // lengths differ inside a file so that the scorer buckets them
                String text =
                        i == 3 && f == 1
                                ? null
                                : BertClassifierTest.TEXTS[(f + i) % 8] + " and more".repeat(i);
                lines.add(
                        text == null
                                ? "{\"id\":\"" + id + "\",\"text\":null}"
                                : "{\"id\":\"" + id + "\",\"text\":\"" + text + "\"}");
            }
            Files.write(input.resolve("part-" + f + ".jsonl"), lines);
        }
        List<Row> train = new ArrayList<>();
        for (int i = 0; i < BertClassifierTest.TEXTS.length; i++) {
            train.add(RowFactory.create(BertClassifierTest.TEXTS[i], BertClassifierTest.LABELS[i]));
        }
        classifier =
                BertClassifierTest.tiny()
                        .fit(spark.createDataFrame(train, BertClassifierTest.SCHEMA));
    }

    private static Dataset<Row> batch() {
        return spark.read().schema(SCHEMA).json(input.toString());
    }

    /**
     * Runs {@code stage} over the input as a file stream (one file per micro-batch, the
     * scheduled-run trigger) into a memory table, and returns its rows by id.
     */
    private static Map<String, Row> streamed(Transformer stage, String name)
            throws TimeoutException, StreamingQueryException {
        return streamed(stage, name, FILES * 7);
    }

    /**
     * {@link #streamed} where the source reads {@code sourceRows} rows (a skipping filter is pushed
     * into the JSON reader).
     */
    private static Map<String, Row> streamed(Transformer stage, String name, int sourceRows)
            throws TimeoutException, StreamingQueryException {
        Dataset<Row> stream =
                spark.readStream()
                        .schema(SCHEMA)
                        .option("maxFilesPerTrigger", 1)
                        .json(input.toString());
        assertTrue(stream.isStreaming());
        StreamingQuery q =
                stage.transform(stream)
                        .writeStream()
                        .format("memory")
                        .queryName(name)
                        .option("checkpointLocation", tmp.resolve("ckpt-" + name).toString())
                        .trigger(Trigger.AvailableNow())
                        .start();
        q.awaitTermination();
        int batches = 0;
        long rows = 0;
        for (StreamingQueryProgress p : q.recentProgress()) {
            if (p.numInputRows() > 0) {
                batches++;
                rows += p.numInputRows();
            }
        }
        assertEquals(FILES, batches, "one micro-batch per file");
        assertEquals(sourceRows, rows);
        return byId(spark.table(name).collectAsList());
    }

    private static Map<String, Row> byId(List<Row> rows) {
        Map<String, Row> out = new HashMap<>();
        for (Row r : rows) {
            assertNull(out.put(r.getString(r.fieldIndex("id")), r), "duplicate id");
        }
        return out;
    }

    /** Streamed and batch rows: same ids, equal columns, vectors within 1e-5. */
    private static void assertSameRows(Map<String, Row> expected, Map<String, Row> actual) {
        assertEquals(expected.keySet(), actual.keySet());
        for (Map.Entry<String, Row> e : expected.entrySet()) {
            Row want = e.getValue();
            Row got = actual.get(e.getKey());
            // names and types (the memory sink does not keep column metadata)
            assertEquals(want.schema().simpleString(), got.schema().simpleString());
            for (int c = 0; c < want.size(); c++) {
                Object w = want.get(c);
                Object g = got.get(c);
                if (w instanceof Vector) {
                    double[] a = ((Vector) w).toArray();
                    double[] b = ((Vector) g).toArray();
                    assertEquals(a.length, b.length);
                    for (int k = 0; k < a.length; k++) {
                        assertEquals(a[k], b[k], 1e-5, e.getKey() + " column " + c);
                    }
                } else {
                    assertEquals(w, g, e.getKey() + " column " + c);
                }
            }
        }
    }

    @Test
    void tokenizerOnAStreamEqualsItsBatchTransform() throws Exception {
        BertTokenizer tok =
                new BertTokenizer()
                        .setInputCol("text")
                        .setModel(Fixtures.tinyBert().toString())
                        .setMaxLength(16)
                        .setHandleInvalid("keep");
        Map<String, Row> got = streamed(tok, "stream_tokens");
        assertSameRows(byId(tok.transform(batch()).collectAsList()), got);
        assertTrue(got.get("f0r1").getList(got.get("f0r1").fieldIndex("input_ids")).size() > 2);
    }

    @Test
    void embeddingsOnAStreamEqualBatchAndLoadTheModelOnce() throws Exception {
        BertEmbeddings emb =
                new BertEmbeddings()
                        .setInputCol("text")
                        .setOutputCol("embedding")
                        .setModel(Fixtures.tinyBert().toString())
                        .setBatchSize(2)
                        .setMaxLength(32)
                        .setDevice("cpu")
                        .setHandleInvalid("keep");
        ModelCache.clear();
        Map<String, Row> got = streamed(emb, "stream_embeddings");
        // three micro-batches, one load: the executor cache outlives the batches
        ModelSource source = ModelSource.location(Fixtures.tinyBert().toString());
        assertEquals(1, ModelCache.loadCount(source, "cpu"));
        assertNull(got.get("f1r3").get(got.get("f1r3").fieldIndex("embedding")));
        assertSameRows(byId(emb.transform(batch()).collectAsList()), got);
    }

    @Test
    void classifierAndPipelineOnAStreamEqualTheirBatchTransform() throws Exception {
        BertClassificationModel m =
                classifier.copy(new org.apache.spark.ml.param.ParamMap()).setHandleInvalid("keep");
        m.setBatchSize(3);
        Map<String, Row> got = streamed(m, "stream_classified");
        assertSameRows(byId(m.transform(batch()).collectAsList()), got);
        assertNull(got.get("f1r3").get(got.get("f1r3").fieldIndex("prediction")));

        BertTokenizer tok =
                new BertTokenizer()
                        .setInputCol("text")
                        .setModel(Fixtures.tinyBert().toString())
                        .setHandleInvalid("skip");
        BertEmbeddings emb =
                new BertEmbeddings()
                        .setInputCol("text")
                        .setOutputCol("embedding")
                        .setModel(Fixtures.tinyBert().toString())
                        .setHandleInvalid("skip");
        BertClassificationModel skip =
                classifier.copy(new org.apache.spark.ml.param.ParamMap()).setHandleInvalid("skip");
        PipelineModel pipeline =
                new Pipeline().setStages(new PipelineStage[] {tok, emb, skip}).fit(batch());
        Map<String, Row> piped = streamed(pipeline, "stream_pipeline", FILES * 7 - 1);
        assertEquals(FILES * 7 - 1, piped.size(), "the null text is skipped");
        assertSameRows(byId(pipeline.transform(batch()).collectAsList()), piped);
    }
}
