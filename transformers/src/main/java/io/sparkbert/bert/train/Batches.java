package io.sparkbert.bert.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.sparkbert.bert.Encoding;

/**
 * A batch of {@link Trainer.Examples} as tensors: the padded model inputs and the per-problem-type
 * labels (class ids or target rows). Shared by training, validation and the linear probe.
 */
final class Batches {
    private Batches() {}

    /** [ids, typeIds, mask] of the batch, right-padded with zeros to its longest example. */
    static NDArray[] collate(NDManager scope, Trainer.Examples data, int[] batch) {
        int longest = 1;
        for (int i : batch) {
            longest = Math.max(longest, data.encodings().get(i).length());
        }
        long[] ids = new long[batch.length * longest];
        long[] types = new long[batch.length * longest];
        long[] mask = new long[batch.length * longest];
        for (int r = 0; r < batch.length; r++) {
            Encoding e = data.encodings().get(batch[r]);
            System.arraycopy(e.inputIds(), 0, ids, r * longest, e.length());
            System.arraycopy(e.tokenTypeIds(), 0, types, r * longest, e.length());
            System.arraycopy(e.attentionMask(), 0, mask, r * longest, e.length());
        }
        Shape shape = new Shape(batch.length, longest);
        return new NDArray[] {
            scope.create(ids, shape), scope.create(types, shape), scope.create(mask, shape)
        };
    }

    /**
     * The batch's class ids [b] (single-label), or its target rows [b, k] (multi-label,
     * regression).
     */
    static NDArray labels(NDManager scope, Trainer.Examples data, int[] batch) {
        if (data.targets() != null) {
            int k = data.targets()[batch[0]].length;
            float[] t = new float[batch.length * k];
            for (int i = 0; i < batch.length; i++) {
                System.arraycopy(data.targets()[batch[i]], 0, t, i * k, k);
            }
            return scope.create(t, new Shape(batch.length, k));
        }
        long[] y = new long[batch.length];
        for (int i = 0; i < batch.length; i++) {
            y[i] = data.labels()[batch[i]];
        }
        return scope.create(y);
    }
}
