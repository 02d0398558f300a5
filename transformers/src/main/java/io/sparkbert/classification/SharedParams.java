package io.sparkbert.classification;

import io.sparkbert.bert.ProblemType;
import java.util.Arrays;
import java.util.Locale;
import org.apache.spark.ml.attribute.Attribute;
import org.apache.spark.ml.attribute.AttributeGroup;
import org.apache.spark.ml.attribute.NominalAttribute;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.ParamValidators;
import org.apache.spark.ml.param.Params;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.Metadata;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * Param factories and validators for {@link BertClassifier} and {@link BertClassificationModel}
 * (the params they share are in {@link ClassifierParams}), plus the schema checks both run.
 * Stateless and thread-safe.
 */
final class SharedParams {
    private SharedParams() {}

    static IntParam batchSize(Params owner) {
        return new IntParam(
                owner,
                "batchSize",
                "texts per training step and per forward pass when scoring; >= 1 (default 16)",
                ParamValidators.gtEq(1));
    }

    static IntParam maxLength(Params owner) {
        return new IntParam(
                owner,
                "maxLength",
                "maximum tokens per text (pair), special tokens included; >= 2, capped by the"
                        + " model (default 128)",
                ParamValidators.gtEq(2));
    }

    static scala.Function1<String, Object> nonBlank() {
        return new NonBlank();
    }

    static scala.Function1<String, Object> notNull() {
        return new NotNull();
    }

    static scala.Function1<double[], Object> validThresholds() {
        return new ValidThresholds();
    }

    /** A serializable "non-null, non-blank string" validator. */
    private static final class NonBlank extends scala.runtime.AbstractFunction1<String, Object>
            implements java.io.Serializable {
        private static final long serialVersionUID = 1L;

        @Override
        public Object apply(String v) {
            return v != null && !v.trim().isEmpty();
        }
    }

    /** A serializable "non-null string" validator. */
    private static final class NotNull extends scala.runtime.AbstractFunction1<String, Object>
            implements java.io.Serializable {
        private static final long serialVersionUID = 1L;

        @Override
        public Object apply(String v) {
            return v != null;
        }
    }

    /** Thresholds: finite, >= 0, at most one zero (MLlib's rule). */
    private static final class ValidThresholds
            extends scala.runtime.AbstractFunction1<double[], Object>
            implements java.io.Serializable {
        private static final long serialVersionUID = 1L;

        @Override
        public Object apply(double[] t) {
            return t != null
                    && Arrays.stream(t).allMatch(x -> x >= 0 && Double.isFinite(x))
                    && Arrays.stream(t).filter(x -> x == 0).count() <= 1;
        }
    }

    /** Checks that the text column (and the pair column when set) exist and are strings. */
    static void requireTexts(StructType schema, ClassifierParams<?> p, String stage) {
        requireString(schema, p.getTextCol(), "textCol", stage);
        if (!p.getTextPairCol().isEmpty()) {
            requireString(schema, p.getTextPairCol(), "textPairCol", stage);
        }
    }

    /** Checks that a column exists and is a string; names stage, param and column. */
    static void requireString(StructType schema, String column, String param, String stage) {
        requireExists(schema, column, param, stage);
        StructField f = schema.apply(column);
        if (!f.dataType().equals(DataTypes.StringType)) {
            throw new IllegalArgumentException(
                    String.format(
                            Locale.ROOT,
                            "%s: column '%s' (param %s) must be of type string but is %s; cast it"
                                    + " first.",
                            stage,
                            column,
                            param,
                            f.dataType().simpleString()));
        }
    }

    static void requireExists(StructType schema, String column, String param, String stage) {
        if (!Arrays.asList(schema.fieldNames()).contains(column)) {
            throw new IllegalArgumentException(
                    String.format(
                            Locale.ROOT,
                            "%s: column '%s' (param %s) does not exist; available columns: %s."
                                    + " Set %s to one of them.",
                            stage,
                            column,
                            param,
                            Arrays.toString(schema.fieldNames()),
                            param));
        }
    }

    static void requireAbsent(StructType schema, String column, String param, String stage) {
        if (Arrays.asList(schema.fieldNames()).contains(column)) {
            throw new IllegalArgumentException(
                    String.format(
                            Locale.ROOT,
                            "%s: output column '%s' (param %s) already exists; choose another name"
                                    + " or drop the column first.",
                            stage,
                            column,
                            param));
        }
    }

    /**
     * Appends the three classifier output columns (with class-count metadata); {@code nullable}
     * when rows with invalid input are kept with null outputs.
     */
    static StructType withOutputs(
            StructType schema,
            String prediction,
            String probability,
            String raw,
            int k,
            boolean nullable) {
        Metadata predMeta =
                k > 0
                        ? NominalAttribute.defaultAttr()
                                .withName(prediction)
                                .withNumValues(k)
                                .toMetadata()
                        : Metadata.empty();
        StructType out =
                schema.add(new StructField(prediction, DataTypes.DoubleType, nullable, predMeta));
        out = out.add(vectorField(probability, k, nullable));
        return out.add(vectorField(raw, k, nullable));
    }

    /**
     * Appends the output columns of {@code type}: single-label as {@link #withOutputs}; multi-label
     * the prediction as an array of class indices (array&lt;double&gt;, what MLlib's {@code
     * MultilabelClassificationEvaluator} reads) plus the probability and logit Vectors; regression
     * the predicted value alone (MLlib regressors have only a prediction column).
     */
    static StructType withOutputs(
            StructType schema,
            ProblemType type,
            String prediction,
            String probability,
            String raw,
            int k,
            boolean nullable) {
        if (type == ProblemType.SINGLE_LABEL) {
            return withOutputs(schema, prediction, probability, raw, k, nullable);
        }
        if (type == ProblemType.REGRESSION) {
            return schema.add(
                    new StructField(prediction, DataTypes.DoubleType, nullable, Metadata.empty()));
        }
        StructType out =
                schema.add(
                        new StructField(
                                prediction,
                                DataTypes.createArrayType(DataTypes.DoubleType, false),
                                nullable,
                                Metadata.empty()));
        out = out.add(vectorField(probability, k, nullable));
        return out.add(vectorField(raw, k, nullable));
    }

    private static StructField vectorField(String name, int k, boolean nullable) {
        Metadata m = k > 0 ? new AttributeGroup(name, k).toMetadata() : Metadata.empty();
        return new StructField(name, SQLDataTypes.VectorType(), nullable, m);
    }

    /** The class count a label column's metadata declares (NominalAttribute), or -1. */
    static int numClassesFromMetadata(StructField field) {
        Attribute a = Attribute.fromStructField(field);
        if (a instanceof NominalAttribute) {
            NominalAttribute n = (NominalAttribute) a;
            if (n.getNumValues().isDefined()) {
                return (Integer) n.getNumValues().get();
            }
        }
        return -1;
    }

    /** The class names a label column's metadata declares, or null. */
    static String[] classNamesFromMetadata(StructField field) {
        Attribute a = Attribute.fromStructField(field);
        if (a instanceof NominalAttribute && ((NominalAttribute) a).values().isDefined()) {
            return ((NominalAttribute) a).values().get();
        }
        return null;
    }
}
