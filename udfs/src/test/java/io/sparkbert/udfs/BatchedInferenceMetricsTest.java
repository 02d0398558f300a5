package io.sparkbert.udfs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkbert.bert.HfTokenizer;
import io.sparkbert.bert.TokenizerOptions;
import io.sparkbert.inference.ModelCache;
import io.sparkbert.testing.Fixtures;
import io.sparkbert.testing.SparkTestSession;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.execution.SparkPlan;
import org.apache.spark.sql.execution.adaptive.AdaptiveSparkPlanExec;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;
import scala.collection.JavaConverters;

/** The batched operator's SQL metrics after a query, against counts made here. */
class BatchedInferenceMetricsTest {
    private static final StructType SCHEMA =
            new StructType().add("id", DataTypes.IntegerType).add("text", DataTypes.StringType);

    private static final String EXCLUDED_RULES = "spark.sql.optimizer.excludedRules";
    private static final String LOCAL_RELATION_RULE =
            "org.apache.spark.sql.catalyst.optimizer.ConvertToLocalRelation";

    private static BatchedInferenceExec find(SparkPlan p) {
        if (p instanceof BatchedInferenceExec) {
            return (BatchedInferenceExec) p;
        }
        if (p instanceof AdaptiveSparkPlanExec) {
            return find(((AdaptiveSparkPlanExec) p).executedPlan());
        }
        for (SparkPlan c : JavaConverters.seqAsJavaList(p.children())) {
            BatchedInferenceExec e = find(c);
            if (e != null) {
                return e;
            }
        }
        return null;
    }

    private static long metric(BatchedInferenceExec e, String key) {
        return (Long) e.metrics().apply(key).value();
    }

    @Test
    void metricsCountRowsBatchesPaddingAndModelLoad() {
        SparkSession spark = SparkTestSession.get();
        SparkBertFunctions.register(spark, "tiny", Fixtures.tinyBert().toString());
        String[] texts = {
            "good",
            "a rather longer sentence about the food and the service",
            null,
            "bad film",
            "fine",
            "the plot was thin but the acting carried it a long way",
            "ok",
            "loved it",
            "never again, not in a hundred years",
            "meh"
        };
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < texts.length; i++) {
            rows.add(RowFactory.create(i, texts[i]));
        }
        // a local relation: two slices of five rows each on local[2], no exchange
        spark.createDataFrame(rows, SCHEMA).createOrReplaceTempView("metric_texts");
        ModelCache.clear();
        // else the optimizer evaluates the projection of a local relation on the driver
        spark.conf().set(EXCLUDED_RULES, LOCAL_RELATION_RULE);
        Dataset<Row> df;
        try {
            df = spark.sql("SELECT id, bert_embed(text) AS e FROM metric_texts");
            assertEquals(texts.length, df.collectAsList().size());
        } finally {
            spark.conf().unset(EXCLUDED_RULES);
        }
        BatchedInferenceExec exec = find(df.queryExecution().executedPlan());
        assertNotNull(exec, df.queryExecution().executedPlan().toString());

        // expected: per slice one batch (batch size 32), padded to the slice's longest text
        long scored = 0;
        long tokens = 0;
        long padding = 0;
        long batches = 0;
        try (HfTokenizer tok =
                HfTokenizer.fromDirectory(Fixtures.tinyBert(), TokenizerOptions.defaults())) {
            for (int slice = 0; slice < 2; slice++) {
                int longest = 0;
                long real = 0;
                int n = 0;
                for (int i = slice * 5; i < slice * 5 + 5; i++) {
                    if (texts[i] == null) {
                        continue;
                    }
                    int len = tok.encode(texts[i]).inputIds().length;
                    longest = Math.max(longest, len);
                    real += len;
                    n++;
                }
                scored += n;
                batches++;
                tokens += (long) longest * n;
                padding += (long) longest * n - real;
            }
        }
        assertEquals(9, scored);
        assertEquals(scored, metric(exec, BatchedInferenceExec.ROWS_SCORED));
        assertEquals(batches, metric(exec, BatchedInferenceExec.BATCHES));
        assertEquals(tokens, metric(exec, BatchedInferenceExec.TOKENS));
        assertEquals(padding, metric(exec, BatchedInferenceExec.PADDING_TOKENS));
        assertTrue(padding > 0, "texts of different lengths pad");
        assertTrue(
                metric(exec, BatchedInferenceExec.MODEL_WAIT) > 0,
                "the model was loaded after the cache was cleared");
    }
}
