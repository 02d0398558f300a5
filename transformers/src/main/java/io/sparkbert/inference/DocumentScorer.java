package io.sparkbert.inference;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.sparkbert.bert.BertModel;
import io.sparkbert.bert.BertOutputs;
import io.sparkbert.bert.Encoding;
import io.sparkbert.bert.HfTokenizer;
import io.sparkbert.bert.TokenizerOptions;
import io.sparkbert.bert.TokenizerOptions.Truncation;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The Spark-free core of partition scoring: takes a window of documents, tokenizes them, plans
 * length-bucketed batches with {@link BatchPlanner}, pads each batch to its own longest sequence,
 * runs the model and returns one {@link Score} per document in input order.
 *
 * <p>Invalid documents (null or blank text, or a null/blank pair text) give a null score with
 * {@code handleInvalid=keep} and an {@link IllegalArgumentException} naming the stage, column and
 * fix with {@code error}. With {@code overflow=window} a long single text is cut into overlapping
 * windows of {@code maxLength} tokens ({@link TextWindows}); its score is the mean over windows
 * (embeddings: mean of window vectors, then the optional L2 normalisation; logits and
 * probabilities: means of the windows' logits and softmax probabilities).
 *
 * <p>Every NDArray lives in a per-batch sub-manager of the {@code scope} given at construction. Not
 * thread-safe: one instance per task (the model and tokenizers it uses are shared and thread-safe).
 */
final class DocumentScorer {
    private final ScoringSpec spec;
    private final BertModel model;
    private final HfTokenizer tokenizer;
    private final HfTokenizer contentTokenizer;
    private final long clsId;
    private final long sepId;
    private final NDManager scope;

    /** Counters for benchmarks: sequences run and padded tokens fed to the model. */
    long sequences;

    long paddedTokens;

    /** Forward batches run and the real (not padding) tokens in them, for SQL metrics. */
    long batches;

    long realTokens;

    DocumentScorer(ScoringSpec spec, LoadedModel loaded, NDManager scope) {
        this.spec = spec;
        this.model = loaded.model();
        this.scope = scope;
        TokenizerOptions truncating = TokenizerOptions.defaults().withMaxLength(spec.maxLength());
        this.tokenizer = loaded.tokenizer(truncating);
        if (spec.output() == ScoringSpec.Output.LOGITS && !model.hasClassifier()) {
            throw new IllegalArgumentException(
                    spec.stage()
                            + ": the model "
                            + loaded.key()
                            + " has no classification head; use BertEmbeddings for sentence"
                            + " vectors or a fine-tuned classifier checkpoint.");
        }
        if (spec.windowed()) {
            if (spec.pairCol() != null) {
                throw new IllegalArgumentException(
                        spec.stage()
                                + ": overflow=window works on single texts; unset pairCol or set"
                                + " overflow=truncate.");
            }
            this.contentTokenizer =
                    loaded.tokenizer(
                            TokenizerOptions.defaults()
                                    .withTruncation(Truncation.NONE)
                                    .withAddSpecialTokens(false));
            long[] empty = tokenizer.encode("").inputIds();
            if (empty.length != 2) {
                throw new IllegalStateException(
                        "overflow=window expects a [CLS] x [SEP] template, but an empty text encodes"
                                + " to "
                                + empty.length
                                + " tokens");
            }
            this.clsId = empty[0];
            this.sepId = empty[1];
            checkStride(spec, tokenizer, model.config().maxPositionEmbeddings());
        } else {
            this.contentTokenizer = null;
            this.clsId = -1;
            this.sepId = -1;
        }
    }

    /**
     * Fails, naming the stage and its stride param, when the overlap does not fit a window. The
     * window is the stage's maxLength unless the model is shorter, and the stage's own schema check
     * only knows maxLength, so the model-capped case is reported here with the model's numbers.
     */
    static void checkStride(ScoringSpec spec, HfTokenizer tokenizer, int maxPositions) {
        int windowLength = tokenizer.maxLength();
        int content = windowLength - 2;
        if (spec.stride() < content) {
            return;
        }
        boolean modelCapped = windowLength < spec.maxLength();
        StringBuilder m =
                new StringBuilder(spec.stage())
                        .append(": stride=")
                        .append(spec.stride())
                        .append(" is too large for overflow=window: a window holds ")
                        .append(content)
                        .append(" text tokens (")
                        .append(windowLength)
                        .append(" less [CLS] and [SEP]");
        if (modelCapped) {
            m.append("; maxLength=")
                    .append(spec.maxLength())
                    .append(" is capped at ")
                    .append(windowLength)
                    .append(" by the model, whose max_position_embeddings is ")
                    .append(maxPositions)
                    .append("), so stride must be below ")
                    .append(content)
                    .append("; lower stride (raising maxLength cannot help).");
        } else {
            m.append(", from maxLength=")
                    .append(spec.maxLength())
                    .append("), so stride must be below ")
                    .append(content)
                    .append("; lower stride or raise maxLength.");
        }
        throw new IllegalArgumentException(m.toString());
    }

    /**
     * Scores a window of documents.
     *
     * @param texts the input column values
     * @param pairs the pair column values, or null without pairCol
     * @return one score per document, null for kept invalid ones
     */
    Score[] score(String[] texts, String[] pairs) {
        int n = texts.length;
        List<Integer> valid = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            if (isBlank(texts[i]) || pairs != null && isBlank(pairs[i])) {
                if (!spec.keepInvalid()) {
                    String col = isBlank(texts[i]) ? spec.inputCol() : spec.pairCol();
                    throw new IllegalArgumentException(
                            spec.stage()
                                    + " encountered a "
                                    + (texts[i] == null || pairs != null && pairs[i] == null
                                            ? "NULL"
                                            : "blank")
                                    + " value in column '"
                                    + col
                                    + "'. "
                                    + spec.invalidHint());
                }
                continue;
            }
            valid.add(i);
        }
        Score[] out = new Score[n];
        if (valid.isEmpty()) {
            return out;
        }
        // Sequences to run, each tied to its document.
        List<long[]> ids = new ArrayList<>();
        List<long[]> types = new ArrayList<>();
        List<Integer> owner = new ArrayList<>();
        List<String> a = new ArrayList<>(valid.size());
        List<String> b = pairs == null ? null : new ArrayList<>(valid.size());
        for (int i : valid) {
            a.add(texts[i]);
            if (b != null) {
                b.add(pairs[i]);
            }
        }
        if (spec.windowed()) {
            Encoding[] content = contentTokenizer.encodeBatch(a);
            int contentLength = tokenizer.maxLength() - 2;
            for (int k = 0; k < content.length; k++) {
                long[] c = content[k].inputIds();
                for (int[] r : TextWindows.ranges(c.length, contentLength, spec.stride())) {
                    long[] seq = new long[r[1] - r[0] + 2];
                    seq[0] = clsId;
                    System.arraycopy(c, r[0], seq, 1, r[1] - r[0]);
                    seq[seq.length - 1] = sepId;
                    ids.add(seq);
                    types.add(null);
                    owner.add(valid.get(k));
                }
            }
        } else {
            Encoding[] enc = b == null ? tokenizer.encodeBatch(a) : tokenizer.encodeBatch(a, b);
            for (int k = 0; k < enc.length; k++) {
                ids.add(enc[k].inputIds());
                types.add(b == null ? null : enc[k].tokenTypeIds());
                owner.add(valid.get(k));
            }
        }
        int[] lengths = new int[ids.size()];
        for (int s = 0; s < lengths.length; s++) {
            lengths[s] = ids.get(s).length;
        }
        float[][] values = new float[ids.size()][];
        double[][] probs =
                spec.output() == ScoringSpec.Output.LOGITS ? new double[ids.size()][] : null;
        for (int[] batch :
                BatchPlanner.plan(
                        lengths, spec.batchSize(), spec.maxTokens(), spec.sortByLength())) {
            runBatch(batch, ids, types, lengths, values, probs);
        }
        // Average the windows of each document (a single window is taken as is).
        float[][] sum = new float[n][];
        double[][] psum = probs == null ? null : new double[n][];
        int[] count = new int[n];
        for (int s = 0; s < values.length; s++) {
            int d = owner.get(s);
            sum[d] = add(sum[d], values[s]);
            if (psum != null) {
                psum[d] = add(psum[d], probs[s]);
            }
            count[d]++;
        }
        for (int d = 0; d < n; d++) {
            if (count[d] == 0) {
                continue;
            }
            float[] v = scale(sum[d], count[d]);
            if (spec.output() == ScoringSpec.Output.EMBEDDING) {
                out[d] = new Score(spec.normalize() ? l2Normalize(v) : v, null);
            } else {
                out[d] = new Score(v, scale(psum[d], count[d]));
            }
        }
        return out;
    }

    private void runBatch(
            int[] batch,
            List<long[]> ids,
            List<long[]> types,
            int[] lengths,
            float[][] values,
            double[][] probs) {
        int longest = 0;
        for (int s : batch) {
            longest = Math.max(longest, lengths[s]);
        }
        int seq = Math.max(longest, spec.padTo());
        long pad = tokenizer.padTokenId();
        long[] flatIds = new long[batch.length * seq];
        long[] flatTypes = new long[batch.length * seq];
        long[] flatMask = new long[batch.length * seq];
        Arrays.fill(flatIds, pad);
        boolean anyTypes = false;
        for (int r = 0; r < batch.length; r++) {
            long[] x = ids.get(batch[r]);
            long[] t = types.get(batch[r]);
            System.arraycopy(x, 0, flatIds, r * seq, x.length);
            Arrays.fill(flatMask, r * seq, r * seq + x.length, 1L);
            if (t != null) {
                System.arraycopy(t, 0, flatTypes, r * seq, t.length);
                anyTypes = true;
            }
        }
        sequences += batch.length;
        paddedTokens += (long) batch.length * seq;
        batches++;
        for (int r : batch) {
            realTokens += lengths[r];
        }
        try (NDManager batchScope = scope.newSubManager()) {
            Shape shape = new Shape(batch.length, seq);
            NDArray idArray = batchScope.create(flatIds, shape);
            NDArray typeArray = anyTypes ? batchScope.create(flatTypes, shape) : null;
            NDArray maskArray = batchScope.create(flatMask, shape);
            NDArray result;
            if (spec.output() == ScoringSpec.Output.EMBEDDING) {
                BertOutputs out = model.forward(batchScope, idArray, typeArray, maskArray, false);
                result =
                        BertModel.sentenceVectors(out.lastHiddenState(), maskArray, spec.pooling());
            } else {
                result =
                        spec.head().logits(model, batchScope, idArray, typeArray, maskArray, false);
            }
            int width = (int) result.getShape().get(1);
            float[] flat = result.toFloatArray();
            for (int r = 0; r < batch.length; r++) {
                float[] row = Arrays.copyOfRange(flat, r * width, (r + 1) * width);
                values[batch[r]] = row;
                if (probs != null) {
                    probs[batch[r]] = softmax(row);
                }
            }
        }
    }

    private static boolean isBlank(String s) {
        return s == null || s.isBlank();
    }

    private static float[] add(float[] acc, float[] v) {
        if (acc == null) {
            return v.clone();
        }
        for (int i = 0; i < v.length; i++) {
            acc[i] += v[i];
        }
        return acc;
    }

    private static double[] add(double[] acc, double[] v) {
        if (acc == null) {
            return v.clone();
        }
        for (int i = 0; i < v.length; i++) {
            acc[i] += v[i];
        }
        return acc;
    }

    private static double[] scale(double[] v, int count) {
        if (count > 1) {
            for (int i = 0; i < v.length; i++) {
                v[i] /= count;
            }
        }
        return v;
    }

    /** Softmax in double precision (maximum subtracted first), so probabilities sum to 1. */
    static double[] softmax(float[] logits) {
        double max = Double.NEGATIVE_INFINITY;
        for (float v : logits) {
            max = Math.max(max, v);
        }
        double sum = 0;
        double[] p = new double[logits.length];
        for (int i = 0; i < p.length; i++) {
            p[i] = Math.exp(logits[i] - max);
            sum += p[i];
        }
        for (int i = 0; i < p.length; i++) {
            p[i] /= sum;
        }
        return p;
    }

    private static float[] scale(float[] v, int count) {
        if (count == 1) {
            return v;
        }
        for (int i = 0; i < v.length; i++) {
            v[i] /= count;
        }
        return v;
    }

    /** L2 normalisation as {@code torch.nn.functional.normalize} (eps 1e-12). */
    static float[] l2Normalize(float[] v) {
        double sq = 0;
        for (float x : v) {
            sq += (double) x * x;
        }
        double norm = Math.max(Math.sqrt(sq), 1e-12);
        float[] out = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = (float) (v[i] / norm);
        }
        return out;
    }
}
