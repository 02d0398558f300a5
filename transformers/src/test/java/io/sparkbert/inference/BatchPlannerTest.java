package io.sparkbert.inference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

class BatchPlannerTest {

    @Test
    void sortsLongestFirstAndKeepsTiesInInputOrder() {
        int[] lengths = {5, 9, 5, 2, 9};
        int[][] batches = BatchPlanner.plan(lengths, 2, 0, true);
        assertArrayEquals(new int[][] {{1, 4}, {0, 2}, {3}}, batches);
    }

    @Test
    void unsortedKeepsInputOrder() {
        int[][] batches = BatchPlanner.plan(new int[] {5, 9, 5, 2, 9}, 2, 0, false);
        assertArrayEquals(new int[][] {{0, 1}, {2, 3}, {4}}, batches);
    }

    @Test
    void tokenBudgetCutsBatchesOfLongRows() {
        // Sorted: 100, 100, 10, 10, 10, 10. Budget 200 -> two rows of 100, then four rows of 10.
        int[] lengths = {10, 100, 10, 100, 10, 10};
        int[][] batches = BatchPlanner.plan(lengths, 64, 200, true);
        assertArrayEquals(new int[][] {{1, 3}, {0, 2, 4, 5}}, batches);
    }

    @Test
    void rowLongerThanBudgetStillGetsItsOwnBatch() {
        int[][] batches = BatchPlanner.plan(new int[] {600, 3}, 8, 512, true);
        assertArrayEquals(new int[][] {{0}, {1}}, batches);
    }

    @Test
    void unsortedBudgetAccountsForLaterLongerRow() {
        // Unsorted: the third row raises the padded length to 50, 3 x 50 = 150 > 120.
        int[][] batches = BatchPlanner.plan(new int[] {10, 10, 50, 10}, 8, 120, false);
        assertArrayEquals(new int[][] {{0, 1}, {2, 3}}, batches);
    }

    @Test
    void everyRowExactlyOnceWithinLimits() {
        Random random = new Random(7);
        for (int trial = 0; trial < 50; trial++) {
            int n = random.nextInt(300);
            int[] lengths = new int[n];
            for (int i = 0; i < n; i++) {
                lengths[i] = 1 + random.nextInt(128);
            }
            int maxRows = 1 + random.nextInt(64);
            int maxTokens = random.nextBoolean() ? 0 : 128 + random.nextInt(4096);
            int[][] batches = BatchPlanner.plan(lengths, maxRows, maxTokens, random.nextBoolean());
            int[] seen = new int[n];
            for (int[] batch : batches) {
                assertTrue(batch.length >= 1 && batch.length <= maxRows);
                int longest = 0;
                for (int i : batch) {
                    seen[i]++;
                    longest = Math.max(longest, lengths[i]);
                }
                if (maxTokens > 0 && batch.length > 1) {
                    assertTrue((long) batch.length * longest <= maxTokens);
                }
            }
            for (int count : seen) {
                assertEquals(1, count);
            }
        }
    }

    @Test
    void rejectsBadLimits() {
        IllegalArgumentException e =
                assertThrows(
                        IllegalArgumentException.class,
                        () -> BatchPlanner.plan(new int[] {1}, 0, 0, true));
        assertTrue(e.getMessage().contains("maxRows"));
        assertThrows(
                IllegalArgumentException.class,
                () -> BatchPlanner.plan(new int[] {1}, 1, -1, true));
    }
}
