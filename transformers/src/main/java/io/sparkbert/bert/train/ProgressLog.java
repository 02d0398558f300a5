package io.sparkbert.bert.train;

import java.util.Locale;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Logs a run's progress: a line at the start, one every {@link TrainingConfig#logEverySteps()}
 * steps (step/total, loss, lr, samples/s, ETA) and one per epoch. Not thread-safe; one per run.
 */
final class ProgressLog implements EpochLoop.Listener {
    private static final Logger LOG = LoggerFactory.getLogger(Trainer.class);

    private final TrainingConfig config;
    private final String device;
    private EpochLoop.Plan plan;

    ProgressLog(TrainingConfig config, String device) {
        this.config = config;
        this.device = device;
    }

    @Override
    public void started(EpochLoop.Plan p) {
        plan = p;
        LOG.info(
                "Fine-tuning {} examples ({} validation) for {} epochs, {} steps, on {}: {}",
                p.examples(),
                p.validationExamples(),
                p.epochs(),
                p.totalSteps(),
                device,
                config);
    }

    @Override
    public void afterStep(TrainingSummary.Step s, long epochSamples, double epochSeconds) {
        if (config.logEverySteps() == 0 || s.step() % config.logEverySteps() != 0) {
            return;
        }
        double rate = epochSamples / Math.max(epochSeconds, 1e-9);
        double remaining = ((long) (plan.totalSteps() - s.step()) * plan.batchSize()) / rate;
        LOG.info(
                String.format(
                        Locale.ROOT,
                        "step %d/%d epoch %d/%d loss %.4f lr %.3g %.1f samples/s ETA %s",
                        s.step(),
                        plan.totalSteps(),
                        s.epoch(),
                        plan.epochs(),
                        s.loss(),
                        s.learningRate(),
                        rate,
                        duration(remaining)));
    }

    @Override
    public boolean afterEpoch(TrainingSummary.Epoch e) {
        LOG.info(
                String.format(
                        Locale.ROOT,
                        "epoch %d/%d: train loss %.4f, val loss %s, val accuracy %s,"
                                + " %.1f samples/s, %s",
                        e.epoch(),
                        plan.epochs(),
                        e.trainLoss(),
                        metric(e.valLoss()),
                        metric(e.valAccuracy()),
                        e.samplesPerSecond(),
                        duration(e.seconds())));
        return false;
    }

    private static String metric(Double v) {
        return v == null ? "-" : String.format(Locale.ROOT, "%.4f", v);
    }

    static String duration(double seconds) {
        long s = Math.round(seconds);
        return s >= 60 ? (s / 60) + "m" + (s % 60) + "s" : s + "s";
    }
}
