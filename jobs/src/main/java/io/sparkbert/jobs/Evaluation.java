package io.sparkbert.jobs;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.element_at;
import static org.apache.spark.sql.functions.floor;
import static org.apache.spark.sql.functions.least;
import static org.apache.spark.sql.functions.lit;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.mllib.evaluation.BinaryClassificationMetrics;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.functions;
import scala.Tuple2;

/**
 * Classification metrics of scored, labelled rows, computed with Spark's {@link MulticlassMetrics}
 * (accuracy, per-class precision/recall/F1, confusion matrix) and, for two classes, {@link
 * BinaryClassificationMetrics} (exact ROC curve and its area, no binning), plus probability
 * histograms for the report.
 *
 * <p>Immutable and thread-safe.
 *
 * @param labels class names, index = class id
 * @param rows number of rows evaluated
 * @param accuracy share of correct predictions
 * @param precision per class
 * @param recall per class
 * @param f1 per class
 * @param support rows per true class
 * @param confusion counts, row = true class, column = predicted class
 * @param rocAuc area under the ROC curve (two classes), else NaN
 * @param roc ROC points {fpr, tpr} from (0,0) to (1,1) (two classes), else empty
 * @param histogram per true class, counts of P(positive class) (two classes) or of the top
 *     probability (more classes) in {@link #BINS} equal bins over [0, 1]
 */
public record Evaluation(
        List<String> labels,
        long rows,
        double accuracy,
        double[] precision,
        double[] recall,
        double[] f1,
        long[] support,
        long[][] confusion,
        double rocAuc,
        double[][] roc,
        long[][] histogram) {
    /** Histogram bins. */
    public static final int BINS = 20;

    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * Computes the metrics.
     *
     * @param scored rows with double columns {@code predictionCol} and {@code labelCol} (class ids)
     *     and {@code probabilityCol} (array of doubles)
     */
    public static Evaluation compute(
            Dataset<Row> scored,
            String predictionCol,
            String labelCol,
            String probabilityCol,
            List<String> labels) {
        int k = labels.size();
        // The confusion matrix is counted directly: MulticlassMetrics knows only the classes that
        // occur as true labels, so a class absent from the evaluated rows made precision(c) throw
        // and predictions of such a class fell out of its confusion matrix.
        long[][] confusion = new long[k][k];
        long rows = 0;
        for (Row r :
                scored.groupBy(
                                col(labelCol).cast("int").as("y"),
                                col(predictionCol).cast("int").as("p"))
                        .agg(count(lit(1)))
                        .collectAsList()) {
            confusion[r.getInt(0)][r.getInt(1)] = r.getLong(2);
            rows += r.getLong(2);
        }
        if (rows == 0) {
            throw new IllegalArgumentException(
                    "No row to evaluate: every text is null or blank; check --text-col and the"
                            + " input.");
        }
        long correct = 0;
        double[] precision = new double[k];
        double[] recall = new double[k];
        double[] f1 = new double[k];
        long[] support = new long[k];
        for (int c = 0; c < k; c++) {
            long predicted = 0;
            for (int j = 0; j < k; j++) {
                support[c] += confusion[c][j];
                predicted += confusion[j][c];
            }
            long tp = confusion[c][c];
            correct += tp;
            // 0 where undefined (no row predicted as c, or no row of class c)
            precision[c] = predicted == 0 ? 0 : (double) tp / predicted;
            recall[c] = support[c] == 0 ? 0 : (double) tp / support[c];
            f1[c] =
                    precision[c] + recall[c] == 0
                            ? 0
                            : 2 * precision[c] * recall[c] / (precision[c] + recall[c]);
        }
        double accuracy = (double) correct / rows;
        double auc = Double.NaN;
        double[][] roc = new double[0][];
        if (k == 2 && support[0] > 0 && support[1] > 0) {
            JavaRDD<Tuple2<Object, Object>> scoresAndLabels =
                    scored.select(
                                    element_at(col(probabilityCol), 2).cast("double"),
                                    col(labelCol).cast("double"))
                            .toJavaRDD()
                            .map(r -> new Tuple2<>(r.get(0), r.get(1)));
            BinaryClassificationMetrics b =
                    new BinaryClassificationMetrics(scoresAndLabels.rdd(), 0);
            auc = b.areaUnderROC();
            List<Tuple2<Object, Object>> points = b.roc().toJavaRDD().collect();
            roc = new double[points.size()][];
            for (int i = 0; i < points.size(); i++) {
                roc[i] = new double[] {(Double) points.get(i)._1(), (Double) points.get(i)._2()};
            }
            b.unpersist();
        }
        long[][] histogram = new long[k][BINS];
        var p =
                k == 2
                        ? element_at(col(probabilityCol), 2)
                        : functions.array_max(col(probabilityCol));
        for (Row r :
                scored.select(
                                col(labelCol).cast("int").as("c"),
                                least(floor(p.multiply(BINS)), lit(BINS - 1)).cast("int").as("b"))
                        .groupBy("c", "b")
                        .agg(count(lit(1)))
                        .collectAsList()) {
            histogram[r.getInt(0)][r.getInt(1)] = r.getLong(2);
        }
        return new Evaluation(
                labels, rows, accuracy, precision, recall, f1, support, confusion, auc, roc,
                histogram);
    }

    /** The metrics as {@code metrics.json}. */
    public ObjectNode toJson() {
        ObjectNode n = JSON.createObjectNode();
        n.put("rows", rows);
        n.put("accuracy", accuracy);
        ArrayNode classes = n.putArray("per_class");
        for (int c = 0; c < labels.size(); c++) {
            classes.addObject()
                    .put("class", c)
                    .put("name", labels.get(c))
                    .put("precision", precision[c])
                    .put("recall", recall[c])
                    .put("f1", f1[c])
                    .put("support", support[c]);
        }
        double mf1 = 0;
        for (double v : f1) {
            mf1 += v;
        }
        n.put("macro_f1", mf1 / labels.size());
        ArrayNode cm = n.putArray("confusion_matrix");
        for (long[] row : confusion) {
            ArrayNode r = cm.addArray();
            for (long v : row) {
                r.add(v);
            }
        }
        n.put("confusion_matrix_layout", "rows = true class, columns = predicted class");
        if (labels.size() == 2) {
            n.put("roc_auc", rocAuc);
        }
        return n;
    }
}
