package io.sparkbert.jobs;

import static org.apache.spark.sql.functions.array;
import static org.apache.spark.sql.functions.array_distinct;
import static org.apache.spark.sql.functions.array_position;
import static org.apache.spark.sql.functions.array_sort;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.explode;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.transform;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sparkbert.bert.ProblemType;
import io.sparkbert.inference.TextColumns;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.spark.ml.evaluation.RegressionEvaluator;
import org.apache.spark.mllib.evaluation.MultilabelMetrics;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.NumericType;
import scala.Tuple2;

/**
 * The evaluate job's metrics for multi-label and regression models, computed by MLlib: {@link
 * MultilabelMetrics} (micro F1, macro F1, subset accuracy, Hamming loss, micro precision and
 * recall) and {@link RegressionEvaluator} (RMSE, MAE, R2, MSE). Also maps and checks the label
 * column: multi-label arrays of the model's class names or indices (an unknown name or index is an
 * error naming it; an empty array means no class), regression numbers (null or NaN is an error).
 *
 * <p>Stateless and thread-safe.
 */
final class ProblemMetrics {
    private static final ObjectMapper JSON = new ObjectMapper();

    private ProblemMetrics() {}

    /**
     * The label column as the scorer's outputs compare with it: multi-label an array of class
     * indices (array&lt;double&gt;), regression a double.
     *
     * @throws IllegalArgumentException naming {@code --label-col}, the column, the bad value and
     *     the fix
     */
    static Column labels(Dataset<Row> df, String column, ProblemType type, List<String> names) {
        DataType t = Inputs.field(df.schema(), column, "label-col").dataType();
        Column c = TextColumns.named(column);
        long nulls = df.filter(c.isNull()).count();
        if (nulls > 0) {
            throw new IllegalArgumentException(
                    String.format(
                            Locale.ROOT,
                            "--label-col: column '%s' has %d null labels; drop or fill those rows"
                                    + "%s.",
                            column,
                            nulls,
                            type == ProblemType.MULTI_LABEL ? " (an empty array for none)" : ""));
        }
        if (type == ProblemType.REGRESSION) {
            if (!(t instanceof NumericType)) {
                throw new IllegalArgumentException(
                        "--label-col: column '"
                                + column
                                + "' must be numeric for a regression model but is "
                                + t.simpleString()
                                + "; cast it to double first.");
            }
            long nan = df.filter(org.apache.spark.sql.functions.isnan(c.cast("double"))).count();
            if (nan > 0) {
                throw new IllegalArgumentException(
                        "--label-col: column '"
                                + column
                                + "' has "
                                + nan
                                + " NaN labels; a regression needs finite numbers: drop or fill"
                                + " those rows.");
            }
            return c.cast(DataTypes.DoubleType);
        }
        boolean strings = t instanceof ArrayType a && a.elementType().equals(DataTypes.StringType);
        boolean numbers = t instanceof ArrayType a && a.elementType() instanceof NumericType;
        if (!strings && !numbers) {
            throw new IllegalArgumentException(
                    "--label-col: column '"
                            + column
                            + "' must be an array of class names or indices for a multi-label"
                            + " model but is "
                            + t.simpleString()
                            + ".");
        }
        List<String> unknown = new ArrayList<>();
        for (Row r : df.select(explode(c)).distinct().limit(1000).collectAsList()) {
            Object v = r.get(0);
            boolean ok =
                    strings
                            ? v != null && names.contains(v.toString())
                            : v instanceof Number n
                                    && n.doubleValue() == Math.rint(n.doubleValue())
                                    && n.doubleValue() >= 0
                                    && n.doubleValue() < names.size();
            if (!ok) {
                unknown.add(String.valueOf(v));
            }
        }
        if (!unknown.isEmpty()) {
            throw Labels.unknownLabels(
                    column,
                    unknown,
                    strings ? names : "0.." + (names.size() - 1) + " " + names,
                    "evaluate a model with these classes");
        }
        // Ascending and without repeats, as the predictions: MLlib's subset accuracy compares the
        // arrays element by element.
        if (numbers) {
            return array_sort(array_distinct(transform(c, x -> x.cast(DataTypes.DoubleType))));
        }
        Column[] byId = names.stream().map(n -> lit(n)).toArray(Column[]::new);
        return array_sort(
                array_distinct(
                        transform(
                                c,
                                x ->
                                        array_position(array(byId), x)
                                                .minus(1)
                                                .cast(DataTypes.DoubleType))));
    }

    /**
     * The metrics of scored rows: {@code prediction} and {@code label} as {@link #labels} made
     * them.
     */
    static ObjectNode compute(
            Dataset<Row> scored, String prediction, String label, ProblemType type, int k) {
        ObjectNode m = JSON.createObjectNode();
        m.put("problem_type", type.hfName());
        m.put("rows", scored.count());
        if (type == ProblemType.REGRESSION) {
            RegressionEvaluator ev =
                    new RegressionEvaluator().setPredictionCol(prediction).setLabelCol(label);
            for (String metric : new String[] {"rmse", "mae", "r2", "mse"}) {
                m.put(metric, ev.setMetricName(metric).evaluate(scored));
            }
            return m;
        }
        org.apache.spark.api.java.JavaRDD<Tuple2<double[], double[]>> pairs =
                scored.select(col(prediction), col(label))
                        .toJavaRDD()
                        .map(r -> new Tuple2<>(doubles(r.getList(0)), doubles(r.getList(1))));
        @SuppressWarnings({"unchecked", "rawtypes"})
        MultilabelMetrics mm = new MultilabelMetrics((org.apache.spark.rdd.RDD) pairs.rdd());
        m.put("micro_f1", mm.microF1Measure());
        m.put("macro_f1", macroF1(mm));
        m.put("subset_accuracy", mm.subsetAccuracy());
        m.put("hamming_loss", mm.hammingLoss());
        m.put("micro_precision", mm.microPrecision());
        m.put("micro_recall", mm.microRecall());
        m.put("classes", k);
        return m;
    }

    /**
     * The mean of the per-class F1 over the classes that occur in the labels or the predictions
     * (MLlib knows no others); a class with no true and no predicted positive has no F1 and a class
     * never predicted counts 0, as scikit-learn's {@code zero_division=0}.
     */
    private static double macroF1(MultilabelMetrics mm) {
        double[] seen = mm.labels();
        if (seen.length == 0) {
            return Double.NaN;
        }
        double sum = 0;
        for (double c : seen) {
            double f = mm.f1Measure(c);
            sum += Double.isNaN(f) ? 0 : f;
        }
        return sum / seen.length;
    }

    private static double[] doubles(List<Object> values) {
        double[] out = new double[values.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = ((Number) values.get(i)).doubleValue();
        }
        return out;
    }

    /** A self-contained page listing the metrics. */
    static String html(String title, String model, String input, ObjectNode metrics) {
        StringBuilder sb = new StringBuilder();
        sb.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>")
                .append(HtmlReport.esc(title))
                .append("</title></head><body><h1>")
                .append(HtmlReport.esc(title))
                .append("</h1><p>Model ")
                .append(HtmlReport.esc(model))
                .append(", data ")
                .append(HtmlReport.esc(input))
                .append("</p><table>");
        for (Map.Entry<String, com.fasterxml.jackson.databind.JsonNode> e :
                (Iterable<Map.Entry<String, com.fasterxml.jackson.databind.JsonNode>>)
                        metrics::fields) {
            sb.append("<tr><th>")
                    .append(HtmlReport.esc(e.getKey()))
                    .append("</th><td>")
                    .append(HtmlReport.esc(e.getValue().asText()))
                    .append("</td></tr>");
        }
        return sb.append("</table></body></html>\n").toString();
    }
}
