package io.sparkbert.bert;

import io.sparkbert.bert.TokenizerOptions.Padding;
import io.sparkbert.bert.TokenizerOptions.Truncation;
import java.util.Arrays;

/**
 * How {@link HfTokenizer} holds the native tokenizer to its options: which batches may use the
 * native batch call, padding of batches encoded one by one, refusing encodings that truncation
 * could not shorten, and errors of the native library in the user's terms. Immutable and
 * thread-safe.
 */
final class TruncationRules {
    private final TokenizerOptions options;
    private final int maxLength;
    private final long padId;
    private final String padToken;
    private final String source;

    TruncationRules(
            TokenizerOptions options, int maxLength, long padId, String padToken, String source) {
        this.options = options;
        this.maxLength = maxLength;
        this.padId = padId;
        this.padToken = padToken;
        this.source = source;
    }

    /**
     * DJL 0.36's native batch calls unwrap the truncation result: where only_first/only_second
     * cannot fit a sequence, the Rust code panics and the whole JVM aborts (the single-sequence
     * calls report the same condition as an exception). Batches with those strategies are therefore
     * encoded one by one here and padded in Java; longest_first and none never fail that way and
     * keep the faster native batch.
     */
    boolean nativeBatchIsSafe() {
        return options.truncation() == Truncation.LONGEST_FIRST
                || options.truncation() == Truncation.NONE;
    }

    /** Right-pads encodings to the longest one, as the native batch padding does. */
    Encoding[] padToLongest(Encoding[] encodings) {
        if (options.padding() != Padding.LONGEST) {
            return encodings;
        }
        int target = 0;
        for (Encoding e : encodings) {
            target = Math.max(target, e.length());
        }
        for (int i = 0; i < encodings.length; i++) {
            Encoding e = encodings[i];
            int n = e.length();
            if (n == target) {
                continue;
            }
            long[] ids = Arrays.copyOf(e.inputIds(), target);
            long[] types = Arrays.copyOf(e.tokenTypeIds(), target);
            long[] mask = Arrays.copyOf(e.attentionMask(), target);
            String[] tokens = Arrays.copyOf(e.tokens(), target);
            Arrays.fill(ids, n, target, padId);
            Arrays.fill(tokens, n, target, padToken);
            encodings[i] = new Encoding(ids, types, mask, tokens);
        }
        return encodings;
    }

    static Encoding convert(ai.djl.huggingface.tokenizers.Encoding e) {
        return new Encoding(e.getIds(), e.getTypeIds(), e.getAttentionMask(), e.getTokens());
    }

    static Encoding[] convert(ai.djl.huggingface.tokenizers.Encoding[] es) {
        Encoding[] out = new Encoding[es.length];
        for (int i = 0; i < es.length; i++) {
            out[i] = convert(es[i]);
        }
        return out;
    }

    /**
     * The native library silently skips truncation when maxLength cannot even hold the special
     * tokens; refuse that instead of returning an over-long encoding.
     */
    Encoding checked(Encoding e) {
        if (options.truncation() != Truncation.NONE && e.length() > maxLength) {
            throw new IllegalArgumentException(
                    "maxLength "
                            + maxLength
                            + " is too small to hold the special tokens plus at least one token"
                            + " per sequence: raise maxLength.");
        }
        return e;
    }

    Encoding[] checked(Encoding[] es) {
        for (Encoding e : es) {
            checked(e);
        }
        return es;
    }

    RuntimeException translate(RuntimeException e, int sequences) {
        if (e instanceof IllegalArgumentException || e instanceof IllegalStateException) {
            return e;
        }
        String msg = String.valueOf(e.getMessage());
        if (msg.contains("Truncation error")) {
            String hint =
                    sequences == 1 && options.truncation() == Truncation.ONLY_SECOND
                            ? "truncation only_second needs a second text; use longest_first or"
                                    + " only_first for single texts"
                            : "truncation "
                                    + options.truncation().hfName()
                                    + " cannot shorten that sequence enough to fit maxLength "
                                    + maxLength
                                    + "; use longest_first or a larger maxLength";
            return new IllegalArgumentException(hint + " (tokenizers: " + msg + ")", e);
        }
        return new IllegalStateException("Tokenizer " + source + " failed: " + msg, e);
    }
}
