package io.sparkbert.udfs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkbert.testing.Fixtures;
import io.sparkbert.testing.SparkTestSession;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.execution.streaming.StreamingQueryWrapper;
import org.apache.spark.sql.streaming.StreamingQuery;
import org.apache.spark.sql.streaming.Trigger;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The SQL functions in a streaming query (file stream source, one file per micro-batch): the
 * planner strategy batches them in each micro-batch's plan, and the values equal the batch query's.
 */
class StreamingFunctionsTest {
    private static final StructType SCHEMA =
            new StructType().add("id", DataTypes.StringType).add("text", DataTypes.StringType);

    @TempDir Path tmp;

    @Test
    void functionsInAStreamingQueryAreBatchedAndEqualTheBatchQuery() throws Exception {
        SparkSession spark = SparkTestSession.get();
        SparkBertFunctions.register(spark, "tiny", Fixtures.tinyBert().toString());
        Path in = tmp.resolve("in");
        Files.createDirectories(in);
        String[] words = {"good", "bad film", "a long and winding sentence about food", "ok"};
        for (int f = 0; f < 2; f++) {
            List<String> lines = new ArrayList<>();
            for (int i = 0; i < 5; i++) {
                String id = "f" + f + "r" + i;
                lines.add(
                        i == 4 && f == 0
                                ? "{\"id\":\"" + id + "\",\"text\":null}"
                                : "{\"id\":\""
                                        + id
                                        + "\",\"text\":\""
                                        + words[(i + f) % 4]
                                        + "\"}");
            }
            Files.write(in.resolve("part-" + f + ".jsonl"), lines);
        }
        String query =
                "SELECT id, bert_embed(text) AS e, bert_classify(text) AS c,"
                        + " bert_tokenize(text).input_ids AS ids FROM %s";
        spark.readStream()
                .schema(SCHEMA)
                .option("maxFilesPerTrigger", 1)
                .json(in.toString())
                .createOrReplaceTempView("stream_texts");
        StreamingQuery q =
                spark.sql(String.format(query, "stream_texts"))
                        .writeStream()
                        .format("memory")
                        .queryName("stream_sql_out")
                        .option("checkpointLocation", tmp.resolve("ckpt").toString())
                        .trigger(Trigger.AvailableNow())
                        .start();
        q.awaitTermination();
        String plan =
                ((StreamingQueryWrapper) q)
                        .streamingQuery()
                        .lastExecution()
                        .executedPlan()
                        .toString();
        assertTrue(plan.contains("BatchedInference[bert_embed]"), plan);
        assertTrue(plan.contains("BatchedInference[bert_classify]"), plan);
        assertEquals(2, q.recentProgress().length, "one micro-batch per file");

        spark.read().schema(SCHEMA).json(in.toString()).createOrReplaceTempView("batch_texts");
        Map<String, Row> want =
                byId(spark.sql(String.format(query, "batch_texts")).collectAsList());
        Map<String, Row> got = byId(spark.table("stream_sql_out").collectAsList());
        assertEquals(want.keySet(), got.keySet());
        assertEquals(10, got.size());
        assertNull(got.get("f0r4").get(1));
        for (String id : want.keySet()) {
            Row w = want.get(id);
            Row g = got.get(id);
            assertClose(w.getList(1), g.getList(1), id);
            if (w.isNullAt(2)) {
                assertNull(g.get(2), id);
            } else {
                assertEquals(w.getStruct(2).getString(0), g.getStruct(2).getString(0), id);
                assertClose(w.getStruct(2).getList(2), g.getStruct(2).getList(2), id);
            }
            assertEquals(w.getList(3), g.getList(3), id);
        }
    }

    private static Map<String, Row> byId(List<Row> rows) {
        Map<String, Row> out = new HashMap<>();
        for (Row r : rows) {
            assertNull(out.put(r.getString(0), r), "duplicate id " + r.getString(0));
        }
        return out;
    }

    private static void assertClose(List<Double> want, List<Double> got, String id) {
        if (want == null) {
            assertNull(got, id);
            return;
        }
        assertEquals(want.size(), got.size(), id);
        for (int k = 0; k < want.size(); k++) {
            assertEquals(want.get(k), got.get(k), 1e-5, id);
        }
    }
}
