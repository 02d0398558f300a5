package io.sparkbert.inference;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * Cuts a window of tokenized rows into forward-pass batches.
 *
 * <p>With {@code sortByLength}, rows are ordered by token count (longest first, ties kept in input
 * order) so that each batch pads to a length close to its rows' own; without it, rows keep their
 * input order. A batch holds at most {@code maxRows} rows and at most {@code maxTokens} padded
 * tokens (rows x longest row), whichever limit comes first; a single row longer than the token
 * budget still forms a batch of its own, so no row is ever dropped. Callers keep the returned
 * indices to put results back in input order.
 *
 * <p>Stateless and thread-safe.
 */
final class BatchPlanner {
    private BatchPlanner() {}

    /**
     * Plans the batches of one window.
     *
     * @param lengths token count of each row of the window (row i has length lengths[i])
     * @param maxRows most rows in one batch, at least 1
     * @param maxTokens most padded tokens in one batch (rows x longest), or 0 for no token budget
     * @param sortByLength whether to group rows of similar length
     * @return the batches, each an array of row indices into {@code lengths}; every index appears
     *     exactly once
     */
    static int[][] plan(int[] lengths, int maxRows, int maxTokens, boolean sortByLength) {
        if (maxRows < 1) {
            throw new IllegalArgumentException("maxRows must be at least 1, got " + maxRows);
        }
        if (maxTokens < 0) {
            throw new IllegalArgumentException(
                    "maxTokens must be 0 (off) or positive, got " + maxTokens);
        }
        Integer[] order = new Integer[lengths.length];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        if (sortByLength) {
            // Arrays.sort on objects is stable: equal lengths keep their input order.
            Arrays.sort(order, Comparator.comparingInt((Integer i) -> lengths[i]).reversed());
        }
        List<int[]> batches = new ArrayList<>();
        int start = 0;
        while (start < order.length) {
            int end = start + 1;
            int longest = lengths[order[start]];
            while (end < order.length && end - start < maxRows) {
                int candidateLongest = Math.max(longest, lengths[order[end]]);
                if (maxTokens > 0 && (long) (end - start + 1) * candidateLongest > maxTokens) {
                    break;
                }
                longest = candidateLongest;
                end++;
            }
            int[] batch = new int[end - start];
            for (int k = start; k < end; k++) {
                batch[k - start] = order[k];
            }
            batches.add(batch);
            start = end;
        }
        return batches.toArray(new int[0][]);
    }
}
