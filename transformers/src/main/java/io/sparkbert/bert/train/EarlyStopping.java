package io.sparkbert.bert.train;

import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the epoch with the lowest validation loss: snapshots its weights, ends training after
 * {@link TrainingConfig#earlyStoppingPatience()} epochs without improvement (0 = never), and puts
 * the best weights back at the end. Without validation data the last epoch is the best. Not
 * thread-safe; one per run.
 */
final class EarlyStopping implements EpochLoop.Listener {
    private static final Logger LOG = LoggerFactory.getLogger(Trainer.class);

    /** The run's trained weights, saved and put back. */
    interface Weights {
        /** Saves the current weights, replacing (and releasing) the previous snapshot. */
        void snapshot();

        /** Puts the last snapshot back. */
        void restore();
    }

    private final int epochs;
    private final int patience;
    private final boolean validated;
    private final Weights weights;
    private double bestLoss = Double.POSITIVE_INFINITY;
    private int bestEpoch;
    private int sinceBest;
    private boolean saved;
    private boolean stoppedEarly;

    EarlyStopping(TrainingConfig config, boolean validated, Weights weights) {
        this.epochs = config.epochs();
        this.patience = config.earlyStoppingPatience();
        this.validated = validated;
        this.weights = weights;
    }

    @Override
    public boolean afterEpoch(TrainingSummary.Epoch e) {
        int epoch = e.epoch();
        if (!validated) {
            bestEpoch = epoch;
            return false;
        }
        if (e.valLoss() < bestLoss) {
            bestLoss = e.valLoss();
            bestEpoch = epoch;
            sinceBest = 0;
            // After the last epoch the weights in place are the best: no copy needed.
            if (epoch < epochs) {
                weights.snapshot();
                saved = true;
            }
            return false;
        }
        sinceBest++;
        if (patience > 0 && sinceBest >= patience) {
            stoppedEarly = epoch < epochs;
            LOG.info(
                    "Early stopping after epoch {}: no validation-loss improvement for {} epochs;"
                            + " keeping epoch {}",
                    epoch,
                    sinceBest,
                    bestEpoch);
            return true;
        }
        return false;
    }

    @Override
    public void finished(List<TrainingSummary.Epoch> done) {
        if (bestEpoch != done.size() && saved) {
            weights.restore();
            LOG.info("Restored the weights of epoch {} (lowest validation loss)", bestEpoch);
        }
    }

    /** The 1-based epoch whose weights the run ends with. */
    int bestEpoch() {
        return bestEpoch;
    }

    /** Whether training ended before the last epoch. */
    boolean stoppedEarly() {
        return stoppedEarly;
    }
}
