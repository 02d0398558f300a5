package io.sparkbert.inference;

import java.util.ArrayList;
import java.util.List;

/**
 * Splits the content tokens of a long text into overlapping windows that each fit the model.
 *
 * <p>A window holds at most {@code contentLength} tokens (the model's maximum length less the
 * special tokens around it); consecutive windows share {@code stride} tokens, so a window starts
 * {@code contentLength - stride} tokens after the previous one. The last window ends at the last
 * token. A text that fits in one window gives exactly one window, the same tokens that truncation
 * would keep; an empty text gives one empty window.
 *
 * <p>Stateless and thread-safe.
 */
final class TextWindows {
    private TextWindows() {}

    /**
     * The windows of a text, as {@code [start, end)} token ranges.
     *
     * @param tokenCount content tokens of the text (no special tokens)
     * @param contentLength most content tokens per window, at least 1
     * @param stride tokens shared by consecutive windows, {@code 0 <= stride < contentLength}
     * @return the ranges in text order; never empty
     */
    static List<int[]> ranges(int tokenCount, int contentLength, int stride) {
        if (contentLength < 1) {
            throw new IllegalArgumentException(
                    "contentLength must be at least 1, got "
                            + contentLength
                            + "; raise maxLength above the special tokens of a sequence.");
        }
        if (stride < 0 || stride >= contentLength) {
            throw new IllegalArgumentException(
                    "stride must be in [0, "
                            + contentLength
                            + ") (maxLength minus special tokens), got "
                            + stride
                            + "; lower stride or raise maxLength.");
        }
        List<int[]> out = new ArrayList<>();
        int step = contentLength - stride;
        int start = 0;
        while (true) {
            int end = Math.min(tokenCount, start + contentLength);
            out.add(new int[] {start, end});
            if (end >= tokenCount) {
                return out;
            }
            start += step;
        }
    }
}
