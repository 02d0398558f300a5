package io.sparkbert.bert.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.jni.JniUtils;
import io.sparkbert.bert.BertModel;
import io.sparkbert.bert.ClassifierHead;
import io.sparkbert.bert.ProblemType;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The "linear probe" half of LP-FT (Kumar et al., 2022, "Fine-Tuning can Distort Pretrained
 * Features and Underperform Out-of-Distribution"): before any encoder weight moves, the
 * classification head alone is fitted by L2-regularised logistic regression on the encoder's frozen
 * sentence features. Fine-tuning then starts from a head that already separates the classes, so its
 * first steps do not push the pretrained features around to make up for a random head.
 *
 * <p><b>Objective</b> (convex): the (class-weighted) mean cross-entropy of {@code softmax(X W^T +
 * b)} over the training examples plus {@code l2 / 2 * ||W||^2}; the bias is not penalised. With
 * class weights the mean is {@code sum_i w_{y_i} CE_i / sum_i w_{y_i}}, as in training.
 *
 * <p><b>Classes without training weight</b> (no training example, e.g. a class that only the label
 * metadata or the validation split holds, or class weight 0) have no finite optimum: the softmax
 * keeps pushing their bias down, so the fit would never converge. They are left out: the softmax
 * runs over the other classes, and their rows and biases keep the values they had (for a new head,
 * its random initialisation, as plain fine-tuning would start). With fewer than two classes left
 * there is nothing to separate and the head is not touched. Loss and accuracy are reported over the
 * classes fitted.
 *
 * <p><b>Solver.</b> Full-batch {@link AdamW} without decay, i.e. Adam (lr {@link #LEARNING_RATE},
 * betas {@link #BETA1} / {@link #BETA2}, eps {@link #EPS}), from the head's current weights, with
 * the gradient written out by hand ({@code G = (softmax - onehot) * w / sum w}, {@code dW = G^T X +
 * l2 W}, {@code db = sum G}), until the L2 norm of the whole gradient is at most {@link #TOLERANCE}
 * or after {@link #MAX_STEPS} steps (then a warning gives the norm reached; the head is still used,
 * as a better start than a random one). The features are computed once, without dropout or
 * gradients, in batches in input order; they stay on the model's device ({@code examples x hidden}
 * floats, 150 MB for 100,000 examples of a 384-wide model). No randomness: the same data and head
 * give the same weights.
 *
 * <p><b>Other problem types</b> (the model config's {@code problem_type}). Multi-label: a logistic
 * regression per class, the objective the mean {@code BCEWithLogits} over all entries (class
 * weights as pos_weight) plus the same L2 term, by the same Adam solver; a class without both a
 * positive (of positive weight) and a negative example keeps its row and bias (no finite optimum).
 * Regression: ridge regression, {@code mean((x w + b - y)^2) + l2 / 2 * ||w||^2}, solved exactly
 * from the normal equations in double precision (an [examples x hidden^2] accumulation, a few
 * seconds for 100,000 examples of a 384-wide model), reported as 0 steps and accuracy NaN.
 *
 * <p>Stateless; thread-safe as long as the model is not used by other threads meanwhile.
 */
public final class LinearProbe {
    private static final Logger LOG = LoggerFactory.getLogger(LinearProbe.class);

    /** Most full-batch optimiser steps. */
    static final int MAX_STEPS = 5000;

    /** The gradient norm at which the fit counts as converged. */
    static final double TOLERANCE = 1e-4;

    /** Adam's learning rate for the probe. */
    static final double LEARNING_RATE = 1e-2;

    /** Adam's betas and epsilon for the probe (torch's defaults). */
    static final double BETA1 = 0.9;

    static final double BETA2 = 0.999;
    static final double EPS = 1e-8;

    /** Examples per forward pass when computing the features. */
    static final int FEATURE_BATCH = 64;

    private LinearProbe() {}

    /**
     * What the probe did, kept in the {@link TrainingSummary}.
     *
     * @param examples examples the head was fitted on
     * @param l2 the L2 strength
     * @param steps optimiser steps
     * @param loss the objective's (class-weighted) cross-entropy part after the last step
     * @param accuracy the head's accuracy on the same examples after the last step
     * @param gradNorm the L2 norm of the objective's full gradient (W and b) at the result; near 0
     *     means the fit converged
     * @param seconds wall time, features included
     */
    public record Result(
            int examples,
            double l2,
            int steps,
            double loss,
            double accuracy,
            double gradNorm,
            double seconds)
            implements Serializable {}

    /**
     * Fits {@code classifier.weight} / {@code classifier.bias} of {@code model} in place; no other
     * parameter changes.
     *
     * @param model a model with a classification head
     * @param head where the features come from (the same as training and scoring use)
     * @param data the training examples
     * @param l2 the L2 strength, > 0
     * @param classWeights per-class weights, or null for none
     * @return what happened, or null when fewer than two classes have training examples with a
     *     positive weight (nothing to separate; the head is left as it is). {@link Trainer} refuses
     *     class weights that give every training example weight 0 before calling this.
     */
    static Result fit(
            BertModel model,
            ClassifierHead head,
            Trainer.Examples data,
            double l2,
            double[] classWeights) {
        long t0 = System.nanoTime();
        int n = data.size();
        int k = model.numLabels();
        NDArray w = model.parameters().get("classifier.weight");
        NDArray b = model.parameters().get("classifier.bias");
        // In-place updates of parameters that may already require gradients need grad mode off.
        boolean oldGradMode = JniUtils.isGradMode();
        JniUtils.setGradMode(false);
        ProblemType type = ProblemType.of(model.config());
        try (NDManager scope = NDManager.newBaseManager(model.device())) {
            if (type != ProblemType.SINGLE_LABEL) {
                return fitSigmoidOrLinear(model, head, data, l2, classWeights, type, scope, t0);
            }
            ProbeSolver.Labels labels = ProbeSolver.Labels.of(data, k, classWeights);
            if (labels.fittedCount() < 2) {
                LOG.info(
                        "Linear probe skipped: only {} of the {} classes has training examples"
                                + " with a positive weight, so there is nothing to separate; the"
                                + " head is left as it is.",
                        labels.fittedCount(),
                        k);
                return null;
            }
            // The forward pass over all the data comes only once the probe is known to run.
            ProbeSolver.Problem p =
                    new ProbeSolver.Problem(
                            features(model, head, data, scope),
                            scope.create(labels.onehot(), new Shape(n, k)),
                            classWeights == null
                                    ? null
                                    // Each row's share of the weighted mean; null keeps the
                                    // plain mean's arithmetic.
                                    : scope.create(labels.rowWeight(), new Shape(n, 1))
                                            .div((float) labels.weightSum()),
                            labels.fittedCount() == k
                                    ? null
                                    : new ProbeSolver.Mask(scope, labels.fitted()),
                            w,
                            b,
                            l2,
                            n,
                            ProblemType.SINGLE_LABEL,
                            null,
                            null);
            int steps = ProbeSolver.descend(scope, p);
            return report(scope, p, steps, t0);
        } finally {
            JniUtils.setGradMode(oldGradMode);
        }
    }

    /**
     * The probe of a multi-label head (logistic regression per class: mean BCE over all entries,
     * the class weights as pos_weight) or a regression head (ridge regression: mean squared error).
     * A multi-label class without both a positive (of positive weight) and a negative example has
     * no finite optimum and keeps its row and bias; with no class left the head is not touched.
     */
    private static Result fitSigmoidOrLinear(
            BertModel model,
            ClassifierHead head,
            Trainer.Examples data,
            double l2,
            double[] posWeight,
            ProblemType type,
            NDManager scope,
            long t0) {
        int n = data.size();
        int k = model.numLabels();
        float[] y = new float[n * k];
        for (int i = 0; i < n; i++) {
            System.arraycopy(data.targets()[i], 0, y, i * k, k);
        }
        NDArray coef = null;
        NDArray cols = null;
        if (type == ProblemType.MULTI_LABEL) {
            boolean[] pos = new boolean[k];
            boolean[] neg = new boolean[k];
            float[] a = new float[n * k];
            for (int j = 0; j < y.length; j++) {
                int c = j % k;
                double pw = posWeight == null ? 1 : posWeight[c];
                pos[c] |= y[j] > 0 && pw > 0;
                neg[c] |= y[j] < 1;
                a[j] = (float) (1 + (pw - 1) * y[j]);
            }
            boolean[] fitted = new boolean[k];
            int count = 0;
            for (int c = 0; c < k; c++) {
                fitted[c] = pos[c] && neg[c];
                count += fitted[c] ? 1 : 0;
            }
            if (count == 0) {
                LOG.info(
                        "Linear probe skipped: no class has both positive and negative training"
                                + " examples, so there is nothing to separate; the head is left"
                                + " as it is.");
                return null;
            }
            coef = scope.create(a, new Shape(n, k));
            cols =
                    count == k
                            ? null
                            : scope.create(
                                    ProbeSolver.Mask.values(fitted, 1f, 0f), new Shape(1, k));
        }
        ProbeSolver.Problem p =
                new ProbeSolver.Problem(
                        features(model, head, data, scope),
                        scope.create(y, new Shape(n, k)),
                        null,
                        null,
                        model.parameters().get("classifier.weight"),
                        model.parameters().get("classifier.bias"),
                        l2,
                        n,
                        type,
                        coef,
                        cols);
        int steps =
                type == ProblemType.REGRESSION
                        ? ProbeSolver.solveRidge(p)
                        : ProbeSolver.descend(scope, p);
        return report(scope, p, steps, t0);
    }

    /** Measures the fitted head on its own data, logs it and returns the {@link Result}. */
    private static Result report(NDManager scope, ProbeSolver.Problem p, int steps, long t0) {
        try (NDManager end = scope.newSubManager()) {
            NDArray logits = ProbeSolver.logits(end, p.x(), p.mask(), p.w(), p.b());
            double[] measured = ProbeSolver.lossAndAccuracy(p, logits);
            double loss = measured[0];
            double accuracy = measured[1];
            double gradNorm = ProbeSolver.norm(p.gradient(end));
            if (gradNorm > TOLERANCE) {
                LOG.warn(
                        String.format(
                                Locale.ROOT,
                                "Linear probe: gradient norm still %.2e after %d steps (converged"
                                        + " means <= %.0e); fine-tuning starts from this head."
                                        + " A larger linearProbeL2 makes the fit converge"
                                        + " faster.",
                                gradNorm,
                                steps,
                                TOLERANCE));
            }
            Result r =
                    new Result(
                            p.n(),
                            p.l2(),
                            steps,
                            loss,
                            accuracy,
                            gradNorm,
                            (System.nanoTime() - t0) / 1e9);
            LOG.info(
                    String.format(
                            Locale.ROOT,
                            "Linear probe: head fitted on %d frozen feature vectors in %.1f s"
                                    + " (l2 %.1e, %d steps): loss %.4f, accuracy %.4f,"
                                    + " gradient norm %.2e",
                            p.n(),
                            r.seconds(),
                            p.l2(),
                            steps,
                            loss,
                            accuracy,
                            gradNorm));
            return r;
        }
    }

    /** The [n, hidden] features of every example, in input order, in {@code scope}. */
    static NDArray features(
            BertModel model, ClassifierHead head, Trainer.Examples data, NDManager scope) {
        int n = data.size();
        List<NDArray> parts = new ArrayList<>();
        for (int start = 0; start < n; start += FEATURE_BATCH) {
            int[] batch = new int[Math.min(n, start + FEATURE_BATCH) - start];
            for (int i = 0; i < batch.length; i++) {
                batch[i] = start + i;
            }
            try (NDManager batchScope = scope.newSubManager()) {
                NDArray[] in = Batches.collate(batchScope, data, batch);
                NDArray f = head.features(model, batchScope, in[0], in[1], in[2], false);
                parts.add(ProbeSolver.keep(scope, f.duplicate()));
            }
        }
        NDArray all = parts.size() == 1 ? parts.get(0) : NDArrays.concat(new NDList(parts), 0);
        if (parts.size() > 1) {
            ProbeSolver.keep(scope, all);
            parts.forEach(NDArray::close);
        }
        return all;
    }
}
