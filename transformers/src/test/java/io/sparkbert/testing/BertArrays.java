package io.sparkbert.testing;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.sparkbert.bert.BertConfig;
import io.sparkbert.bert.BertModel;
import io.sparkbert.bert.BertOutputs;
import io.sparkbert.bert.ClassifierHead;
import io.sparkbert.bert.Encoding;
import io.sparkbert.bert.Pooling;
import java.util.List;

/**
 * Runs a {@link BertModel} on Java arrays, for tests that compare its outputs with reference
 * values: each call checks the ids, types and mask (naming the offending cell), runs {@link
 * BertModel#forward} without dropout in a scope of its own and returns plain arrays. Thread-safe as
 * far as the model's forward pass is.
 */
public final class BertArrays {
    private BertArrays() {}

    /**
     * Sentence embeddings for a padded batch; manages its own scope.
     *
     * @param ids [batch][seq] token ids
     * @param typeIds [batch][seq] segment ids, or null for zeros
     * @param mask [batch][seq] attention mask, or null for ones
     * @param pooling CLS or MEAN
     * @param normalize whether to L2-normalise
     * @return [batch][hidden]
     */
    public static float[][] embed(
            BertModel model,
            long[][] ids,
            long[][] typeIds,
            long[][] mask,
            Pooling pooling,
            boolean normalize) {
        if (pooling == null) {
            throw new IllegalArgumentException("pooling must be one of [CLS, MEAN], got null");
        }
        try (NDManager scope = newScope(model)) {
            NDArray[] in = inputs(model.config(), scope, ids, typeIds, mask);
            BertOutputs out = model.forward(scope, in[0], in[1], in[2], false);
            NDArray v = BertModel.sentenceVectors(out.lastHiddenState(), in[2], pooling);
            if (normalize) {
                v = BertModel.l2Normalize(v);
            }
            return to2d(v);
        }
    }

    /**
     * The sentence embedding of one encoding (its ids, segment ids and mask); see {@link #embed}.
     */
    public static float[] embed(BertModel model, Encoding e, Pooling pooling, boolean normalize) {
        return embed(
                model,
                rows(e.inputIds()),
                rows(e.tokenTypeIds()),
                rows(e.attentionMask()),
                pooling,
                normalize)[0];
    }

    /** The logits of one encoding (its ids, segment ids and mask); see {@link #logits}. */
    public static float[] logits(BertModel model, Encoding e) {
        return logits(model, rows(e.inputIds()), rows(e.tokenTypeIds()), rows(e.attentionMask()))[
                0];
    }

    private static long[][] rows(long[] row) {
        return new long[][] {row};
    }

    /**
     * The HF pooler output for a padded batch.
     *
     * @return [batch][hidden]
     * @throws IllegalStateException when the model has no pooler
     */
    public static float[][] pooler(BertModel model, long[][] ids, long[][] typeIds, long[][] mask) {
        if (!model.hasPooler()) {
            model.pool(null); // throws the explanatory IllegalStateException
        }
        try (NDManager scope = newScope(model)) {
            NDArray[] in = inputs(model.config(), scope, ids, typeIds, mask);
            return to2d(model.forward(scope, in[0], in[1], in[2], false).pooledOutput());
        }
    }

    /**
     * Classification logits for a padded batch.
     *
     * @return [batch][numLabels]
     * @throws IllegalStateException when the model has no head
     */
    public static float[][] logits(BertModel model, long[][] ids, long[][] typeIds, long[][] mask) {
        if (!model.hasClassifier()) {
            model.classify(null, false); // throws the explanatory IllegalStateException
        }
        if (!model.hasPooler()) {
            model.pool(null); // a mean- or cls-pooled head: see ClassifierHead
        }
        try (NDManager scope = newScope(model)) {
            NDArray[] in = inputs(model.config(), scope, ids, typeIds, mask);
            return to2d(model.forward(scope, in[0], in[1], in[2], false).logits());
        }
    }

    /**
     * The last hidden state for a padded batch (padding positions included).
     *
     * @return [batch][seq][hidden]
     */
    public static float[][][] lastHiddenState(
            BertModel model, long[][] ids, long[][] typeIds, long[][] mask) {
        try (NDManager scope = newScope(model)) {
            NDArray[] in = inputs(model.config(), scope, ids, typeIds, mask);
            NDArray h = model.forward(scope, in[0], in[1], in[2], false).lastHiddenState();
            Shape s = h.getShape();
            int b = (int) s.get(0);
            int n = (int) s.get(1);
            int d = (int) s.get(2);
            float[] flat = h.toFloatArray();
            float[][][] out = new float[b][n][d];
            for (int i = 0; i < b; i++) {
                for (int j = 0; j < n; j++) {
                    System.arraycopy(flat, (i * n + j) * d, out[i][j], 0, d);
                }
            }
            return out;
        }
    }

    /**
     * The logits of encoded texts, computed in one batch padded to its longest encoding, without
     * dropout or gradients; every NDArray lives in a scope closed before returning.
     *
     * @param head how the head reads the encoder
     * @param model a model with a classification head
     * @param batch the encodings (any lengths; padding is added here)
     * @return [batch.size()][numLabels]
     */
    public static float[][] logits(ClassifierHead head, BertModel model, List<Encoding> batch) {
        if (batch.isEmpty()) {
            return new float[0][];
        }
        int longest = 1;
        for (Encoding e : batch) {
            longest = Math.max(longest, e.length());
        }
        int n = batch.size();
        long[] ids = new long[n * longest];
        long[] types = new long[n * longest];
        long[] mask = new long[n * longest];
        for (int r = 0; r < n; r++) {
            Encoding e = batch.get(r);
            System.arraycopy(e.inputIds(), 0, ids, r * longest, e.length());
            System.arraycopy(e.tokenTypeIds(), 0, types, r * longest, e.length());
            System.arraycopy(e.attentionMask(), 0, mask, r * longest, e.length());
        }
        Shape shape = new Shape(n, longest);
        try (NDManager scope = NDManager.newBaseManager(model.device())) {
            NDArray out =
                    head.logits(
                            model,
                            scope,
                            scope.create(ids, shape),
                            scope.create(types, shape),
                            scope.create(mask, shape),
                            false);
            int k = (int) out.getShape().get(1);
            float[] flat = out.toFloatArray();
            float[][] rows = new float[n][k];
            for (int r = 0; r < n; r++) {
                System.arraycopy(flat, r * k, rows[r], 0, k);
            }
            return rows;
        }
    }

    private static NDManager newScope(BertModel model) {
        model.parameters(); // throws IllegalStateException once the model is closed
        return NDManager.newBaseManager(model.device());
    }

    private static NDArray[] inputs(
            BertConfig config, NDManager scope, long[][] ids, long[][] typeIds, long[][] mask) {
        if (ids == null || ids.length == 0) {
            throw new IllegalArgumentException("ids must hold at least one sequence");
        }
        int seq = ids[0].length;
        long[] flatIds = flatten("ids", ids, ids.length, seq, 0, config.vocabSize(), "vocab_size");
        long[] flatTypes =
                typeIds == null
                        ? null
                        : flatten(
                                "typeIds",
                                typeIds,
                                ids.length,
                                seq,
                                0,
                                config.typeVocabSize(),
                                "type_vocab_size");
        long[] flatMask = mask == null ? null : flatten("mask", mask, ids.length, seq, 0, 2, "2");
        Shape shape = new Shape(ids.length, seq);
        return new NDArray[] {
            scope.create(flatIds, shape),
            flatTypes == null ? null : scope.create(flatTypes, shape),
            flatMask == null ? null : scope.create(flatMask, shape)
        };
    }

    private static long[] flatten(
            String name, long[][] rows, int batch, int seq, long lo, long hi, String hiName) {
        if (rows.length != batch) {
            throw new IllegalArgumentException(
                    name + " has " + rows.length + " rows but ids has " + batch);
        }
        long[] flat = new long[batch * seq];
        for (int i = 0; i < batch; i++) {
            if (rows[i] == null || rows[i].length != seq) {
                throw new IllegalArgumentException(
                        name
                                + " row "
                                + i
                                + " has length "
                                + (rows[i] == null ? null : rows[i].length)
                                + " but row 0 of ids has "
                                + seq
                                + ": pad the batch to one length");
            }
            for (int j = 0; j < seq; j++) {
                long v = rows[i][j];
                if (v < lo || v >= hi) {
                    throw new IllegalArgumentException(
                            name
                                    + "["
                                    + i
                                    + "]["
                                    + j
                                    + "]="
                                    + v
                                    + " is outside ["
                                    + lo
                                    + ", "
                                    + hiName
                                    + "="
                                    + hi
                                    + ")");
                }
                flat[i * seq + j] = v;
            }
        }
        return flat;
    }

    private static float[][] to2d(NDArray a) {
        Shape s = a.getShape();
        int rows = (int) s.get(0);
        int cols = (int) s.get(1);
        float[] flat = a.toFloatArray();
        float[][] out = new float[rows][cols];
        for (int i = 0; i < rows; i++) {
            System.arraycopy(flat, i * cols, out[i], 0, cols);
        }
        return out;
    }
}
