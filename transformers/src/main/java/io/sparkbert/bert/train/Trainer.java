package io.sparkbert.bert.train;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import io.sparkbert.bert.BertModel;
import io.sparkbert.bert.Encoding;
import io.sparkbert.bert.HfTokenizer;
import io.sparkbert.bert.TokenizerOptions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.SortedSet;
import java.util.TreeSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Fine-tunes a {@link BertModel} with a classification head for sequence classification, on the
 * model's device, updating its parameters in place.
 *
 * <p><b>What a step does</b> (the order of HF {@code Trainer}): forward with dropout, weighted
 * cross-entropy written as log-softmax + gather, backward, global L2 norm of all gradients
 * (per-parameter norms squared and summed in float64, so it cannot overflow), a sanity check,
 * clipping to {@code maxGradNorm} like {@code torch.nn.utils.clip_grad_norm_}, the AdamW update,
 * and zeroing of the gradients.
 *
 * <p><b>Optimiser.</b> {@link AdamW}: {@code torch.optim.AdamW}'s update rule, in place with state
 * made once (a fused native loop on the CPU), the clip applied as its gradient scale. Parameters
 * whose gradient is undefined in a step (they took no part, e.g. the pooler under {@code mean}
 * pooling) are skipped entirely, as torch skips parameters whose {@code .grad} is None. With {@code
 * decayBiasAndNorm=false} biases and LayerNorm weights get no decay.
 *
 * <p><b>Corrupt gradients.</b> A step whose loss or global gradient norm is not finite, or whose
 * norm exceeds {@link TrainingConfig#maxSaneGradNorm()}, is <em>skipped</em> (no parameter or
 * moment changes), logged as a warning naming the parameters with the largest gradient norms, and
 * recorded in the summary ({@link TrainingSummary.Step#skipped()}). Gradients are only ever read
 * for parameters torch has a gradient for, are zeroed after every step (by the optimizer, which
 * consumes them, or for skipped steps here), and every gradient handle is released with its step's
 * scope.
 *
 * <p><b>Reproducibility.</b> The seed drives shuffling (a {@link Random}), the PyTorch generator
 * (dropout) and, through the caller, head initialisation; two runs with the same seed, data and
 * thread count give bit-identical weights and losses.
 *
 * <p><b>Threads.</b> Sets libtorch's intra-op threads to all cores for the run and restores the
 * previous value afterwards. A {@code Trainer} is not thread-safe; the model must not be used by
 * other threads while it trains.
 */
public final class Trainer {
    private static final Logger LOG = LoggerFactory.getLogger(Trainer.class);

    /** The HF name of the token embedding table. */
    static final String WORD_EMBEDDINGS = "embeddings.word_embeddings.weight";

    private final TrainingConfig config;
    private StepListener stepListener;

    /** Test hook: sees every finished step and how many NDArrays the run keeps alive. */
    interface StepListener {
        void afterStep(int step, int liveArrays);
    }

    /**
     * A trainer with the given settings.
     *
     * @param config the settings
     */
    public Trainer(TrainingConfig config) {
        if (config == null) {
            throw new IllegalArgumentException("TrainingConfig must not be null");
        }
        this.config = config;
    }

    /** The settings. */
    public TrainingConfig config() {
        return config;
    }

    /** Called after every step once its scope is closed; for tests. */
    void setStepListener(StepListener listener) {
        this.stepListener = listener;
    }

    /**
     * Labelled examples.
     *
     * @param encodings the encoded texts (any padding; the trainer pads per batch)
     * @param labels class ids 0..k-1, one per encoding
     */
    public record Examples(List<Encoding> encodings, int[] labels) {
        /** Checks that both sides have the same size. */
        public Examples {
            if (encodings == null || labels == null) {
                throw new IllegalArgumentException("encodings and labels must not be null");
            }
            if (encodings.size() != labels.length) {
                throw new IllegalArgumentException(
                        "encodings and labels differ in size: "
                                + encodings.size()
                                + " vs "
                                + labels.length);
            }
        }

        /** Number of examples. */
        public int size() {
            return labels.length;
        }
    }

    /**
     * Tokenizes texts (or text pairs) with the tokenizer's vocabulary, truncating to {@link
     * TrainingConfig#maxLength()} and without padding.
     *
     * @param tokenizer the model's tokenizer
     * @param texts the texts
     * @param pairs the second texts, or null for single texts
     * @param labels one class id per text
     * @return the examples
     */
    public Examples encode(
            HfTokenizer tokenizer, List<String> texts, List<String> pairs, int[] labels) {
        TokenizerOptions opts =
                tokenizer
                        .options()
                        .withPadding(TokenizerOptions.Padding.NONE)
                        .withMaxLength(config.maxLength());
        try (HfTokenizer tok = HfTokenizer.fromJson(tokenizer.toJson(), opts)) {
            Encoding[] enc = pairs == null ? tok.encodeBatch(texts) : tok.encodeBatch(texts, pairs);
            return new Examples(Arrays.asList(enc), labels);
        }
    }

    /**
     * Trains {@code model} in place.
     *
     * @param model a model with a classification head; its parameters are updated
     * @param head how logits are computed (must match what scoring will use)
     * @param train the training examples
     * @param validation validation examples, or null
     * @return what happened
     * @throws IllegalArgumentException for empty data, labels outside the head's range, class
     *     weights of the wrong length or that give 0 to every class of the training data, or
     *     sequences longer than the model's positions
     */
    public TrainingSummary train(
            BertModel model, ClassifierHead head, Examples train, Examples validation) {
        if (model == null || head == null || train == null) {
            throw new IllegalArgumentException("model, head and training data must not be null");
        }
        if (!model.hasClassifier()) {
            throw new IllegalArgumentException(
                    "the model has no classification head: create one with"
                            + " model.withFreshClassifier(numLabels, seed) before training");
        }
        int k = model.numLabels();
        checkExamples(train, k, model.config().maxPositionEmbeddings(), "training");
        if (train.size() == 0) {
            throw new IllegalArgumentException(
                    "the training data is empty: pass at least one example");
        }
        if (validation != null && validation.size() == 0) {
            validation = null;
        }
        if (validation != null) {
            checkExamples(validation, k, model.config().maxPositionEmbeddings(), "validation");
        }
        double[] classWeights = config.classWeights();
        if (classWeights != null && classWeights.length != k) {
            throw new IllegalArgumentException(
                    "classWeights has "
                            + classWeights.length
                            + " entries but the classifier has "
                            + k
                            + " classes: give one weight per class.");
        }
        checkSomeWeight(train, classWeights);
        int oldThreads = JniUtils.getNumThreads();
        JniUtils.setNumThreads(Runtime.getRuntime().availableProcessors());
        try {
            LinearProbe.Result probe =
                    config.linearProbe()
                            ? LinearProbe.fit(
                                    model, head, train, config.linearProbeL2(), classWeights)
                            : null;
            TrainingSummary summary =
                    config.soupSize() == 1
                            ? new Run(model, head, train, validation, classWeights, config.seed())
                                    .run()
                            : soup(model, head, train, validation, classWeights);
            return probe == null ? summary : summary.withLinearProbe(probe);
        } finally {
            JniUtils.setNumThreads(oldThreads);
        }
    }

    /**
     * {@link TrainingConfig#soupSize()} runs from the same starting weights, run i seeded with
     * {@code seed + i}, then the element-wise mean of their weights. The summary lists the runs'
     * steps and epochs one after the other, numbered on (run 2's first epoch is epoch {@code epochs
     * + 1}).
     */
    private TrainingSummary soup(
            BertModel model,
            ClassifierHead head,
            Examples train,
            Examples validation,
            double[] classWeights) {
        long t0 = System.nanoTime();
        int size = config.soupSize();
        Map<String, NDArray> params = trainable(model, head, config);
        List<TrainingSummary> runs = new ArrayList<>();
        try (NDManager keep = NDManager.newBaseManager(model.device())) {
            Map<String, NDArray> start = new LinkedHashMap<>();
            Map<String, NDArray> sum = new LinkedHashMap<>();
            for (Map.Entry<String, NDArray> e : params.entrySet()) {
                NDArray copy = e.getValue().duplicate();
                copy.attach(keep);
                start.put(e.getKey(), copy);
                NDArray zeros = copy.zerosLike();
                zeros.attach(keep);
                sum.put(e.getKey(), zeros);
            }
            for (int i = 0; i < size; i++) {
                if (i > 0) {
                    params.forEach((name, p) -> p.muli(0f).addi(start.get(name)));
                }
                LOG.info("Model soup: run {} of {} (seed {})", i + 1, size, config.seed() + i);
                runs.add(
                        new Run(model, head, train, validation, classWeights, config.seed() + i)
                                .run());
                params.forEach((name, p) -> sum.get(name).addi(p));
            }
            params.forEach((name, p) -> p.muli(0f).addi(sum.get(name).divi((float) size)));
        }
        if (validation != null) {
            double[] m =
                    new Run(model, head, train, validation, classWeights, config.seed())
                            .evaluateAndClose(validation);
            LOG.info(
                    String.format(
                            Locale.ROOT,
                            "Model soup of %d runs: val loss %.4f, val accuracy %.4f",
                            size,
                            m[0],
                            m[1]));
        }
        return TrainingSummary.concatenate(runs, (System.nanoTime() - t0) / 1e9);
    }

    /**
     * The parameters training updates: all but the pooler when the head does not use it, and but
     * the word embeddings when {@link TrainingConfig#freezeWordEmbeddings()}.
     */
    private static Map<String, NDArray> trainable(
            BertModel model, ClassifierHead head, TrainingConfig config) {
        Map<String, NDArray> out = new LinkedHashMap<>();
        for (Map.Entry<String, NDArray> e : model.parameters().entrySet()) {
            String name = e.getKey();
            boolean unusedPooler = !head.usesPooler() && name.startsWith("pooler.");
            boolean frozen = config.freezeWordEmbeddings() && name.equals(WORD_EMBEDDINGS);
            if (!unusedPooler && !frozen) {
                out.put(name, e.getValue());
            }
        }
        return out;
    }

    /**
     * Refuses class weights that give 0 to every class of the training data: each batch's loss
     * would be 0 / 0, so every step would be skipped and nothing learnt.
     */
    private static void checkSomeWeight(Examples train, double[] classWeights) {
        if (classWeights == null) {
            return;
        }
        SortedSet<Integer> present = new TreeSet<>();
        for (int y : train.labels()) {
            if (classWeights[y] > 0) {
                return;
            }
            present.add(y);
        }
        throw new IllegalArgumentException(
                "classWeights "
                        + Arrays.toString(classWeights)
                        + " give weight 0 to every class of the training data (classes "
                        + present
                        + "), so there is no loss to learn from: give at least one of them a"
                        + " positive weight.");
    }

    private static void checkExamples(Examples ex, int k, int maxPositions, String what) {
        for (int i = 0; i < ex.size(); i++) {
            int y = ex.labels()[i];
            if (y < 0 || y >= k) {
                throw new IllegalArgumentException(
                        what
                                + " label "
                                + y
                                + " at example "
                                + i
                                + " is outside the classifier's range 0.."
                                + (k - 1)
                                + ": labels must be class indices below the number of classes.");
            }
            int len = ex.encodings().get(i).length();
            if (len > maxPositions) {
                throw new IllegalArgumentException(
                        what
                                + " example "
                                + i
                                + " has "
                                + len
                                + " tokens but the model has "
                                + maxPositions
                                + " positions: lower maxLength.");
            }
        }
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
        return Math.max(0.0, (double) (totalSteps - s) / Math.max(1, totalSteps - warmupSteps));
    }

    /**
     * The batches of one epoch as index arrays: input order, a shuffle, or length-grouped
     * mega-batches (shuffle, cut into groups of 50 batches, sort each group by length longest
     * first, cut into batches, shuffle the batches).
     */
    static List<int[]> batches(
            int[] lengths, int batchSize, boolean shuffle, boolean group, Random rnd) {
        int n = lengths.length;
        List<Integer> order = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            order.add(i);
        }
        if (shuffle || group) {
            Collections.shuffle(order, rnd);
        }
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

    /** Whether a parameter gets weight decay under {@code decayBiasAndNorm=false}. */
    static boolean decays(String name) {
        return !(name.endsWith(".bias") || name.contains("LayerNorm."));
    }

    /** State of one training run. */
    private final class Run {
        private final BertModel model;
        private final ClassifierHead head;
        private final Examples train;
        private final Examples validation;
        private final double[] classWeights;
        private final Map<String, NDArray> trainable;
        private final long seed;
        private final NDManager state;
        private final AdamW optimizer;
        private final List<TrainingSummary.Step> steps = new ArrayList<>();
        private final List<TrainingSummary.Epoch> epochs = new ArrayList<>();
        // The moving average of the weights when emaDecay > 0, and the raw weights set aside
        // while the average is swapped in for an epoch's validation.
        private Map<String, NDArray> average;
        private Map<String, NDArray> raw;
        private int averagedSteps;

        Run(
                BertModel model,
                ClassifierHead head,
                Examples train,
                Examples validation,
                double[] classWeights,
                long seed) {
            this.model = model;
            this.head = head;
            this.train = train;
            this.validation = validation;
            this.classWeights = classWeights;
            this.seed = seed;
            this.state = NDManager.newBaseManager(model.device());
            this.optimizer = new AdamW(state, config.beta1(), config.beta2(), config.eps());
            this.trainable = trainable(model, head, config);
        }

        /**
         * Loss and accuracy of the current weights on {@code data}; the run is not usable after.
         */
        double[] evaluateAndClose(Examples data) {
            try {
                return evaluate(data);
            } finally {
                state.close();
            }
        }

        TrainingSummary run() {
            long t0 = System.nanoTime();
            Engine.getInstance().setRandomSeed((int) seed);
            Random rnd = new Random(seed);
            int n = train.size();
            int[] lengths = new int[n];
            for (int i = 0; i < n; i++) {
                lengths[i] = train.encodings().get(i).length();
            }
            int stepsPerEpoch = (n + config.batchSize() - 1) / config.batchSize();
            int totalSteps = stepsPerEpoch * config.epochs();
            int warmupSteps = (int) Math.ceil(config.warmupRatio() * totalSteps);
            LOG.info(
                    "Fine-tuning {} examples ({} validation) for {} epochs, {} steps, on {}: {}",
                    n,
                    validation == null ? 0 : validation.size(),
                    config.epochs(),
                    totalSteps,
                    model.device(),
                    config);
            Map<String, NDArray> best = null;
            double bestLoss = Double.POSITIVE_INFINITY;
            int bestEpoch = 0;
            int sinceBest = 0;
            boolean stoppedEarly = false;
            int step = 0;
            double trainSeconds = 0;
            long trainSamples = 0;
            boolean oldGradMode = JniUtils.isGradMode();
            JniUtils.setGradMode(false);
            try {
                for (NDArray p : trainable.values()) {
                    p.setRequiresGradient(true);
                }
                if (config.emaDecay() > 0) {
                    average = snapshot(null);
                }
                for (int epoch = 1; epoch <= config.epochs(); epoch++) {
                    if (raw != null) {
                        restore(raw);
                    }
                    long e0 = System.nanoTime();
                    double lossSum = 0;
                    int lossCount = 0;
                    long epochSamples = 0;
                    for (int[] batch :
                            batches(
                                    lengths,
                                    config.batchSize(),
                                    config.shuffle(),
                                    config.groupByLength(),
                                    rnd)) {
                        double lr =
                                config.learningRate()
                                        * lrFactor(
                                                step, totalSteps, warmupSteps, config.schedule());
                        step++;
                        TrainingSummary.Step s = step(batch, lr, step, epoch);
                        steps.add(s);
                        if (!s.skipped()) {
                            lossSum += s.loss();
                            lossCount++;
                            accumulateAverage();
                        }
                        epochSamples += batch.length;
                        if (stepListener != null) {
                            stepListener.afterStep(step, liveArrays());
                        }
                        if (config.logEverySteps() > 0 && step % config.logEverySteps() == 0) {
                            double secs = (System.nanoTime() - e0) / 1e9;
                            double rate = epochSamples / Math.max(secs, 1e-9);
                            double remaining =
                                    ((long) (totalSteps - step) * config.batchSize()) / rate;
                            LOG.info(
                                    String.format(
                                            Locale.ROOT,
                                            "step %d/%d epoch %d/%d loss %.4f lr %.3g %.1f samples/s"
                                                    + " ETA %s",
                                            step,
                                            totalSteps,
                                            epoch,
                                            config.epochs(),
                                            s.loss(),
                                            lr,
                                            rate,
                                            duration(remaining)));
                        }
                    }
                    double trainSecs = (System.nanoTime() - e0) / 1e9;
                    trainSeconds += trainSecs;
                    trainSamples += epochSamples;
                    if (average != null) {
                        // From here to the next epoch the weights are the average: validated,
                        // kept as the best epoch and, after the last epoch, the result. The raw
                        // weights are set aside only when another epoch will continue from them.
                        if (epoch < config.epochs()) {
                            raw = snapshot(raw);
                        }
                        restore(average);
                    }
                    Double valLoss = null;
                    Double valAcc = null;
                    if (validation != null) {
                        double[] m = evaluate(validation);
                        valLoss = m[0];
                        valAcc = m[1];
                    }
                    double epochSecs = (System.nanoTime() - e0) / 1e9;
                    TrainingSummary.Epoch ep =
                            new TrainingSummary.Epoch(
                                    epoch,
                                    lossCount == 0 ? Double.NaN : lossSum / lossCount,
                                    valLoss,
                                    valAcc,
                                    epochSamples / Math.max(trainSecs, 1e-9),
                                    epochSecs);
                    epochs.add(ep);
                    LOG.info(
                            String.format(
                                    Locale.ROOT,
                                    "epoch %d/%d: train loss %.4f, val loss %s, val accuracy %s,"
                                            + " %.1f samples/s, %s",
                                    epoch,
                                    config.epochs(),
                                    ep.trainLoss(),
                                    valLoss == null
                                            ? "-"
                                            : String.format(Locale.ROOT, "%.4f", valLoss),
                                    valAcc == null
                                            ? "-"
                                            : String.format(Locale.ROOT, "%.4f", valAcc),
                                    ep.samplesPerSecond(),
                                    duration(epochSecs)));
                    if (validation == null) {
                        bestEpoch = epoch;
                        continue;
                    }
                    if (valLoss < bestLoss) {
                        bestLoss = valLoss;
                        bestEpoch = epoch;
                        sinceBest = 0;
                        if (epoch < config.epochs()) {
                            best = snapshot(best);
                        }
                    } else {
                        sinceBest++;
                        if (config.earlyStoppingPatience() > 0
                                && sinceBest >= config.earlyStoppingPatience()) {
                            stoppedEarly = epoch < config.epochs();
                            LOG.info(
                                    "Early stopping after epoch {}: no validation-loss improvement"
                                            + " for {} epochs; keeping epoch {}",
                                    epoch,
                                    sinceBest,
                                    bestEpoch);
                            break;
                        }
                    }
                }
                int lastEpoch = epochs.size();
                if (bestEpoch != lastEpoch && best != null) {
                    restore(best);
                    LOG.info(
                            "Restored the weights of epoch {} (lowest validation loss)", bestEpoch);
                }
            } finally {
                for (NDArray p : trainable.values()) {
                    p.setRequiresGradient(false);
                }
                JniUtils.setGradMode(oldGradMode);
                state.close();
            }
            double wall = (System.nanoTime() - t0) / 1e9;
            return new TrainingSummary(
                    steps,
                    epochs,
                    bestEpoch,
                    stoppedEarly,
                    n,
                    validation == null ? 0 : validation.size(),
                    trainSamples / Math.max(trainSeconds, 1e-9),
                    wall,
                    model.device().toString(),
                    config.toString(),
                    null);
        }

        /** Arrays held by the model's manager and by this run's state (sub-managers included). */
        private int liveArrays() {
            NDManager modelManager = model.parameters().values().iterator().next().getManager();
            return modelManager.getManagedArrays().size() + state.getManagedArrays().size();
        }

        private TrainingSummary.Step step(int[] batch, double lr, int step, int epoch) {
            try (NDManager scope = state.newSubManager()) {
                NDArray[] inputs = collate(scope, train, batch);
                NDArray labels = labels(scope, train, batch);
                // AdamW leaves the gradients it consumed zeroed; otherwise they are zeroed here.
                boolean updated = false;
                try {
                    double lossValue = forwardBackward(scope, inputs, labels);
                    Gradients g = gradients(scope, lossValue);
                    if (g.corrupt(config.maxSaneGradNorm())) {
                        reportCorrupt(step, epoch, g, "");
                        return new TrainingSummary.Step(step, epoch, lossValue, lr, g.norm, true);
                    }
                    if (config.samRho() > 0) {
                        g = sharpnessAware(scope, inputs, labels, g);
                        if (g.corrupt(config.maxSaneGradNorm())) {
                            reportCorrupt(step, epoch, g, " (SAM's pass at the perturbed weights)");
                            return new TrainingSummary.Step(
                                    step, epoch, lossValue, lr, g.norm, true);
                        }
                    }
                    double scale = 1.0;
                    if (config.maxGradNorm() > 0) {
                        double coef = config.maxGradNorm() / (g.norm + 1e-6);
                        if (coef < 1.0) {
                            scale = coef;
                        }
                    }
                    for (Map.Entry<String, NDArray> e : g.arrays.entrySet()) {
                        String name = e.getKey();
                        double lrHere = lr * config.lrScale(name, model.config().numHiddenLayers());
                        double wd =
                                config.decayBiasAndNorm() || decays(name)
                                        ? config.weightDecay()
                                        : 0.0;
                        optimizer.update(
                                name, trainable.get(name), e.getValue(), lrHere, wd, scale);
                    }
                    updated = true;
                    return new TrainingSummary.Step(step, epoch, lossValue, lr, g.norm, false);
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
                        config.rdropAlpha() > 0
                                ? rdropLoss(scope, inputs, labels)
                                : loss(
                                        scope,
                                        head.logits(
                                                model, scope, inputs[0], inputs[1], inputs[2],
                                                true),
                                        labels);
                JniUtils.backward(
                        (PtNDArray) loss, (PtNDArray) scope.ones(new Shape()), false, false);
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

        /** The trained weights' gradients (moved into the step's scope) and their norms. */
        private Gradients gradients(NDManager scope, double loss) {
            Map<String, NDArray> grads = new LinkedHashMap<>();
            Map<String, Double> sq = new LinkedHashMap<>();
            double total = 0;
            for (Map.Entry<String, NDArray> e : trainable.entrySet()) {
                PtNDArray g = JniUtils.getGradient((PtNDArray) e.getValue());
                if (g == null) {
                    continue;
                }
                g.attach(scope);
                grads.put(e.getKey(), g);
                double s = squaredNorm(g);
                sq.put(e.getKey(), s);
                total += s;
            }
            return new Gradients(grads, sq, Math.sqrt(total), loss);
        }

        /**
         * SAM's second pass: moves the weights by {@code samRho * g / ||g||}, takes the batch's
         * gradient there (new dropout masks) and puts the weights back exactly (from copies), so
         * only the gradient differs from a plain step.
         */
        private Gradients sharpnessAware(
                NDManager scope, NDArray[] inputs, NDArray labels, Gradients first) {
            float r = (float) (config.samRho() / (first.norm + 1e-12));
            Map<String, NDArray> saved = new LinkedHashMap<>();
            try {
                for (Map.Entry<String, NDArray> e : first.arrays.entrySet()) {
                    NDArray p = trainable.get(e.getKey());
                    saved.put(e.getKey(), inScope(scope, p.duplicate()));
                    p.addi(e.getValue().mul(r));
                }
                zeroGradients();
                return gradients(scope, forwardBackward(scope, inputs, labels));
            } finally {
                restore(saved);
            }
        }

        /**
         * The squared L2 norm of one gradient, overflow-safe: one fused norm pass (libtorch
         * accumulates float32 reductions in double on the CPU), squared in Java doubles; only when
         * that is not finite (a NaN/inf inside, a norm beyond float32, or a GPU reduction that
         * overflowed) is the sum of squares recomputed in float64 to tell huge from NaN.
         */
        private double squaredNorm(NDArray g) {
            double n = g.norm().getFloat();
            if (Double.isFinite(n)) {
                return n * n;
            }
            return g.toType(DataType.FLOAT64, false).square().sum().getDouble();
        }

        private void reportCorrupt(int step, int epoch, Gradients g, String where) {
            Map<String, Double> sq = g.squares;
            StringBuilder worst = new StringBuilder();
            sq.entrySet().stream()
                    .sorted(
                            (a, b) ->
                                    Double.compare(
                                            Double.isNaN(b.getValue())
                                                    ? Double.POSITIVE_INFINITY
                                                    : b.getValue(),
                                            Double.isNaN(a.getValue())
                                                    ? Double.POSITIVE_INFINITY
                                                    : a.getValue()))
                    .limit(5)
                    .forEach(
                            e ->
                                    worst.append(
                                            String.format(
                                                    Locale.ROOT,
                                                    " %s=%.3g",
                                                    e.getKey(),
                                                    Math.sqrt(e.getValue()))));
            LOG.warn(
                    String.format(
                            Locale.ROOT,
                            "Skipping step %d (epoch %d)%s: loss %.6g, global gradient norm %.6g"
                                    + " is not finite or above maxSaneGradNorm %.3g; largest"
                                    + " parameter gradient norms:%s",
                            step,
                            epoch,
                            where,
                            g.loss,
                            g.norm,
                            config.maxSaneGradNorm(),
                            worst));
        }

        /**
         * R-Drop (Liang et al., 2021): the batch goes through the model twice in one forward pass
         * (its rows duplicated), so each example sees two dropout masks; the loss is the mean of
         * the two cross-entropies plus {@code rdropAlpha / 4} times {@code KL(p1 || p2) + KL(p2 ||
         * p1)}, averaged over the batch: the paper's {@code CE1 + CE2 + alpha * (KL12 + KL21) / 2},
         * halved, so alpha means what it means there.
         */
        private NDArray rdropLoss(NDManager scope, NDArray[] inputs, NDArray labels) {
            long n = labels.getShape().get(0);
            NDArray logits =
                    head.logits(
                            model,
                            scope,
                            inputs[0].concat(inputs[0], 0),
                            inputs[1].concat(inputs[1], 0),
                            inputs[2].concat(inputs[2], 0),
                            true);
            NDArray first = logits.get(new NDIndex("0:" + n));
            NDArray second = logits.get(new NDIndex(n + ":"));
            NDArray ce =
                    NDArrays.stack(
                                    new NDList(
                                            loss(scope, first, labels),
                                            loss(scope, second, labels)))
                            .mean();
            NDArray lp1 = first.logSoftmax(-1);
            NDArray lp2 = second.logSoftmax(-1);
            // KL(p1 || p2) + KL(p2 || p1) = sum_k (p1 - p2) * (log p1 - log p2), per example.
            NDArray symmetricKl =
                    lp1.exp().sub(lp2.exp()).mul(lp1.sub(lp2)).sum(new int[] {1}).mean();
            // Scalars in the autograd graph must be libtorch-owned (see BertModel.ownedScalar).
            NDArray weight = BertModel.ownedScalar(scope, (float) (config.rdropAlpha() / 4));
            return ce.add(symmetricKl.mul(weight));
        }

        private NDArray loss(NDManager scope, NDArray logits, NDArray labels) {
            // As torch's CrossEntropyLoss(weight=w, label_smoothing=eps), mean reduction:
            // [(1 - eps) * sum_i w_yi * nll_i + eps / k * sum_i sum_c w_c * -log p_ic] / sum_i w_yi
            // (w = 1 without class weights, so the divisor is the batch size).
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
            double eps = config.labelSmoothing();
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

        /** Mean loss and accuracy over a data set, without dropout or gradients. */
        private double[] evaluate(Examples data) {
            double lossSum = 0;
            double weightSum = 0;
            long correct = 0;
            int n = data.size();
            int[] all = new int[n];
            for (int i = 0; i < n; i++) {
                all[i] = i;
            }
            int bs = Math.max(1, config.batchSize() * 2);
            for (int start = 0; start < n; start += bs) {
                int[] batch = Arrays.copyOfRange(all, start, Math.min(n, start + bs));
                try (NDManager scope = state.newSubManager()) {
                    NDArray[] inputs = collate(scope, data, batch);
                    NDArray labels = labels(scope, data, batch);
                    NDArray logits =
                            head.logits(model, scope, inputs[0], inputs[1], inputs[2], false);
                    NDArray nll =
                            logits.logSoftmax(-1)
                                    .gather(labels.reshape(-1, 1), 1)
                                    .reshape(-1)
                                    .neg();
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

        /**
         * Moves the weight average towards the current weights: {@code avg = d * avg + (1 - d) * w}
         * in place, with {@code d = min(emaDecay, (1 + n) / (10 + n))} after {@code n} averaged
         * steps, so the random start of a fresh head fades out quickly early on.
         */
        private void accumulateAverage() {
            if (average == null) {
                return;
            }
            double d = Math.min(config.emaDecay(), (1.0 + averagedSteps) / (10.0 + averagedSteps));
            averagedSteps++;
            for (Map.Entry<String, NDArray> e : average.entrySet()) {
                NDArray w = trainable.get(e.getKey());
                e.getValue().subi(w).muli((float) d).addi(w);
            }
        }

        private Map<String, NDArray> snapshot(Map<String, NDArray> previous) {
            if (previous != null) {
                previous.values().forEach(NDArray::close);
            }
            Map<String, NDArray> copy = new LinkedHashMap<>();
            for (Map.Entry<String, NDArray> e : trainable.entrySet()) {
                NDArray d = e.getValue().duplicate();
                d.attach(state);
                copy.put(e.getKey(), d);
            }
            return copy;
        }

        private void restore(Map<String, NDArray> saved) {
            for (Map.Entry<String, NDArray> e : saved.entrySet()) {
                trainable.get(e.getKey()).muli(0f).addi(e.getValue());
            }
        }
    }

    /**
     * One forward/backward pass: the gradients by parameter name, their squared norms, the global
     * L2 norm and the loss.
     */
    private record Gradients(
            Map<String, NDArray> arrays, Map<String, Double> squares, double norm, double loss) {
        /** Whether the step must be skipped: a loss or norm that is not finite, or too large. */
        boolean corrupt(double maxSane) {
            return !Double.isFinite(loss) || !Double.isFinite(norm) || norm > maxSane;
        }
    }

    /** [ids, typeIds, mask] of the batch, right-padded with zeros to its longest example. */
    static NDArray[] collate(NDManager scope, Examples data, int[] batch) {
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

    private static NDArray labels(NDManager scope, Examples data, int[] batch) {
        long[] y = new long[batch.length];
        for (int i = 0; i < batch.length; i++) {
            y[i] = data.labels()[batch[i]];
        }
        return scope.create(y);
    }

    private static NDArray inScope(NDManager scope, NDArray a) {
        a.attach(scope);
        return a;
    }

    private static String duration(double seconds) {
        long s = Math.round(seconds);
        return s >= 60 ? (s / 60) + "m" + (s % 60) + "s" : s + "s";
    }
}
