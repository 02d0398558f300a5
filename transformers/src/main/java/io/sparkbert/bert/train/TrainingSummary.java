package io.sparkbert.bert.train;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonParseException;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * What a {@link Trainer} run did: loss and learning rate of every optimiser step, per-epoch train
 * loss, validation loss and accuracy, throughput, wall time, the epoch whose weights were kept, and
 * any step skipped because its gradients were corrupt, and the linear probe that fitted a new head
 * first. Immutable and thread-safe; {@link #toJson()} and {@link #fromJson(String)} round-trip it
 * (the format is written and read in {@code SummaryJson}).
 */
public final class TrainingSummary implements Serializable {
    private static final long serialVersionUID = 1L;

    /** Reads the camelCase JSON of earlier versions (the field names of this class). */
    private static final Gson LEGACY =
            new GsonBuilder().serializeSpecialFloatingPointValues().create();

    /**
     * One optimiser step.
     *
     * @param step 1-based step number over the whole run
     * @param epoch 1-based epoch
     * @param loss the batch's mean (weighted) cross-entropy
     * @param learningRate the rate the update used
     * @param gradNorm the global L2 norm of the gradients before clipping
     * @param skipped whether the update was skipped because the gradients were corrupt
     */
    public record Step(
            int step, int epoch, double loss, double learningRate, double gradNorm, boolean skipped)
            implements Serializable {}

    /**
     * One epoch.
     *
     * @param epoch 1-based epoch
     * @param trainLoss mean training loss over the epoch's steps
     * @param valLoss validation loss (mean over examples), or null without validation data
     * @param valAccuracy validation accuracy, or null without validation data
     * @param samplesPerSecond training examples per second of this epoch (validation excluded)
     * @param seconds wall time of the epoch, validation included
     */
    public record Epoch(
            int epoch,
            double trainLoss,
            Double valLoss,
            Double valAccuracy,
            double samplesPerSecond,
            double seconds)
            implements Serializable {}

    private final List<Step> steps;
    private final List<Epoch> epochs;
    private final int bestEpoch;
    private final boolean stoppedEarly;
    private final int trainExamples;
    private final int validationExamples;
    private final double samplesPerSecond;
    private final double wallSeconds;
    private final String device;
    private final String config;
    private final LinearProbe.Result linearProbe;

    TrainingSummary(
            List<Step> steps,
            List<Epoch> epochs,
            int bestEpoch,
            boolean stoppedEarly,
            int trainExamples,
            int validationExamples,
            double samplesPerSecond,
            double wallSeconds,
            String device,
            String config,
            LinearProbe.Result linearProbe) {
        this.steps = new ArrayList<>(steps);
        this.epochs = new ArrayList<>(epochs);
        this.bestEpoch = bestEpoch;
        this.stoppedEarly = stoppedEarly;
        this.trainExamples = trainExamples;
        this.validationExamples = validationExamples;
        this.samplesPerSecond = samplesPerSecond;
        this.wallSeconds = wallSeconds;
        this.device = device;
        this.config = config;
        this.linearProbe = linearProbe;
    }

    /**
     * This summary with the linear probe that ran before training and the wall time including it.
     */
    TrainingSummary withLinearProbe(LinearProbe.Result probe) {
        return new TrainingSummary(
                steps,
                epochs,
                bestEpoch,
                stoppedEarly,
                trainExamples,
                validationExamples,
                samplesPerSecond,
                wallSeconds + probe.seconds(),
                device,
                config,
                probe);
    }

    /** The linear probe that fitted the head before training, or null when none ran. */
    public LinearProbe.Result linearProbe() {
        return linearProbe;
    }

    /** Every optimiser step, in order. */
    public List<Step> steps() {
        return Collections.unmodifiableList(steps);
    }

    /** Every finished epoch, in order. */
    public List<Epoch> epochs() {
        return Collections.unmodifiableList(epochs);
    }

    /** The per-step losses as an array. */
    public double[] lossPerStep() {
        return steps.stream().mapToDouble(Step::loss).toArray();
    }

    /** The 1-based epoch whose weights the model ends with (the last one without validation). */
    public int bestEpoch() {
        return bestEpoch;
    }

    /** Whether early stopping ended the run before the configured number of epochs. */
    public boolean stoppedEarly() {
        return stoppedEarly;
    }

    /** Number of training examples. */
    public int trainExamples() {
        return trainExamples;
    }

    /** Number of validation examples (0 when there were none). */
    public int validationExamples() {
        return validationExamples;
    }

    /** Training examples per second over the whole run (validation time excluded). */
    public double samplesPerSecond() {
        return samplesPerSecond;
    }

    /** Wall time of the whole run in seconds. */
    public double wallSeconds() {
        return wallSeconds;
    }

    /** The device trained on, e.g. {@code cpu()}. */
    public String device() {
        return device;
    }

    /** The {@link TrainingConfig#toString()} of the run. */
    public String config() {
        return config;
    }

    /** Number of steps whose update was skipped because of corrupt gradients. */
    public long skippedSteps() {
        return steps.stream().filter(Step::skipped).count();
    }

    /**
     * The summary as pretty-printed JSON with snake_case keys, the format of the train job's {@code
     * metrics.json} (which adds its own fields around these): {@code steps} ({@code step, loss, lr,
     * epoch, grad_norm, skipped}), {@code epochs} ({@code epoch, train_loss, samples_per_second,
     * seconds}, plus {@code val_loss, val_accuracy} with validation data), {@code best_epoch},
     * {@code stopped_early}, {@code train_examples}, {@code validation_examples}, {@code
     * samples_per_second}, {@code wall_seconds}, {@code device}, {@code config}, {@code
     * skipped_steps} and, when a new head was probed first, {@code linear_probe} ({@code examples,
     * l2, steps, loss, accuracy, grad_norm, seconds}). A NaN or infinite number is written as a
     * string ("NaN"), as Jackson writes it.
     */
    public String toJson() {
        return SummaryJson.write(this);
    }

    /**
     * Reads what {@link #toJson()} wrote, or the camelCase JSON that spark-bert versions before the
     * snake_case format wrote (a saved model's {@code training-summary.json}).
     *
     * @throws IllegalArgumentException when the text is not a training summary
     */
    public static TrainingSummary fromJson(String json) {
        try {
            TrainingSummary s =
                    SummaryJson.isLegacy(json)
                            ? LEGACY.fromJson(json, TrainingSummary.class)
                            : SummaryJson.read(json);
            if (s == null || s.steps == null || s.epochs == null) {
                throw new IllegalArgumentException(
                        "Not a training summary (no steps/epochs): "
                                + (json == null
                                        ? "null"
                                        : json.substring(0, Math.min(80, json.length()))));
            }
            return s;
        } catch (JsonParseException | IllegalStateException | ClassCastException e) {
            throw new IllegalArgumentException(
                    "Training summary JSON cannot be parsed: " + e.getMessage(), e);
        }
    }

    @Override
    public String toString() {
        return String.format(
                java.util.Locale.ROOT,
                "TrainingSummary{steps=%d, epochs=%d, bestEpoch=%d, stoppedEarly=%s,"
                        + " samplesPerSecond=%.1f, wallSeconds=%.1f, skippedSteps=%d}",
                steps.size(),
                epochs.size(),
                bestEpoch,
                stoppedEarly,
                samplesPerSecond,
                wallSeconds,
                skippedSteps());
    }
}
