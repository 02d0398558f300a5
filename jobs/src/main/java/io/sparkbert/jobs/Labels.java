package io.sparkbert.jobs;

import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.when;

import io.sparkbert.inference.TextColumns;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.TreeSet;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.NumericType;

/**
 * Maps a label column to class indices. Numeric labels are class indices as they are (whole numbers
 * from 0); string labels map through given names (a checkpoint's or a trained model's {@code
 * id2label}) or, when there are none, are indexed in sorted order.
 *
 * <p>Immutable and thread-safe.
 *
 * @param names class names, index = class id
 * @param index expression giving the class index (double) of a row
 */
record Labels(List<String> names, Column index) {
    /** More distinct labels than this is taken as a wrong column. */
    static final int MAX_CLASSES = 10_000;

    /**
     * Plans the mapping for training.
     *
     * @param known the starting checkpoint's names, if it has explicit ones
     * @throws IllegalArgumentException for nulls, non-integer or negative numeric labels, string
     *     labels missing from {@code known}, or too many classes
     */
    static Labels forTraining(Dataset<Row> df, String column, Optional<List<String>> known) {
        DataType type = Inputs.field(df.schema(), column, "label-col").dataType();
        checkNoNulls(df, column);
        if (type instanceof NumericType) {
            List<Double> values = distinct(df, column);
            // A class index sets the size of the classification head: bound it like the number of
            // string classes, so a stray value (an id, a price) fails here rather than in training.
            int max = checkIndices(values, column, MAX_CLASSES - 1, false);
            List<String> names;
            if (known.isPresent() && known.get().size() > max) {
                names = known.get();
            } else {
                names = new ArrayList<>();
                for (int i = 0; i <= max; i++) {
                    names.add(Integer.toString(i));
                }
            }
            return new Labels(names, TextColumns.named(column).cast(DataTypes.DoubleType));
        }
        if (!type.equals(DataTypes.StringType)) {
            throw new IllegalArgumentException(
                    "--label-col: column '"
                            + column
                            + "' must be numeric (class indices) or string (class names) but is "
                            + type.simpleString()
                            + ".");
        }
        TreeSet<String> seen = new TreeSet<>();
        for (Row r :
                df.select(TextColumns.named(column))
                        .distinct()
                        .limit(MAX_CLASSES + 1)
                        .collectAsList()) {
            seen.add(r.getString(0));
        }
        if (seen.size() > MAX_CLASSES) {
            throw tooMany(column);
        }
        List<String> names = known.orElseGet(() -> new ArrayList<>(seen));
        return new Labels(names, byName(column, names, seen));
    }

    /**
     * The label column as it is, for a multi-label (arrays of class names or indices) or regression
     * (numbers) fit, whose classifier reads and checks it itself: no names.
     */
    static Labels asTargets(Dataset<Row> df, String column) {
        Inputs.field(df.schema(), column, "label-col");
        return new Labels(List.of(), TextColumns.named(column));
    }

    /**
     * Plans the mapping for evaluation against a trained model's names.
     *
     * @throws IllegalArgumentException for nulls or labels the model does not know
     */
    static Labels forModel(Dataset<Row> df, String column, List<String> names) {
        DataType type = Inputs.field(df.schema(), column, "label-col").dataType();
        checkNoNulls(df, column);
        if (type instanceof NumericType) {
            checkIndices(distinct(df, column), column, names.size() - 1, true);
            return new Labels(names, TextColumns.named(column).cast(DataTypes.DoubleType));
        }
        TreeSet<String> seen = new TreeSet<>();
        for (Row r :
                df.select(TextColumns.named(column))
                        .distinct()
                        .limit(MAX_CLASSES + 1)
                        .collectAsList()) {
            seen.add(r.get(0).toString());
        }
        return new Labels(names, byName(column, names, seen));
    }

    private static Column byName(String column, List<String> names, TreeSet<String> seen) {
        List<String> unknown = new ArrayList<>();
        for (String s : seen) {
            if (!names.contains(s)) {
                unknown.add(s);
            }
        }
        if (!unknown.isEmpty()) {
            throw unknownLabels(column, unknown, names, "start from a model with these classes");
        }
        Column c = null;
        for (int i = 0; i < names.size(); i++) {
            Column cond =
                    TextColumns.named(column).cast(DataTypes.StringType).equalTo(lit(names.get(i)));
            c = c == null ? when(cond, lit((double) i)) : c.when(cond, lit((double) i));
        }
        return c;
    }

    private static void checkNoNulls(Dataset<Row> df, String column) {
        long nulls = df.filter(TextColumns.named(column).isNull()).count();
        if (nulls > 0) {
            throw new IllegalArgumentException(
                    "--label-col: column '"
                            + column
                            + "' has "
                            + nulls
                            + " null labels; drop or fill those rows.");
        }
    }

    private static List<Double> distinct(Dataset<Row> df, String column) {
        List<Double> out = new ArrayList<>();
        for (Row r :
                df.select(TextColumns.named(column).cast(DataTypes.DoubleType))
                        .distinct()
                        .limit(MAX_CLASSES + 1)
                        .collectAsList()) {
            out.add(r.getDouble(0));
        }
        if (out.size() > MAX_CLASSES) {
            throw tooMany(column);
        }
        return out;
    }

    private static int checkIndices(
            List<Double> values, String column, int maxAllowed, boolean ofModel) {
        int max = -1;
        for (double v : values) {
            if (v < 0 || v != Math.rint(v) || v > maxAllowed) {
                throw new IllegalArgumentException(
                        "--label-col: numeric label "
                                + v
                                + " in column '"
                                + column
                                + "' is not a class index"
                                + (ofModel
                                        ? " of the model (0.." + maxAllowed + ")"
                                        : " (a whole number from 0 to " + maxAllowed + ")")
                                + "; use class indices or string class names.");
            }
            max = Math.max(max, (int) v);
        }
        return max;
    }

    private static IllegalArgumentException tooMany(String column) {
        return new IllegalArgumentException(
                "--label-col: column '"
                        + column
                        + "' has more than "
                        + MAX_CLASSES
                        + " distinct values; is it the label column?");
    }

    /**
     * The refusal of labels a model has no class for.
     *
     * @param classes the model's classes as the message shows them
     * @param fix what to do besides fixing the labels
     */
    static IllegalArgumentException unknownLabels(
            String column, List<String> unknown, Object classes, String fix) {
        return new IllegalArgumentException(
                "--label-col: labels "
                        + unknown
                        + " in column '"
                        + column
                        + "' are not among the model's classes "
                        + classes
                        + "; fix the labels or "
                        + fix
                        + ".");
    }
}
