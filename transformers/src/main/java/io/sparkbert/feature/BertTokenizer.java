package io.sparkbert.feature;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.length;

import io.sparkbert.bert.Encoding;
import io.sparkbert.bert.HfTokenizer;
import io.sparkbert.bert.TokenizerOptions;
import io.sparkbert.inference.TextColumns;
import io.sparkbert.inference.TokenizerCache;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.apache.spark.ml.param.BooleanParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.param.ParamValidators;
import org.apache.spark.ml.util.DefaultParamsReader;
import org.apache.spark.ml.util.DefaultParamsWritable;
import org.apache.spark.ml.util.Identifiable;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.api.java.UDF2;
import org.apache.spark.sql.expressions.UserDefinedFunction;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * Tokenizes a text column (or a text pair) exactly as HuggingFace's BertTokenizer does, adding
 * {@code tokens} (array&lt;string&gt;), {@code input_ids}, {@code attention_mask} and {@code
 * token_type_ids} (array&lt;int&gt;) columns; an output whose column name is set to "" is left out
 * (at least one must stay).
 *
 * <p>The tokenizer is built once per executor JVM ({@link TokenizerCache}) from the {@code model}
 * location, never per row or partition. Rows are tokenized one by one, so {@code padding} is {@code
 * none} or {@code max_length}.
 *
 * <pre>{@code
 * BertTokenizer tok = new BertTokenizer().setInputCol("text").setMaxLength(128);
 * Dataset<Row> out = tok.transform(df);
 * }</pre>
 *
 * <p>Like every Spark stage, an instance is not safe for concurrent param changes; {@link
 * #transform} itself may be called from several threads.
 */
public class BertTokenizer extends BertStageParams implements DefaultParamsWritable {
    private static final long serialVersionUID = 1L;

    private static final String ENCODED = "__sparkbert_encoded";

    private final Param<String> truncation;
    private final Param<String> padding;
    private final BooleanParam addSpecialTokens;
    private final Param<String> tokensCol;
    private final Param<String> inputIdsCol;
    private final Param<String> attentionMaskCol;
    private final Param<String> tokenTypeIdsCol;

    /** A stage with a random uid {@code bertTok_...}. */
    public BertTokenizer() {
        this(Identifiable.randomUID("bertTok"));
    }

    /** A stage with the given uid (used when loading). */
    public BertTokenizer(String uid) {
        super(uid);
        truncation =
                new Param<>(
                        this,
                        "truncation",
                        "how to cut encodings longer than maxLength: longest_first, only_first,"
                                + " only_second (pairs only) or none (default longest_first)",
                        ParamValidators.inArray(
                                new String[] {
                                    "longest_first", "only_first", "only_second", "none"
                                }));
        padding =
                new Param<>(
                        this,
                        "padding",
                        "none (each row keeps its length) or max_length (pad to maxLength)"
                                + " (default none)",
                        ParamValidators.inArray(new String[] {"none", "max_length"}));
        addSpecialTokens =
                new BooleanParam(
                        this,
                        "addSpecialTokens",
                        "whether to frame rows with [CLS] ... [SEP] (default true)");
        tokensCol =
                new Param<>(
                        this,
                        "tokensCol",
                        "output column of tokens, array<string>; \"\" = off (default tokens)",
                        Validators.notNull());
        inputIdsCol =
                new Param<>(
                        this,
                        "inputIdsCol",
                        "output column of token ids, array<int>; \"\" = off (default input_ids)",
                        Validators.notNull());
        attentionMaskCol =
                new Param<>(
                        this,
                        "attentionMaskCol",
                        "output column of the attention mask (1 token, 0 padding), array<int>;"
                                + " \"\" = off (default attention_mask)",
                        Validators.notNull());
        tokenTypeIdsCol =
                new Param<>(
                        this,
                        "tokenTypeIdsCol",
                        "output column of segment ids (0 first text, 1 second), array<int>;"
                                + " \"\" = off (default token_type_ids)",
                        Validators.notNull());
        setDefault(truncation, "longest_first");
        setDefault(padding, "none");
        setDefault(addSpecialTokens, true);
        setDefault(tokensCol, "tokens");
        setDefault(inputIdsCol, "input_ids");
        setDefault(attentionMaskCol, "attention_mask");
        setDefault(tokenTypeIdsCol, "token_type_ids");
    }

    /** The truncation strategy param. */
    public Param<String> truncation() {
        return truncation;
    }

    /** The padding param. */
    public Param<String> padding() {
        return padding;
    }

    /** The special-tokens param. */
    public BooleanParam addSpecialTokens() {
        return addSpecialTokens;
    }

    /** The tokens output column param. */
    public Param<String> tokensCol() {
        return tokensCol;
    }

    /** The input ids output column param. */
    public Param<String> inputIdsCol() {
        return inputIdsCol;
    }

    /** The attention mask output column param. */
    public Param<String> attentionMaskCol() {
        return attentionMaskCol;
    }

    /** The segment ids output column param. */
    public Param<String> tokenTypeIdsCol() {
        return tokenTypeIdsCol;
    }

    public String getTruncation() {
        return getOrDefault(truncation);
    }

    public String getPadding() {
        return getOrDefault(padding);
    }

    public boolean getAddSpecialTokens() {
        return (Boolean) getOrDefault(addSpecialTokens);
    }

    public String getTokensCol() {
        return getOrDefault(tokensCol);
    }

    public String getInputIdsCol() {
        return getOrDefault(inputIdsCol);
    }

    public String getAttentionMaskCol() {
        return getOrDefault(attentionMaskCol);
    }

    public String getTokenTypeIdsCol() {
        return getOrDefault(tokenTypeIdsCol);
    }

    public BertTokenizer setInputCol(String value) {
        set(inputCol(), value);
        return this;
    }

    public BertTokenizer setPairCol(String value) {
        set(pairCol(), value);
        return this;
    }

    public BertTokenizer setModel(String value) {
        set(model(), value);
        return this;
    }

    public BertTokenizer setMaxLength(int value) {
        set(maxLength(), value);
        return this;
    }

    public BertTokenizer setHandleInvalid(String value) {
        set(handleInvalid(), value);
        return this;
    }

    public BertTokenizer setTruncation(String value) {
        set(truncation, value);
        return this;
    }

    public BertTokenizer setPadding(String value) {
        set(padding, value);
        return this;
    }

    public BertTokenizer setAddSpecialTokens(boolean value) {
        set(addSpecialTokens, value);
        return this;
    }

    public BertTokenizer setTokensCol(String value) {
        set(tokensCol, value);
        return this;
    }

    public BertTokenizer setInputIdsCol(String value) {
        set(inputIdsCol, value);
        return this;
    }

    public BertTokenizer setAttentionMaskCol(String value) {
        set(attentionMaskCol, value);
        return this;
    }

    public BertTokenizer setTokenTypeIdsCol(String value) {
        set(tokenTypeIdsCol, value);
        return this;
    }

    /** The tokenizer options these params describe. */
    public TokenizerOptions tokenizerOptions() {
        return TokenizerOptions.defaults()
                .withMaxLength(getMaxLength())
                .withTruncation(getTruncation())
                .withPadding(getPadding())
                .withAddSpecialTokens(getAddSpecialTokens());
    }

    /** Enabled outputs in struct order: [param name, column name, struct field]. */
    private List<String[]> outputs() {
        List<String[]> out = new ArrayList<>();
        String[][] all = {
            {"tokensCol", getTokensCol(), "tokens"},
            {"inputIdsCol", getInputIdsCol(), "input_ids"},
            {"attentionMaskCol", getAttentionMaskCol(), "attention_mask"},
            {"tokenTypeIdsCol", getTokenTypeIdsCol(), "token_type_ids"}
        };
        for (String[] o : all) {
            if (!o[1].isEmpty()) {
                out.add(o);
            }
        }
        return out;
    }

    @Override
    public StructType transformSchema(StructType schema) {
        validateInputs(schema);
        if ("only_second".equals(getTruncation()) && !hasPair()) {
            throw new IllegalArgumentException(
                    stageName()
                            + ": truncation only_second needs pairCol; set pairCol or use"
                            + " longest_first.");
        }
        List<String[]> outputs = outputs();
        if (outputs.isEmpty()) {
            throw new IllegalArgumentException(
                    stageName()
                            + ": every output column is off (tokensCol, inputIdsCol,"
                            + " attentionMaskCol and tokenTypeIdsCol are \"\"); set at least"
                            + " one, e.g. setInputIdsCol(\"input_ids\").");
        }
        Set<String> seen = new HashSet<>();
        StructType out = schema;
        for (String[] o : outputs) {
            requireAbsent(schema, o[1], o[0]);
            if (!seen.add(o[1])) {
                throw new IllegalArgumentException(
                        stageName()
                                + ": output column '"
                                + o[1]
                                + "' is named by two params; give "
                                + o[0]
                                + " another name.");
            }
            out =
                    out.add(
                            new StructField(
                                    o[1],
                                    typeOf(o[2]),
                                    true,
                                    org.apache.spark.sql.types.Metadata.empty()));
        }
        return out;
    }

    private static DataType typeOf(String field) {
        return "tokens".equals(field)
                ? DataTypes.createArrayType(DataTypes.StringType, false)
                : DataTypes.createArrayType(DataTypes.IntegerType, false);
    }

    private static StructType encodedType() {
        List<StructField> fields = new ArrayList<>();
        for (String f : new String[] {"tokens", "input_ids", "attention_mask", "token_type_ids"}) {
            fields.add(DataTypes.createStructField(f, typeOf(f), false));
        }
        return DataTypes.createStructType(fields);
    }

    @Override
    public Dataset<Row> transform(Dataset<?> dataset) {
        transformSchema(dataset.schema());
        Dataset<?> input = dataset;
        Column text = TextColumns.named(getInputCol());
        Column pair = hasPair() ? TextColumns.named(getPairCol()) : null;
        if (SKIP.equals(getHandleInvalid())) {
            Column valid = text.isNotNull().and(length(text).gt(0));
            if (pair != null) {
                valid = valid.and(pair.isNotNull()).and(length(pair).gt(0));
            }
            input = dataset.filter(valid);
        }
        Encoder encoder =
                new Encoder(
                        getModel(),
                        tokenizerOptions(),
                        getHandleInvalid(),
                        stageName(),
                        getInputCol(),
                        hasPair() ? getPairCol() : null);
        UserDefinedFunction udf =
                pair == null
                        ? functions.udf((UDF1<String, Row>) encoder::single, encodedType())
                        : functions.udf((UDF2<String, String, Row>) encoder::pair, encodedType());
        Column encoded = pair == null ? udf.apply(text) : udf.apply(text, pair);
        Dataset<Row> withStruct = input.withColumn(ENCODED, encoded);
        List<Column> select = new ArrayList<>();
        for (String name : dataset.columns()) {
            select.add(TextColumns.named(name));
        }
        for (String[] o : outputs()) {
            select.add(col(ENCODED).getField(o[2]).as(o[1]));
        }
        return withStruct.select(select.toArray(new Column[0]));
    }

    /** Serializable per-row encoder; holds only the settings and looks up the JVM's tokenizer. */
    private static final class Encoder implements Serializable {
        private static final long serialVersionUID = 1L;
        private final String model;
        private final TokenizerOptions options;
        private final String handleInvalid;
        private final String stageName;
        private final String inputCol;
        private final String pairCol;

        Encoder(
                String model,
                TokenizerOptions options,
                String handleInvalid,
                String stageName,
                String inputCol,
                String pairCol) {
            this.model = model;
            this.options = options;
            this.handleInvalid = handleInvalid;
            this.stageName = stageName;
            this.inputCol = inputCol;
            this.pairCol = pairCol;
        }

        Row single(String text) {
            if (invalid(text, inputCol, "inputCol")) {
                return null;
            }
            return toRow(TokenizerCache.get(model, options).encode(text));
        }

        Row pair(String a, String b) {
            boolean badA = invalid(a, inputCol, "inputCol");
            boolean badB = invalid(b, pairCol, "pairCol");
            if (badA || badB) {
                return null;
            }
            HfTokenizer tokenizer = TokenizerCache.get(model, options);
            return toRow(tokenizer.encode(a, b));
        }

        /** True when the row must get null outputs; throws under handleInvalid=error. */
        private boolean invalid(String text, String column, String param) {
            if (text != null && !text.isEmpty()) {
                return false;
            }
            if (ERROR.equals(handleInvalid)) {
                throw new IllegalArgumentException(
                        stageName
                                + " encountered "
                                + (text == null ? "a NULL" : "an empty")
                                + " value in column '"
                                + column
                                + "' ("
                                + param
                                + "). To drop such rows set handleInvalid to \"skip\"; to keep"
                                + " them with null outputs set it to \"keep\".");
            }
            return true;
        }

        private static Row toRow(Encoding e) {
            return RowFactory.create(
                    e.tokens(),
                    toInts(e.inputIds()),
                    toInts(e.attentionMask()),
                    toInts(e.tokenTypeIds()));
        }

        private static int[] toInts(long[] values) {
            int[] out = new int[values.length];
            for (int i = 0; i < values.length; i++) {
                out[i] = Math.toIntExact(values[i]);
            }
            return out;
        }
    }

    @Override
    public BertTokenizer copy(ParamMap extra) {
        return defaultCopy(extra);
    }

    /** The reader for saved stages. */
    public static MLReader<BertTokenizer> read() {
        return new DefaultParamsReader<>();
    }

    /** Loads a stage saved with {@code write().save(path)}. */
    public static BertTokenizer load(String path) {
        return read().load(path);
    }
}
