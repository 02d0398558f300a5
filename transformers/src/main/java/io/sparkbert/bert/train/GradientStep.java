package io.sparkbert.bert.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import io.sparkbert.bert.BertModel;
import io.sparkbert.bert.ClassifierHead;
import io.sparkbert.bert.ProblemType;
import java.util.Locale;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One optimiser step of a {@link Trainer} run: forward with dropout, the problem type's loss,
 * backward, the gradient checks, clipping and the AdamW update (see {@link Trainer} for the order
 * and for what happens to a corrupt step). Not thread-safe; one per run, holding the run's parts.
 */
record GradientStep(
        TrainingConfig config,
        BertModel model,
        ClassifierHead head,
        Trainer.Examples train,
        double[] classWeights,
        Map<String, NDArray> trainable,
        NDManager state,
        AdamW optimizer,
        ProblemType type) {
    private static final Logger LOG = LoggerFactory.getLogger(Trainer.class);

    TrainingSummary.Step step(int[] batch, double lr, int step, int epoch) {
        try (NDManager scope = state.newSubManager()) {
            NDArray[] inputs = Batches.collate(scope, train, batch);
            NDArray labels = Batches.labels(scope, train, batch);
            // AdamW leaves the gradients it consumed zeroed; otherwise they are zeroed here.
            boolean updated = false;
            try {
                double lossValue = forwardBackward(scope, inputs, labels);
                Gradients g = Gradients.collect(scope, trainable, lossValue);
                if (g.corrupt(config.maxSaneGradNorm())) {
                    reportCorrupt(step, epoch, g);
                    return new TrainingSummary.Step(step, epoch, lossValue, lr, g.norm(), true);
                }
                double scale = 1.0;
                if (config.maxGradNorm() > 0) {
                    double coef = config.maxGradNorm() / (g.norm() + 1e-6);
                    if (coef < 1.0) {
                        scale = coef;
                    }
                }
                for (Map.Entry<String, NDArray> e : g.arrays().entrySet()) {
                    String name = e.getKey();
                    double wd =
                            config.decayBiasAndNorm() || Trainer.decays(name)
                                    ? config.weightDecay()
                                    : 0.0;
                    optimizer.update(name, trainable.get(name), e.getValue(), lr, wd, scale);
                }
                updated = true;
                return new TrainingSummary.Step(step, epoch, lossValue, lr, g.norm(), false);
            } finally {
                if (!updated) {
                    zeroGradients();
                }
            }
        }
    }

    /** The batch's loss, forward and backward with grad mode on; returns the loss value. */
    private double forwardBackward(NDManager scope, NDArray[] inputs, NDArray labels) {
        NDArray loss;
        // Grad mode only for forward and backward; updates run without it.
        JniUtils.setGradMode(true);
        try {
            loss =
                    loss(
                            scope,
                            head.logits(model, scope, inputs[0], inputs[1], inputs[2], true),
                            labels);
            JniUtils.backward((PtNDArray) loss, (PtNDArray) scope.ones(new Shape()), false, false);
        } finally {
            JniUtils.setGradMode(false);
        }
        return loss.getFloat();
    }

    private void zeroGradients() {
        for (NDArray p : trainable.values()) {
            JniUtils.zeroGrad((PtNDArray) p);
        }
    }

    private void reportCorrupt(int step, int epoch, Gradients g) {
        LOG.warn(
                String.format(
                        Locale.ROOT,
                        "Skipping step %d (epoch %d): loss %.6g, global gradient norm %.6g"
                                + " is not finite or above maxSaneGradNorm %.3g; largest"
                                + " parameter gradient norms:%s",
                        step,
                        epoch,
                        g.loss(),
                        g.norm(),
                        config.maxSaneGradNorm(),
                        g.largest(5)));
    }

    private NDArray loss(NDManager scope, NDArray logits, NDArray labels) {
        return switch (type) {
            case SINGLE_LABEL ->
                    Loss.crossEntropy(scope, logits, labels, classWeights, config.labelSmoothing());
            case MULTI_LABEL -> Loss.bceWithLogits(scope, logits, labels, classWeights);
            case REGRESSION -> Loss.mse(logits, labels);
        };
    }
}
