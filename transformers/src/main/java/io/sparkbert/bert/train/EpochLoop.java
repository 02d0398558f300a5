package io.sparkbert.bert.train;

import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Random;

/**
 * The epoch loop of one training run: per epoch the batches in the configured order, one step per
 * batch at the scheduled learning rate, then the validation metrics; {@link Listener}s see every
 * step and epoch (progress and ETA, early stopping, test hooks) and may end training after an
 * epoch. Not thread-safe; one loop per run.
 */
final class EpochLoop {
    /** What the loop drives: a run that takes steps and evaluates the validation data. */
    interface Steps {
        /** Trains on {@code batch} (indices into the training examples) at rate {@code lr}. */
        TrainingSummary.Step step(int[] batch, double lr, int step, int epoch);

        /**
         * [loss, accuracy] on the validation data ([loss] alone for regression), or null when there
         * is none.
         */
        double[] validate();
    }

    /** Sees the run's progress. */
    interface Listener {
        /** Before the first step. */
        default void started(Plan plan) {}

        /**
         * After each step.
         *
         * @param epochSamples examples trained on so far in this epoch
         * @param epochSeconds seconds since this epoch started
         */
        default void afterStep(TrainingSummary.Step step, long epochSamples, double epochSeconds) {}

        /**
         * After each epoch's validation.
         *
         * @return true to end training here
         */
        default boolean afterEpoch(TrainingSummary.Epoch epoch) {
            return false;
        }

        /** After the last epoch, also when a listener ended training early. */
        default void finished(List<TrainingSummary.Epoch> epochs) {}
    }

    /** The shape of a run, fixed before it starts. */
    record Plan(
            int examples,
            int validationExamples,
            int epochs,
            int batchSize,
            int totalSteps,
            int warmupSteps) {}

    /** What a run did: its steps and epochs, and its training throughput. */
    record Result(
            List<TrainingSummary.Step> steps,
            List<TrainingSummary.Epoch> epochs,
            double samplesPerSecond) {}

    private final TrainingConfig config;
    private final List<Listener> listeners;

    EpochLoop(TrainingConfig config, List<Listener> listeners) {
        this.config = config;
        this.listeners = List.copyOf(listeners);
    }

    /** The plan of a run over {@code n} training and {@code nVal} validation examples. */
    Plan plan(int n, int nVal) {
        int stepsPerEpoch = (n + config.batchSize() - 1) / config.batchSize();
        int totalSteps = stepsPerEpoch * config.epochs();
        int warmupSteps = (int) Math.ceil(config.warmupRatio() * totalSteps);
        return new Plan(n, nVal, config.epochs(), config.batchSize(), totalSteps, warmupSteps);
    }

    /**
     * Runs the epochs.
     *
     * @param lengths the token count of each training example (for length grouping)
     * @param rnd the run's seeded random source (batch order)
     */
    Result run(Steps run, Plan plan, int[] lengths, Random rnd) {
        listeners.forEach(l -> l.started(plan));
        List<TrainingSummary.Step> steps = new ArrayList<>();
        List<TrainingSummary.Epoch> epochs = new ArrayList<>();
        double trainSeconds = 0;
        long trainSamples = 0;
        for (int epoch = 1; epoch <= config.epochs(); epoch++) {
            long e0 = System.nanoTime();
            long samples = 0;
            double lossSum = 0;
            int lossCount = 0;
            for (int[] batch :
                    batches(
                            lengths,
                            config.batchSize(),
                            config.shuffle(),
                            config.groupByLength(),
                            rnd)) {
                int done = steps.size();
                double lr =
                        config.learningRate()
                                * lrFactor(
                                        done,
                                        plan.totalSteps(),
                                        plan.warmupSteps(),
                                        config.schedule());
                TrainingSummary.Step s = run.step(batch, lr, done + 1, epoch);
                steps.add(s);
                if (!s.skipped()) {
                    lossSum += s.loss();
                    lossCount++;
                }
                samples += batch.length;
                double secs = (System.nanoTime() - e0) / 1e9;
                for (Listener l : listeners) {
                    l.afterStep(s, samples, secs);
                }
            }
            double trainSecs = (System.nanoTime() - e0) / 1e9;
            trainSeconds += trainSecs;
            trainSamples += samples;
            double[] val = run.validate();
            TrainingSummary.Epoch ep =
                    new TrainingSummary.Epoch(
                            epoch,
                            lossCount == 0 ? Double.NaN : lossSum / lossCount,
                            val == null ? null : val[0],
                            val == null || val.length < 2 ? null : val[1],
                            samples / Math.max(trainSecs, 1e-9),
                            (System.nanoTime() - e0) / 1e9);
            epochs.add(ep);
            boolean stop = false;
            for (Listener l : listeners) {
                stop |= l.afterEpoch(ep);
            }
            if (stop) {
                break;
            }
        }
        listeners.forEach(l -> l.finished(epochs));
        return new Result(steps, epochs, trainSamples / Math.max(trainSeconds, 1e-9));
    }

    /** The learning-rate multiplier after {@code s} completed steps (HF's LambdaLR). */
    static double lrFactor(
            int s, int totalSteps, int warmupSteps, TrainingConfig.Schedule schedule) {
        if (s < warmupSteps) {
            return (double) s / Math.max(1, warmupSteps);
        }
        if (schedule == TrainingConfig.Schedule.CONSTANT) {
            return 1.0;
        }
        if (schedule == TrainingConfig.Schedule.COSINE) {
            double progress = (double) (s - warmupSteps) / Math.max(1, totalSteps - warmupSteps);
            return Math.max(0.0, 0.5 * (1.0 + Math.cos(Math.PI * progress)));
        }
        return Math.max(0.0, (double) (totalSteps - s) / Math.max(1, totalSteps - warmupSteps));
    }

    /**
     * The batches of one epoch as index arrays: input order (no shuffle), a shuffle, or
     * length-grouped mega-batches (shuffle, cut into groups of 50 batches, sort each group by
     * length longest first, cut into batches, shuffle the batches).
     */
    static List<int[]> batches(
            int[] lengths, int batchSize, boolean shuffle, boolean group, Random rnd) {
        int n = lengths.length;
        List<Integer> order = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            order.add(i);
        }
        if (!shuffle) { // the caller's order, e.g. to replay a reference run
            List<int[]> out = new ArrayList<>();
            cut(order, batchSize, out);
            return out;
        }
        Collections.shuffle(order, rnd);
        List<int[]> out = new ArrayList<>();
        if (group) {
            int mega = batchSize * 50;
            for (int start = 0; start < n; start += mega) {
                List<Integer> chunk =
                        new ArrayList<>(order.subList(start, Math.min(n, start + mega)));
                chunk.sort(Comparator.comparingInt((Integer i) -> lengths[i]).reversed());
                cut(chunk, batchSize, out);
            }
            Collections.shuffle(out, rnd);
        } else {
            cut(order, batchSize, out);
        }
        return out;
    }

    private static void cut(List<Integer> order, int batchSize, List<int[]> out) {
        for (int start = 0; start < order.size(); start += batchSize) {
            int end = Math.min(order.size(), start + batchSize);
            int[] b = new int[end - start];
            for (int i = start; i < end; i++) {
                b[i - start] = order.get(i);
            }
            out.add(b);
        }
    }
}
