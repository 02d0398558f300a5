package io.sparkbert.inference;

import io.sparkbert.bert.ClassifierHead;
import io.sparkbert.bert.Pooling;
import java.io.Serializable;
import java.util.Locale;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamValidators;
import org.apache.spark.ml.param.Params;

/**
 * What a partition scorer computes and how it batches: the model, the output (sentence embeddings
 * or classifier logits), tokenization limits, batching, long-text handling and invalid-input
 * policy. Built on the driver by a stage and shipped with its tasks.
 *
 * <p>A mutable builder-style object: configure it, then hand it to {@link PartitionScorer}; do not
 * change it afterwards. Not thread-safe while being configured; safe to share once configured.
 */
public final class ScoringSpec implements Serializable {
    /**
     * Rows length-sorted together by default. Larger windows pad less (on the UCI sentences: 7.3%
     * padded tokens at 1,024 rows, 1.5% at 8,192) and scored 9% faster on CPU (docs/lab-notes.md);
     * a task holds one window of input rows and outputs in memory.
     */
    public static final int DEFAULT_WINDOW_SIZE = 8192;

    /**
     * The {@code windowSize} param of the scoring stages ({@code BertEmbeddings}, {@code
     * BertClassificationModel}), one definition for both; the caller sets its default.
     */
    public static IntParam windowSizeParam(Params owner) {
        return new IntParam(
                owner,
                "windowSize",
                "rows read and length-sorted together before batching (larger windows pad less"
                        + " and hold more rows in memory), >= 1 (default "
                        + DEFAULT_WINDOW_SIZE
                        + ")",
                ParamValidators.gtEq(1));
    }

    /**
     * The {@code handleInvalid} param of the scoring stages ({@code BertEmbeddings}, {@code
     * BertTokenizer}, {@code BertClassificationModel}), declared once: what a row whose text (or
     * pair text) is null or blank gets. Default {@code error} (set by each stage).
     */
    public static Param<String> handleInvalidParam(Params owner) {
        return new Param<>(
                owner,
                "handleInvalid",
                "rows whose text (or pair text) is null or blank: error (fail naming the column),"
                        + " skip (drop the row) or keep (null outputs) (default error)",
                ParamValidators.inArray(new String[] {"error", "skip", "keep"}));
    }

    private static final long serialVersionUID = 1L;

    /** What each document yields. */
    public enum Output {
        /** A pooled sentence vector (cls or mean), optionally L2-normalised. */
        EMBEDDING,
        /** Classifier logits and their softmax probabilities. */
        LOGITS
    }

    private final ModelSource source;
    private final Output output;
    private String stage = "BertEmbeddings";
    private String inputCol = "text";
    private String pairCol;
    private String device = "auto";
    private Pooling pooling = Pooling.MEAN;
    private boolean normalize;
    private int maxLength = 128;
    private int batchSize = 32;
    private int maxTokens;
    private int windowSize = DEFAULT_WINDOW_SIZE;
    private boolean sortByLength = true;
    private int padTo;
    private String overflow = "truncate";
    private int stride = 32;
    private String handleInvalid = "keep";
    private String head = "pooler";
    private String invalidHint;

    /**
     * @param source the model
     * @param output embeddings or logits
     */
    public ScoringSpec(ModelSource source, Output output) {
        if (source == null || output == null) {
            throw new IllegalArgumentException("ScoringSpec needs a model source and an output");
        }
        this.source = source;
        this.output = output;
    }

    /** Names the stage and columns used in error messages; {@code pairCol} may be null. */
    public ScoringSpec columns(String stage, String inputCol, String pairCol) {
        this.stage = stage;
        this.inputCol = inputCol;
        this.pairCol = pairCol == null || pairCol.isEmpty() ? null : pairCol;
        return this;
    }

    /** The device param: auto, cpu or gpu (default auto). */
    public ScoringSpec device(String value) {
        this.device = value;
        return this;
    }

    /** Pooling and normalisation of embeddings (default mean, not normalised). */
    public ScoringSpec pooling(Pooling value, boolean l2Normalize) {
        this.pooling = value;
        this.normalize = l2Normalize;
        return this;
    }

    /** Most tokens per sequence including special tokens (default 128). */
    public ScoringSpec maxLength(int value) {
        this.maxLength = positive("maxLength", value);
        return this;
    }

    /** Most rows per forward pass (default 32). */
    public ScoringSpec batchSize(int value) {
        this.batchSize = positive("batchSize", value);
        return this;
    }

    /** Most padded tokens (rows x longest) per forward pass, 0 for no budget (default). */
    public ScoringSpec maxTokens(int value) {
        if (value < 0) {
            throw new IllegalArgumentException(
                    "maxTokens must be 0 (no budget) or positive, got " + value);
        }
        this.maxTokens = value;
        return this;
    }

    /** Rows read, tokenized and length-sorted together (default {@value #DEFAULT_WINDOW_SIZE}). */
    public ScoringSpec windowSize(int value) {
        this.windowSize = positive("windowSize", value);
        return this;
    }

    /**
     * Benchmark knobs: whether batches group rows of similar length (default true) and a fixed
     * length every batch is padded to (0, the default, pads each batch to its own longest).
     */
    public ScoringSpec bucketing(boolean sort, int fixedPadding) {
        if (fixedPadding < 0) {
            throw new IllegalArgumentException("fixedPadding must be >= 0, got " + fixedPadding);
        }
        this.sortByLength = sort;
        this.padTo = fixedPadding;
        return this;
    }

    /** {@code truncate} (default) or {@code window}, with the overlap of windows in tokens. */
    public ScoringSpec overflow(String mode, int windowStride) {
        String m = mode == null ? "" : mode.trim().toLowerCase(Locale.ROOT);
        if (!m.equals("truncate") && !m.equals("window")) {
            throw new IllegalArgumentException(
                    stage
                            + ": invalid overflow '"
                            + mode
                            + "', must be one of [truncate, window].");
        }
        if (windowStride < 0) {
            throw new IllegalArgumentException(
                    stage + ": stride must be >= 0, got " + windowStride + ".");
        }
        this.overflow = m;
        this.stride = windowStride;
        return this;
    }

    /** {@code keep} (null output, default) or {@code error} for null or blank texts. */
    public ScoringSpec handleInvalid(String value) {
        String v = value == null ? "" : value.trim().toLowerCase(Locale.ROOT);
        if (!v.equals("keep") && !v.equals("error")) {
            throw new IllegalArgumentException(
                    stage
                            + ": invalid handleInvalid '"
                            + value
                            + "', must be one of [keep, error].");
        }
        this.handleInvalid = v;
        return this;
    }

    /**
     * The fix an invalid-input error suggests (default: set the stage's handleInvalid to keep, or
     * filter the rows out).
     */
    public ScoringSpec invalidHint(String value) {
        this.invalidHint = value;
        return this;
    }

    /**
     * How a classifier turns hidden states into logits: {@code pooler} (HF pooler then classifier,
     * the default), {@code cls} or {@code mean} (see {@code ClassifierHead}). Only for logits.
     */
    public ScoringSpec classifierHead(String value) {
        this.head = ClassifierHead.parse(value).id();
        return this;
    }

    private static int positive(String name, int value) {
        if (value < 1) {
            throw new IllegalArgumentException(name + " must be at least 1, got " + value);
        }
        return value;
    }

    ModelSource source() {
        return source;
    }

    Output output() {
        return output;
    }

    String stage() {
        return stage;
    }

    String inputCol() {
        return inputCol;
    }

    String pairCol() {
        return pairCol;
    }

    String device() {
        return device;
    }

    Pooling pooling() {
        return pooling;
    }

    boolean normalize() {
        return normalize;
    }

    int maxLength() {
        return maxLength;
    }

    int batchSize() {
        return batchSize;
    }

    int maxTokens() {
        return maxTokens;
    }

    int windowSize() {
        return windowSize;
    }

    boolean sortByLength() {
        return sortByLength;
    }

    int padTo() {
        return padTo;
    }

    boolean windowed() {
        return overflow.equals("window");
    }

    int stride() {
        return stride;
    }

    ClassifierHead head() {
        return ClassifierHead.parse(head);
    }

    String invalidHint() {
        return invalidHint != null
                ? invalidHint
                : "To output null for such rows, set "
                        + stage
                        + ".handleInvalid to \"keep\"; or filter them out first.";
    }

    boolean keepInvalid() {
        return handleInvalid.equals("keep");
    }
}
