package io.sparkbert.bert.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.sparkbert.bert.BertModel;
import io.sparkbert.bert.ClassifierHead;
import java.util.Arrays;

/**
 * The training loss, torch's {@code CrossEntropyLoss(weight, label_smoothing)} with mean reduction,
 * and the validation metrics (plain class-weighted cross-entropy and accuracy). Stateless and
 * thread-safe.
 */
final class Loss {
    private Loss() {}

    /**
     * {@code [(1 - eps) * sum_i w_yi * nll_i + eps / k * sum_i sum_c w_c * -log p_ic] / sum_i w_yi}
     * (w = 1 without class weights, so the divisor is the batch size), in the autograd graph.
     */
    static NDArray crossEntropy(
            NDManager scope,
            NDArray logits,
            NDArray labels,
            double[] classWeights,
            double labelSmoothing) {
        NDArray logp = logits.logSoftmax(-1);
        NDArray nll = logp.gather(labels.reshape(-1, 1), 1).reshape(-1).neg();
        NDArray w = null;
        NDArray weighted = nll;
        NDArray divisor = null;
        if (classWeights != null) {
            float[] cw = new float[classWeights.length];
            for (int i = 0; i < cw.length; i++) {
                cw[i] = (float) classWeights[i];
            }
            w = scope.create(cw);
            NDArray wy = w.gather(labels, 0);
            weighted = nll.mul(wy);
            divisor = wy.sum();
        }
        double eps = labelSmoothing;
        if (eps > 0) {
            // Scalars in the autograd graph must be libtorch-owned (see BertModel.ownedScalar).
            NDArray smooth = (w == null ? logp : logp.mul(w.reshape(1, -1))).neg();
            smooth = smooth.mean(new int[] {1});
            weighted =
                    weighted.mul(BertModel.ownedScalar(scope, (float) (1 - eps)))
                            .add(smooth.mul(BertModel.ownedScalar(scope, (float) eps)));
        }
        return divisor == null ? weighted.mean() : weighted.sum().div(divisor);
    }

    /**
     * Mean (class-weighted) cross-entropy and accuracy over a data set, without dropout or
     * gradients, in batches of {@code batchSize} whose arrays live in sub-managers of {@code
     * state}.
     */
    static double[] evaluate(
            BertModel model,
            ClassifierHead head,
            Trainer.Examples data,
            NDManager state,
            int batchSize,
            double[] classWeights) {
        double lossSum = 0;
        double weightSum = 0;
        long correct = 0;
        int n = data.size();
        int[] all = new int[n];
        for (int i = 0; i < n; i++) {
            all[i] = i;
        }
        for (int start = 0; start < n; start += batchSize) {
            int[] batch = Arrays.copyOfRange(all, start, Math.min(n, start + batchSize));
            try (NDManager scope = state.newSubManager()) {
                NDArray[] inputs = Trainer.collate(scope, data, batch);
                NDArray labels = Trainer.labels(scope, data, batch);
                NDArray logits = head.logits(model, scope, inputs[0], inputs[1], inputs[2], false);
                NDArray nll =
                        logits.logSoftmax(-1).gather(labels.reshape(-1, 1), 1).reshape(-1).neg();
                float[] nllValues = nll.toFloatArray();
                long[] pred = logits.argMax(1).toLongArray();
                for (int i = 0; i < batch.length; i++) {
                    int y = data.labels()[batch[i]];
                    double w = classWeights == null ? 1.0 : classWeights[y];
                    lossSum += w * nllValues[i];
                    weightSum += w;
                    if (pred[i] == y) {
                        correct++;
                    }
                }
            }
        }
        return new double[] {lossSum / weightSum, (double) correct / n};
    }
}
