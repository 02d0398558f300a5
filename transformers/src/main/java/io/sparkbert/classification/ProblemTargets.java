package io.sparkbert.classification;

import io.sparkbert.bert.ProblemType;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.NumericType;
import org.apache.spark.sql.types.StructField;

/**
 * How {@link BertClassifier} reads its label column per {@link ProblemType}: which type {@code
 * problemType=auto} means, which column types each type takes, and the training targets of
 * multi-label (an array of class names or class indices per row; an empty array = no class) and
 * regression (one number per row) columns. Stateless and thread-safe.
 */
final class ProblemTargets {
    private ProblemTargets() {}

    /**
     * The problem type before any checkpoint is read (for {@code transformSchema}): the option when
     * set, else multi-label for an array column and single-label otherwise.
     */
    static ProblemType forSchema(String option, DataType labelType) {
        if (!"auto".equals(option)) {
            return ProblemType.parse(option);
        }
        return labelType instanceof ArrayType ? ProblemType.MULTI_LABEL : ProblemType.SINGLE_LABEL;
    }

    /**
     * The problem type of a fit: the option when set; under {@code auto} multi-label for an array
     * column, else what the checkpoint's head declares ({@link ProblemType#declaredBy}: its {@code
     * problem_type}, or regression for a single output), else single-label.
     *
     * @param declared what the checkpoint's head declares, or null (no head, or it does not say)
     * @throws IllegalArgumentException when auto meets a column that contradicts the head
     */
    static ProblemType resolve(
            String option,
            DataType labelType,
            ProblemType declared,
            String labelCol,
            String stage) {
        ProblemType fromSchema = forSchema(option, labelType);
        if (!"auto".equals(option) || declared == null) {
            return fromSchema;
        }
        boolean array = labelType instanceof ArrayType;
        if (array && declared == ProblemType.REGRESSION
                || !array && declared == ProblemType.MULTI_LABEL) {
            throw ColumnException.label(
                    stage,
                    labelCol,
                    String.format(
                            Locale.ROOT,
                            " is of type %s but the checkpoint's head is %s (its config.json): give"
                                    + " a label column that fits the head (multi_label: arrays of"
                                    + " class names or indices; regression: numbers), or set"
                                    + " problemType to retrain the head as another type.",
                            labelType.simpleString(),
                            declared.hfName()));
        }
        return array ? ProblemType.MULTI_LABEL : declared;
    }

    /**
     * Checks that the label column's type fits {@code type} (single-label is checked by the
     * caller).
     */
    static void checkType(ProblemType type, StructField label, String labelCol, String stage) {
        DataType t = label.dataType();
        if (type == ProblemType.MULTI_LABEL) {
            boolean ok =
                    t instanceof ArrayType a
                            && (a.elementType().equals(DataTypes.StringType)
                                    || a.elementType() instanceof NumericType);
            if (!ok) {
                throw ColumnException.label(
                        stage,
                        labelCol,
                        " must be an array of class names (array<string>) or of class indices"
                                + " (array of numbers) for problemType multi_label but is "
                                + t.simpleString()
                                + "; collect each row's labels into an array (e.g. split a"
                                + " comma-separated string).");
            }
        } else if (type == ProblemType.REGRESSION && !(t instanceof NumericType)) {
            throw ColumnException.label(
                    stage,
                    labelCol,
                    " must be numeric for problemType regression but is "
                            + t.simpleString()
                            + "; cast it to double first.");
        }
    }

    /** Whether a multi-label column names its classes (array of strings). */
    static boolean namesClasses(StructField label) {
        return ((ArrayType) label.dataType()).elementType().equals(DataTypes.StringType);
    }

    /**
     * The classes of a multi-label head: {@code headNames} (a checkpoint's own head) when given,
     * else the sorted distinct names of a column of names, else {@code LABEL_0..LABEL_m} up to the
     * largest index of a column of indices.
     *
     * @throws IllegalArgumentException naming the column, row and value of a bad label
     */
    static List<String> classes(
            List<Object> raw,
            boolean names,
            List<String> headNames,
            String labelCol,
            String stage) {
        if (headNames != null) {
            return headNames;
        }
        TreeSet<String> seen = new TreeSet<>();
        int maxIndex = -1;
        for (int i = 0; i < raw.size(); i++) {
            for (Object v : entries(raw.get(i), i, labelCol, stage)) {
                if (names) {
                    seen.add(name(v, i, labelCol, stage));
                } else {
                    maxIndex = Math.max(maxIndex, index(v, Integer.MAX_VALUE, i, labelCol, stage));
                }
            }
        }
        List<String> out = new ArrayList<>(seen);
        for (int c = 0; c <= maxIndex; c++) {
            out.add("LABEL_" + c);
        }
        if (out.isEmpty()) {
            throw ColumnException.label(
                    stage,
                    labelCol,
                    " holds only empty arrays, so there is no class to learn; give at least one"
                            + " row a label.");
        }
        return out;
    }

    /**
     * The 0/1 target rows of a multi-label column over {@code classes} (a name not among them, or
     * an index beyond them, is an error naming it and the known classes).
     */
    static float[][] multiHot(
            List<Object> raw, boolean names, List<String> classes, String labelCol, String stage) {
        Map<String, Integer> ids = new TreeMap<>();
        for (int c = 0; c < classes.size(); c++) {
            ids.put(classes.get(c), c);
        }
        float[][] out = new float[raw.size()][classes.size()];
        for (int i = 0; i < raw.size(); i++) {
            for (Object v : entries(raw.get(i), i, labelCol, stage)) {
                int c;
                if (names) {
                    Integer id = ids.get(name(v, i, labelCol, stage));
                    if (id == null) {
                        throw ColumnException.label(
                                stage,
                                labelCol,
                                String.format(
                                        Locale.ROOT,
                                        " has the unknown class name '%s' at row %d; the head's"
                                                + " classes are %s: use only those names, or"
                                                + " start from a checkpoint without a head.",
                                        v,
                                        i,
                                        classes));
                    }
                    c = id;
                } else {
                    c = index(v, classes.size(), i, labelCol, stage);
                }
                out[i][c] = 1f;
            }
        }
        return out;
    }

    /** The [n][1] targets of a regression column: finite numbers. */
    static float[][] values(List<Object> raw, String labelCol, String stage) {
        float[][] out = new float[raw.size()][1];
        for (int i = 0; i < raw.size(); i++) {
            Object v = raw.get(i);
            double d = v instanceof Number n ? n.doubleValue() : Double.NaN;
            if (v == null || !Double.isFinite(d)) {
                throw ColumnException.label(
                        stage,
                        labelCol,
                        String.format(
                                Locale.ROOT,
                                " has the value %s at row %d; regression labels must be finite"
                                        + " numbers: drop or fill rows without one.",
                                v,
                                i));
            }
            out[i][0] = (float) d;
        }
        return out;
    }

    /** The entries of one multi-label row; a null array is an error (empty means no class). */
    private static List<?> entries(Object v, int row, String labelCol, String stage) {
        if (v == null) {
            throw ColumnException.label(
                    stage,
                    labelCol,
                    String.format(
                            Locale.ROOT,
                            " is null at row %d; give an array of the row's classes (an empty"
                                    + " array for none).",
                            row));
        }
        return (List<?>) v;
    }

    private static String name(Object v, int row, String labelCol, String stage) {
        if (v == null || v.toString().isBlank()) {
            throw ColumnException.label(
                    stage,
                    labelCol,
                    String.format(
                            Locale.ROOT,
                            " has a null or blank class name at row %d; remove it from the array.",
                            row));
        }
        return v.toString();
    }

    private static int index(Object v, int k, int row, String labelCol, String stage) {
        double d = v instanceof Number n ? n.doubleValue() : Double.NaN;
        if (!(d >= 0 && d == Math.rint(d) && d < k)) {
            throw ColumnException.label(
                    stage,
                    labelCol,
                    String.format(
                            Locale.ROOT,
                            " has the class index %s at row %d; multi-label indices must be whole"
                                    + " numbers 0..%s.",
                            v,
                            row,
                            k == Integer.MAX_VALUE ? "k-1" : String.valueOf(k - 1)));
        }
        return (int) d;
    }
}
