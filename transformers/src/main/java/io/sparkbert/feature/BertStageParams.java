package io.sparkbert.feature;

import io.sparkbert.bert.BuiltInModel;
import io.sparkbert.inference.ScoringSpec;
import io.sparkbert.persistence.ModelLocation;
import java.util.Arrays;
import java.util.Locale;
import org.apache.spark.ml.Transformer;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamValidators;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * Params and schema checks shared by the BERT feature stages: {@code inputCol}, {@code pairCol},
 * {@code model}, {@code maxLength}, {@code handleInvalid}. Params are created in the constructor,
 * after the uid is set (SPARK-15605). Not thread-safe for concurrent param changes, like every
 * Spark stage.
 */
abstract class BertStageParams extends Transformer {
    private static final long serialVersionUID = 1L;

    /** handleInvalid: fail on null or empty text. */
    static final String ERROR = "error";

    /** handleInvalid: drop rows with null or empty text. */
    static final String SKIP = "skip";

    /** handleInvalid: keep rows with null or empty text, with null outputs. */
    static final String KEEP = "keep";

    private final String uid;
    private final Param<String> inputCol;
    private final Param<String> pairCol;
    private final Param<String> model;
    private final IntParam maxLength;
    private final Param<String> handleInvalid;

    BertStageParams(String uid) {
        if (uid == null || uid.isEmpty()) {
            throw new IllegalArgumentException("uid must not be null or empty");
        }
        this.uid = uid;
        inputCol =
                new Param<>(
                        this,
                        "inputCol",
                        "input column of text (string); required, no default",
                        Validators.notBlank());
        pairCol =
                new Param<>(
                        this,
                        "pairCol",
                        "optional column with the second text of a sentence pair (string);"
                                + " \"\" means single sentences (default \"\")",
                        Validators.notNull());
        model =
                new Param<>(
                        this,
                        "model",
                        "a built-in encoder: "
                                + BuiltInModel.describeNames()
                                + " (bert-base-uncased vocabulary; bge needs its jar, see README),"
                                + " or the URI of a model directory holding"
                                + " tokenizer.json or vocab.txt (local path, file:, hdfs://,"
                                + " ...) (default \"default\")",
                        Validators.notBlank());
        maxLength =
                new IntParam(
                        this,
                        "maxLength",
                        "maximum number of tokens per row, special tokens included; >= 1, capped"
                                + " by the model's maximum length (default 512)",
                        ParamValidators.gtEq(1));
        handleInvalid = ScoringSpec.handleInvalidParam(this);
        setDefault(pairCol, "");
        setDefault(model, ModelLocation.DEFAULT);
        setDefault(maxLength, 512);
        setDefault(handleInvalid, ERROR);
    }

    @Override
    public String uid() {
        return uid;
    }

    /** The input text column. */
    public Param<String> inputCol() {
        return inputCol;
    }

    /** The optional second-text column. */
    public Param<String> pairCol() {
        return pairCol;
    }

    /** The model location. */
    public Param<String> model() {
        return model;
    }

    /** The maximum number of tokens. */
    public IntParam maxLength() {
        return maxLength;
    }

    /** The policy for null or empty text. */
    public Param<String> handleInvalid() {
        return handleInvalid;
    }

    /** The value of {@link #inputCol()}. */
    public String getInputCol() {
        return getOrDefault(inputCol);
    }

    /** The value of {@link #pairCol()}. */
    public String getPairCol() {
        return getOrDefault(pairCol);
    }

    /** The value of {@link #model()}. */
    public String getModel() {
        return getOrDefault(model);
    }

    /** The value of {@link #maxLength()}. */
    public int getMaxLength() {
        return (Integer) getOrDefault(maxLength);
    }

    /** The value of {@link #handleInvalid()}. */
    public String getHandleInvalid() {
        return getOrDefault(handleInvalid);
    }

    /** {@code ClassName[uid]} for messages. */
    String stageName() {
        return getClass().getSimpleName() + "[" + uid + "]";
    }

    /** Whether a pair column is configured. */
    boolean hasPair() {
        return !getPairCol().isEmpty();
    }

    /**
     * Checks inputCol (and pairCol) exist and are strings, and that a local model directory exists;
     * remote locations are checked when executors open them.
     */
    void validateInputs(StructType schema) {
        if (!isDefined(inputCol)) {
            throw new IllegalArgumentException(
                    stageName() + ": param inputCol is not set; call setInputCol(\"text\").");
        }
        requireStringColumn(schema, getInputCol(), "inputCol");
        if (hasPair()) {
            requireStringColumn(schema, getPairCol(), "pairCol");
        }
        ModelLocation location;
        try {
            location = ModelLocation.of(getModel());
            if (location.isLocal()) {
                location.localPath();
            }
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(stageName() + ": param model: " + e.getMessage(), e);
        }
    }

    private void requireStringColumn(StructType schema, String column, String param) {
        if (!Arrays.asList(schema.fieldNames()).contains(column)) {
            throw new IllegalArgumentException(
                    String.format(
                            Locale.ROOT,
                            "%s: input column '%s' (param %s) does not exist; available columns:"
                                    + " %s. Set %s to one of them.",
                            stageName(),
                            column,
                            param,
                            Arrays.toString(schema.fieldNames()),
                            param));
        }
        StructField field = schema.apply(column);
        if (!field.dataType().equals(DataTypes.StringType)) {
            throw new IllegalArgumentException(
                    String.format(
                            Locale.ROOT,
                            "%s: input column '%s' (param %s) must be of type string but is %s;"
                                    + " cast it first, e.g. col(\"%s\").cast(\"string\").",
                            stageName(),
                            column,
                            param,
                            field.dataType().simpleString(),
                            column));
        }
    }

    /** Checks an output column does not exist yet. */
    void requireAbsent(StructType schema, String column, String param) {
        if (Arrays.asList(schema.fieldNames()).contains(column)) {
            throw new IllegalArgumentException(
                    String.format(
                            Locale.ROOT,
                            "%s: output column '%s' (param %s) already exists; choose another"
                                    + " name with set%s(...) or drop the column first.",
                            stageName(),
                            column,
                            param,
                            Character.toUpperCase(param.charAt(0)) + param.substring(1)));
        }
    }
}
