package io.sparkbert.bert.train;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.jni.JniUtils;
import io.sparkbert.bert.BertModel;
import io.sparkbert.bert.ClassifierHead;
import io.sparkbert.bert.Encoding;
import io.sparkbert.bert.HfTokenizer;
import io.sparkbert.bert.ProblemType;
import io.sparkbert.bert.TokenizerOptions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

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
 * <p><b>Problem types.</b> The loss follows the model config's {@code problem_type} ({@link
 * ProblemType#of}): cross-entropy on class ids (single-label, the default), {@code
 * BCEWithLogitsLoss} on 0/1 target rows with the class weights as {@code pos_weight} (multi-label),
 * {@code MSELoss} on one value per example (regression; no class weights). Label smoothing belongs
 * to single-label only. Validation reports the loss and accuracy (multi-label: subset accuracy at
 * probability 0.5; regression: no accuracy).
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
     * Labelled examples: class ids for single-label classification, or per-example target rows for
     * multi-label classification (0/1 per class) and regression (one value).
     *
     * @param encodings the encoded texts (any padding; the trainer pads per batch)
     * @param labels class ids 0..k-1, one per encoding; null when {@code targets} are given
     * @param targets one row per encoding ({@code k} entries of 0 or 1 for multi-label, one value
     *     for regression); null for single-label classification
     */
    public record Examples(List<Encoding> encodings, int[] labels, float[][] targets) {
        /** Checks that exactly one kind of label is given, one per encoding. */
        public Examples {
            if (encodings == null || (labels == null) == (targets == null)) {
                throw new IllegalArgumentException(
                        "encodings and exactly one of labels and targets must be given");
            }
            int n = labels != null ? labels.length : targets.length;
            if (encodings.size() != n) {
                throw new IllegalArgumentException(
                        "encodings and labels differ in size: " + encodings.size() + " vs " + n);
            }
        }

        /** Single-label examples. */
        public Examples(List<Encoding> encodings, int[] labels) {
            this(encodings, labels, null);
        }

        /** Number of examples. */
        public int size() {
            return encodings.size();
        }

        /** The same encodings with target rows instead of class ids. */
        public Examples withTargets(float[][] rows) {
            return new Examples(encodings, null, rows);
        }

        /** The examples at {@code idx}, in that order. */
        public Examples subset(List<Integer> idx) {
            List<Encoding> enc = new ArrayList<>(idx.size());
            int[] y = labels == null ? null : new int[idx.size()];
            float[][] t = targets == null ? null : new float[idx.size()][];
            for (int i = 0; i < idx.size(); i++) {
                int j = idx.get(i);
                enc.add(encodings.get(j));
                if (y != null) {
                    y[i] = labels[j];
                } else {
                    t[i] = targets[j];
                }
            }
            return new Examples(enc, y, t);
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
     * Like {@link #encode(HfTokenizer, List, List, int[])} with target rows (multi-label or
     * regression) instead of class ids.
     */
    public Examples encode(
            HfTokenizer tokenizer, List<String> texts, List<String> pairs, float[][] targets) {
        return encode(tokenizer, texts, pairs, new int[texts.size()]).withTargets(targets);
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
        ProblemType type = ProblemType.of(model.config());
        ExampleChecks.checkExamples(
                train, type, k, model.config().maxPositionEmbeddings(), "training");
        if (train.size() == 0) {
            throw new IllegalArgumentException(
                    "the training data is empty: pass at least one example");
        }
        if (validation != null && validation.size() == 0) {
            validation = null;
        }
        if (validation != null) {
            ExampleChecks.checkExamples(
                    validation, type, k, model.config().maxPositionEmbeddings(), "validation");
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
        ExampleChecks.checkLossOptions(type, classWeights, config.labelSmoothing());
        if (type == ProblemType.SINGLE_LABEL) {
            ExampleChecks.checkSomeWeight(train, classWeights);
        }
        int oldThreads = JniUtils.getNumThreads();
        JniUtils.setNumThreads(Runtime.getRuntime().availableProcessors());
        try {
            LinearProbe.Result probe =
                    config.linearProbe()
                            ? LinearProbe.fit(
                                    model, head, train, config.linearProbeL2(), classWeights)
                            : null;
            TrainingSummary summary =
                    new Run(model, head, train, validation, classWeights, config.seed(), type)
                            .run();
            return probe == null ? summary : summary.withLinearProbe(probe);
        } finally {
            JniUtils.setNumThreads(oldThreads);
        }
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

    /** See {@link EpochLoop#lrFactor}. */
    static double lrFactor(
            int s, int totalSteps, int warmupSteps, TrainingConfig.Schedule schedule) {
        return EpochLoop.lrFactor(s, totalSteps, warmupSteps, schedule);
    }

    /** See {@link EpochLoop#batches}. */
    static List<int[]> batches(
            int[] lengths, int batchSize, boolean shuffle, boolean group, Random rnd) {
        return EpochLoop.batches(lengths, batchSize, shuffle, group, rnd);
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
        private final GradientStep gradientStep;
        private final ProblemType type;

        Run(
                BertModel model,
                ClassifierHead head,
                Examples train,
                Examples validation,
                double[] classWeights,
                long seed,
                ProblemType type) {
            this.type = type;
            this.model = model;
            this.head = head;
            this.train = train;
            this.validation = validation;
            this.classWeights = classWeights;
            this.seed = seed;
            this.state = NDManager.newBaseManager(model.device());
            this.trainable = trainable(model, head, config);
            this.gradientStep =
                    new GradientStep(
                            config,
                            model,
                            head,
                            train,
                            classWeights,
                            trainable,
                            state,
                            new AdamW(state, config.beta1(), config.beta2(), config.eps()),
                            type);
        }

        TrainingSummary run() {
            long t0 = System.nanoTime();
            Engine.getInstance().setRandomSeed((int) seed);
            int n = train.size();
            int[] lengths = new int[n];
            for (int i = 0; i < n; i++) {
                lengths[i] = train.encodings().get(i).length();
            }
            EarlyStopping stopping = new EarlyStopping(config, validation != null, weights());
            List<EpochLoop.Listener> listeners = new ArrayList<>();
            listeners.add(new ProgressLog(config, model.device().toString()));
            listeners.add(stopping);
            if (stepListener != null) {
                listeners.add(liveArraysHook());
            }
            EpochLoop loop = new EpochLoop(config, listeners);
            EpochLoop.Plan plan = loop.plan(n, validation == null ? 0 : validation.size());
            EpochLoop.Result result;
            boolean oldGradMode = JniUtils.isGradMode();
            JniUtils.setGradMode(false);
            try {
                for (NDArray p : trainable.values()) {
                    p.setRequiresGradient(true);
                }
                result = loop.run(steps(), plan, lengths, new Random(seed));
            } finally {
                for (NDArray p : trainable.values()) {
                    p.setRequiresGradient(false);
                }
                JniUtils.setGradMode(oldGradMode);
                state.close();
            }
            return new TrainingSummary(
                    result.steps(),
                    result.epochs(),
                    stopping.bestEpoch(),
                    stopping.stoppedEarly(),
                    n,
                    plan.validationExamples(),
                    result.samplesPerSecond(),
                    (System.nanoTime() - t0) / 1e9,
                    model.device().toString(),
                    config.toString(),
                    null);
        }

        /** This run as the loop's steps. */
        private EpochLoop.Steps steps() {
            return new EpochLoop.Steps() {
                @Override
                public TrainingSummary.Step step(int[] batch, double lr, int step, int epoch) {
                    return Run.this.step(batch, lr, step, epoch);
                }

                @Override
                public double[] validate() {
                    return validation == null
                            ? null
                            : Loss.evaluate(
                                    model,
                                    head,
                                    validation,
                                    state,
                                    Math.max(1, config.batchSize() * 2),
                                    classWeights,
                                    type);
                }
            };
        }

        /** The trained weights as early stopping saves and restores them. */
        private EarlyStopping.Weights weights() {
            return new EarlyStopping.Weights() {
                private Map<String, NDArray> best;

                @Override
                public void snapshot() {
                    best = Run.this.snapshot(best);
                }

                @Override
                public void restore() {
                    Run.this.restore(best);
                }
            };
        }

        /** The test hook: the live NDArray count after every step. */
        private EpochLoop.Listener liveArraysHook() {
            return new EpochLoop.Listener() {
                @Override
                public void afterStep(TrainingSummary.Step s, long samples, double seconds) {
                    stepListener.afterStep(s.step(), liveArrays());
                }
            };
        }

        /** Arrays held by the model's manager and by this run's state (sub-managers included). */
        private int liveArrays() {
            NDManager modelManager = model.parameters().values().iterator().next().getManager();
            return modelManager.getManagedArrays().size() + state.getManagedArrays().size();
        }

        private TrainingSummary.Step step(int[] batch, double lr, int step, int epoch) {
            return gradientStep.step(batch, lr, step, epoch);
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
}
