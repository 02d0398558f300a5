package io.sparkbert.bert.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Activation;
import io.sparkbert.bert.BertModel;
import io.sparkbert.bert.ClassifierHead;
import io.sparkbert.bert.ProblemType;
import java.util.Arrays;

/**
 * The training losses of the three problem types, as torch computes them with mean reduction:
 * {@code CrossEntropyLoss(weight, label_smoothing)} (single-label), {@code
 * BCEWithLogitsLoss(pos_weight)} (multi-label) and {@code MSELoss} (regression); and the validation
 * metrics. Stateless and thread-safe.
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
     * torch's {@code BCEWithLogitsLoss(pos_weight)} with mean reduction over all {@code n * k}
     * entries: {@code (1 - y) * x + (1 + (p - 1) * y) * softplus(-x)} per entry, which is {@code
     * -[p * y * log sigmoid(x) + (1 - y) * log(1 - sigmoid(x))]} written without overflow (p = 1
     * without weights), in the autograd graph.
     *
     * @param targets [n, k] entries in [0, 1]
     * @param posWeight per-class weights of the positive term, or null
     */
    static NDArray bceWithLogits(
            NDManager scope, NDArray logits, NDArray targets, double[] posWeight) {
        NDArray one = BertModel.ownedScalar(scope, 1f);
        NDArray softplusNeg = Activation.softPlus(logits.neg());
        NDArray coef = one;
        if (posWeight != null) {
            float[] pw = new float[posWeight.length];
            for (int i = 0; i < pw.length; i++) {
                pw[i] = (float) (posWeight[i] - 1);
            }
            // [1, k] (p - 1), owned by libtorch like every constant in the graph.
            NDArray pwMinusOne;
            try (NDArray javaBacked = scope.create(pw).reshape(1, -1)) {
                pwMinusOne = javaBacked.duplicate();
            }
            coef = targets.mul(pwMinusOne).add(one);
        }
        return one.sub(targets).mul(logits).add(softplusNeg.mul(coef)).mean();
    }

    /**
     * torch's {@code MSELoss} with mean reduction, as HF applies it to a regression head's single
     * output: {@code mean((x - y)^2)} over the [n, 1] logits and targets.
     */
    static NDArray mse(NDArray logits, NDArray targets) {
        return logits.sub(targets).square().mean();
    }

    /**
     * [loss, accuracy] over a data set, without dropout or gradients, in batches of {@code
     * batchSize} whose arrays live in sub-managers of {@code state}: single-label the mean
     * (class-weighted) cross-entropy and accuracy; multi-label the mean BCE (with the class weights
     * as pos_weight) and the subset accuracy (every class right at probability 0.5); regression
     * [mean squared error] alone (no accuracy).
     */
    static double[] evaluate(
            BertModel model,
            ClassifierHead head,
            Trainer.Examples data,
            NDManager state,
            int batchSize,
            double[] classWeights,
            ProblemType type) {
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
                NDArray[] inputs = Batches.collate(scope, data, batch);
                NDArray labels = Batches.labels(scope, data, batch);
                NDArray logits = head.logits(model, scope, inputs[0], inputs[1], inputs[2], false);
                if (type != ProblemType.SINGLE_LABEL) {
                    NDArray loss =
                            type == ProblemType.REGRESSION
                                    ? mse(logits, labels)
                                    : bceWithLogits(scope, logits, labels, classWeights);
                    lossSum += loss.getFloat() * batch.length;
                    weightSum += batch.length;
                    if (type == ProblemType.MULTI_LABEL) {
                        correct +=
                                exactMatches(
                                        logits.toFloatArray(), labels.toFloatArray(), batch.length);
                    }
                    continue;
                }
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
        if (type == ProblemType.REGRESSION) {
            return new double[] {lossSum / weightSum};
        }
        return new double[] {lossSum / weightSum, (double) correct / n};
    }

    /** Rows whose every class is right at probability 0.5 (logit > 0 means predicted). */
    static int exactMatches(float[] logits, float[] targets, int rows) {
        int k = logits.length / rows;
        int matches = 0;
        for (int r = 0; r < rows; r++) {
            boolean all = true;
            for (int c = 0; c < k && all; c++) {
                all = (logits[r * k + c] > 0) == (targets[r * k + c] > 0.5f);
            }
            matches += all ? 1 : 0;
        }
        return matches;
    }
}
