package io.sparkbert.bert;

/**
 * One encoded sequence (or sequence pair): token ids, segment ids, attention mask and the token
 * strings, all of the same length, padding included. Immutable by contract: the accessors return
 * the internal arrays without copying, so callers must not modify them. Safe to share between
 * threads.
 */
public final class Encoding {
    private final long[] inputIds;
    private final long[] tokenTypeIds;
    private final long[] attentionMask;
    private final String[] tokens;

    /**
     * Wraps the four arrays (not copied).
     *
     * @throws IllegalArgumentException when the lengths differ
     */
    public Encoding(long[] inputIds, long[] tokenTypeIds, long[] attentionMask, String[] tokens) {
        int n = inputIds.length;
        if (tokenTypeIds.length != n || attentionMask.length != n || tokens.length != n) {
            throw new IllegalArgumentException(
                    "Encoding arrays differ in length: inputIds="
                            + n
                            + ", tokenTypeIds="
                            + tokenTypeIds.length
                            + ", attentionMask="
                            + attentionMask.length
                            + ", tokens="
                            + tokens.length);
        }
        this.inputIds = inputIds;
        this.tokenTypeIds = tokenTypeIds;
        this.attentionMask = attentionMask;
        this.tokens = tokens;
    }

    /** Token ids, special and padding tokens included. */
    public long[] inputIds() {
        return inputIds;
    }

    /** Segment ids: 0 for the first sequence (and padding), 1 for the second. */
    public long[] tokenTypeIds() {
        return tokenTypeIds;
    }

    /** 1 for real tokens, 0 for padding. */
    public long[] attentionMask() {
        return attentionMask;
    }

    /** The token strings, e.g. {@code [CLS]}, {@code co}, {@code ##vid}, {@code [PAD]}. */
    public String[] tokens() {
        return tokens;
    }

    /** The number of positions, padding included. */
    public int length() {
        return inputIds.length;
    }
}
