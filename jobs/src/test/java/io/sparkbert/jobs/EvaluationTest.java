package io.sparkbert.jobs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sparkbert.testing.SparkTestSession;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Evaluation metrics against values worked out by hand, and the report page. */
class EvaluationTest {
    private final SparkSession spark = SparkTestSession.get();

    @TempDir Path tmp;

    /**
     * Eight rows, p = P(class 1), prediction = p >= 0.5:
     *
     * <pre>
     * true 1: p 0.9 0.8 0.6 | 0.4       -> TP 3, FN 1
     * true 0: p 0.7 | 0.3 0.2 0.1       -> FP 1, TN 3
     * </pre>
     *
     * accuracy 6/8; precision = recall = F1 = 3/4 for both classes; ROC AUC = pairs (pos > neg) /
     * 16 = (4 + 4 + 3 + 3) / 16 = 0.875.
     */
    private Dataset<Row> binary() {
        double[][] rows = {
            {1, 0.9}, {1, 0.8}, {1, 0.6}, {1, 0.4}, {0, 0.7}, {0, 0.3}, {0, 0.2}, {0, 0.1}
        };
        List<Row> out = new ArrayList<>();
        for (double[] r : rows) {
            double p = r[1];
            out.add(
                    RowFactory.create(
                            p >= 0.5 ? 1.0 : 0.0, r[0], List.of(1 - p, p).toArray(new Double[0])));
        }
        StructType schema =
                new StructType()
                        .add("prediction", DataTypes.DoubleType)
                        .add("y", DataTypes.DoubleType)
                        .add("probability", DataTypes.createArrayType(DataTypes.DoubleType));
        return spark.createDataFrame(out, schema);
    }

    @Test
    void binaryMetricsMatchHandComputedValues() {
        Evaluation e =
                Evaluation.compute(
                        binary(), "prediction", "y", "probability", List.of("neg", "pos"));
        assertEquals(8, e.rows());
        assertEquals(0.75, e.accuracy(), 1e-12);
        assertArrayEquals(new double[] {0.75, 0.75}, e.precision(), 1e-12);
        assertArrayEquals(new double[] {0.75, 0.75}, e.recall(), 1e-12);
        assertArrayEquals(new double[] {0.75, 0.75}, e.f1(), 1e-12);
        assertArrayEquals(new long[] {4, 4}, e.support());
        assertArrayEquals(new long[] {3, 1}, e.confusion()[0]);
        assertArrayEquals(new long[] {1, 3}, e.confusion()[1]);
        assertEquals(0.875, e.rocAuc(), 1e-12);
        double[][] roc = e.roc();
        assertArrayEquals(new double[] {0, 0}, roc[0], 0);
        assertArrayEquals(new double[] {1, 1}, roc[roc.length - 1], 0);
        // bins of 0.05: class 1 at 0.9, 0.8, 0.6, 0.4 -> 18, 16, 12, 8; class 0 -> 14, 6, 4, 2
        long[] h1 = new long[Evaluation.BINS];
        h1[18] = h1[16] = h1[12] = h1[8] = 1;
        long[] h0 = new long[Evaluation.BINS];
        h0[14] = h0[6] = h0[4] = h0[2] = 1;
        assertArrayEquals(h0, e.histogram()[0]);
        assertArrayEquals(h1, e.histogram()[1]);
        JsonNode j = e.toJson();
        assertEquals(0.875, j.get("roc_auc").asDouble(), 1e-12);
        assertEquals("[[3,1],[1,3]]", j.get("confusion_matrix").toString());
        assertEquals("pos", j.get("per_class").get(1).get("name").asText());
    }

    /**
     * Three classes, one of them never predicted:
     *
     * <pre>
     * true 0: pred 0 0 1      true 1: pred 1 1       true 2: pred 0 1
     * </pre>
     *
     * accuracy 4/7; class 0: precision 2/3, recall 2/3; class 1: precision 2/4, recall 2/2 = 1, F1
     * = 2/3; class 2: precision 0 (never predicted), recall 0, F1 0.
     */
    @Test
    void multiclassMetricsMatchHandComputedValues() {
        double[][] rows = {{0, 0}, {0, 0}, {0, 1}, {1, 1}, {1, 1}, {2, 0}, {2, 1}};
        List<Row> out = new ArrayList<>();
        for (double[] r : rows) {
            Double[] p = {0.1, 0.1, 0.1};
            p[(int) r[1]] = 0.8;
            out.add(RowFactory.create(r[1], r[0], p));
        }
        StructType schema =
                new StructType()
                        .add("prediction", DataTypes.DoubleType)
                        .add("y", DataTypes.DoubleType)
                        .add("probability", DataTypes.createArrayType(DataTypes.DoubleType));
        Evaluation e =
                Evaluation.compute(
                        spark.createDataFrame(out, schema),
                        "prediction",
                        "y",
                        "probability",
                        List.of("a", "b", "c"));
        assertEquals(4.0 / 7, e.accuracy(), 1e-12);
        assertArrayEquals(new double[] {2.0 / 3, 0.5, 0}, e.precision(), 1e-12);
        assertArrayEquals(new double[] {2.0 / 3, 1, 0}, e.recall(), 1e-12);
        assertArrayEquals(new double[] {2.0 / 3, 2.0 / 3, 0}, e.f1(), 1e-12);
        assertArrayEquals(new long[] {2, 1, 0}, e.confusion()[0]);
        assertArrayEquals(new long[] {0, 2, 0}, e.confusion()[1]);
        assertArrayEquals(new long[] {1, 1, 0}, e.confusion()[2]);
        assertTrue(Double.isNaN(e.rocAuc()));
        assertEquals(3, e.histogram()[0][16], "top probability 0.8 -> bin 16");
    }

    /**
     * Every true label is class 1 (an evaluation slice of one class); one row is predicted 0: class
     * 0 has no support and one wrong prediction, so precision, recall and F1 are 0 for it; class 1:
     * precision 3/3, recall 3/4. ROC AUC is undefined with a single class.
     */
    @Test
    void aClassAbsentFromTheLabelsGetsZerosAndItsPredictionsAreCounted() throws IOException {
        Dataset<Row> oneClass = binary().filter("y = 1");
        Evaluation e =
                Evaluation.compute(
                        oneClass, "prediction", "y", "probability", List.of("neg", "pos"));
        assertEquals(4, e.rows());
        assertEquals(0.75, e.accuracy(), 1e-12);
        assertArrayEquals(new long[] {0, 0}, e.confusion()[0]);
        assertArrayEquals(new long[] {1, 3}, e.confusion()[1]);
        assertArrayEquals(new long[] {0, 4}, e.support());
        assertArrayEquals(new double[] {0, 1}, e.precision(), 1e-12);
        assertArrayEquals(new double[] {0, 0.75}, e.recall(), 1e-12);
        assertTrue(Double.isNaN(e.rocAuc()));
        assertEquals(0, e.roc().length);
        assertTrue(HtmlReport.render("t", "m", "d", e, null).contains("roc-curve"));
        new ObjectMapper().readTree(e.toJson().toString());
    }

    @Test
    void noRowToEvaluateIsAClearError() {
        IllegalArgumentException x =
                assertThrows(
                        IllegalArgumentException.class,
                        () ->
                                Evaluation.compute(
                                        binary().limit(0),
                                        "prediction",
                                        "y",
                                        "probability",
                                        List.of("neg", "pos")));
        assertTrue(x.getMessage().contains("null or blank"), x.getMessage());
    }

    @Test
    void reportHoldsThePlotsAndNoExternalResources() throws IOException {
        Evaluation e =
                Evaluation.compute(
                        binary(), "prediction", "y", "probability", List.of("neg", "pos"));
        JsonNode training =
                new ObjectMapper()
                        .readTree(
                                "{\"steps\":[{\"step\":1,\"loss\":0.7,\"lr\":1e-5},"
                                        + "{\"step\":2,\"loss\":0.5,\"lr\":2e-5},"
                                        + "{\"step\":3,\"loss\":0.2,\"lr\":1e-5}]}");
        String html = HtmlReport.render("t", "m", "d", e, training);
        for (String id :
                List.of("confusion-matrix", "roc-curve", "probability-histogram", "loss-curve")) {
            assertTrue(
                    html.contains("<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"" + id + "\""),
                    id);
        }
        assertTrue(html.contains("0.8750"), "AUC in the table");
        assertTrue(html.contains(">3</text>"), "confusion counts drawn");
        for (String external : List.of("<script", "<link", "src=", "@import", "url(")) {
            assertTrue(!html.contains(external), external);
        }
        assertTrue(!HtmlReport.render("t", "m", "d", e, null).contains("loss-curve"));
        Files.writeString(tmp.resolve("r.html"), html);
    }
}
