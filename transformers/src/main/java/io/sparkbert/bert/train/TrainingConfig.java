package io.sparkbert.bert.train;

import java.io.Serializable;
import java.util.Arrays;
import java.util.Locale;

/**
 * The settings of one fine-tuning run. Immutable and thread-safe; build one with {@link
 * #builder()}, whose defaults are what a practitioner expects from HF {@code Trainer}:
 *
 * <ul>
 *   <li>3 epochs, batch size 16, learning rate 5e-5, AdamW betas (0.9, 0.999), eps 1e-8;
 *   <li>weight decay 0.01, not applied to biases and LayerNorm weights ({@code
 *       decayBiasAndNorm=false}, the HF Trainer convention; {@code true} decays every parameter as
 *       plain {@code torch.optim.AdamW(model.parameters())} does);
 *   <li>linear warm-up over the first 10% of the steps, then linear decay to 0 ({@link
 *       Schedule#LINEAR}); {@link Schedule#COSINE} decays along half a cosine, {@link
 *       Schedule#CONSTANT} keeps the rate fixed after warm-up;
 *   <li>gradient clipping to a global L2 norm of 1.0 over all parameters, as {@code
 *       torch.nn.utils.clip_grad_norm_} ({@code maxGradNorm=0} turns it off);
 *   <li>seed 42, shuffling each epoch, no grouping by length, no class weights, no validation-based
 *       early stopping, a progress line every 50 steps, sequences truncated to 128 tokens;
 *   <li>one departure from HF {@code Trainer}: a new head is first fitted alone on the frozen
 *       features ({@link #linearProbe()}, LP-FT), which measurably helps the built-in MiniLM
 *       (docs/benchmarks.md); {@code linearProbe(false)} gives HF's plain fine-tuning.
 * </ul>
 */
public final class TrainingConfig implements Serializable {
    private static final long serialVersionUID = 1L;

    /** How the learning rate moves after the warm-up (HF's {@code lr_scheduler_type}). */
    public enum Schedule {
        /** Linear decay from the peak to 0 at the last step (HF {@code linear}). */
        LINEAR,
        /**
         * Half a cosine from the peak to 0 at the last step (HF {@code cosine}): {@code 0.5 * (1 +
         * cos(pi * progress))}, progress running from 0 after the warm-up to 1 at the end.
         */
        COSINE,
        /**
         * The peak rate until the end (HF {@code constant_with_warmup}; with no warm-up HF {@code
         * constant}).
         */
        CONSTANT;

        /**
         * Parses {@code linear}, {@code cosine} or {@code constant}, case-insensitively.
         *
         * @throws IllegalArgumentException naming the allowed values
         */
        public static Schedule parse(String name) {
            if (name != null) {
                for (Schedule s : values()) {
                    if (s.name().equalsIgnoreCase(name.trim())) {
                        return s;
                    }
                }
            }
            throw new IllegalArgumentException(
                    "Invalid lrScheduler '"
                            + name
                            + "': must be one of [linear, cosine, constant].");
        }
    }

    private final int epochs;
    private final int batchSize;
    private final double learningRate;
    private final double weightDecay;
    private final boolean decayBiasAndNorm;
    private final double beta1;
    private final double beta2;
    private final double eps;
    private final double warmupRatio;
    private final Schedule schedule;
    private final double maxGradNorm;
    private final long seed;
    private final boolean shuffle;
    private final boolean groupByLength;
    private final double[] classWeights;
    private final int logEverySteps;
    private final int maxLength;
    private final int earlyStoppingPatience;
    private final double maxSaneGradNorm;
    private final boolean freezeWordEmbeddings;
    private final double labelSmoothing;
    private final boolean linearProbe;
    private final double linearProbeL2;

    private TrainingConfig(Builder b) {
        this.epochs = b.epochs;
        this.batchSize = b.batchSize;
        this.learningRate = b.learningRate;
        this.weightDecay = b.weightDecay;
        this.decayBiasAndNorm = b.decayBiasAndNorm;
        this.beta1 = b.beta1;
        this.beta2 = b.beta2;
        this.eps = b.eps;
        this.warmupRatio = b.warmupRatio;
        this.schedule = b.schedule;
        this.maxGradNorm = b.maxGradNorm;
        this.seed = b.seed;
        this.shuffle = b.shuffle;
        this.groupByLength = b.groupByLength;
        this.classWeights = b.classWeights == null ? null : b.classWeights.clone();
        this.logEverySteps = b.logEverySteps;
        this.maxLength = b.maxLength;
        this.earlyStoppingPatience = b.earlyStoppingPatience;
        this.maxSaneGradNorm = b.maxSaneGradNorm;
        this.freezeWordEmbeddings = b.freezeWordEmbeddings;
        this.labelSmoothing = b.labelSmoothing;
        this.linearProbe = b.linearProbe;
        this.linearProbeL2 = b.linearProbeL2;
    }

    /** A builder holding the defaults listed in the class comment. */
    public static Builder builder() {
        return new Builder();
    }

    /** A builder that starts from this config's values. */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.epochs = epochs;
        b.batchSize = batchSize;
        b.learningRate = learningRate;
        b.weightDecay = weightDecay;
        b.decayBiasAndNorm = decayBiasAndNorm;
        b.beta1 = beta1;
        b.beta2 = beta2;
        b.eps = eps;
        b.warmupRatio = warmupRatio;
        b.schedule = schedule;
        b.maxGradNorm = maxGradNorm;
        b.seed = seed;
        b.shuffle = shuffle;
        b.groupByLength = groupByLength;
        b.classWeights = classWeights == null ? null : classWeights.clone();
        b.logEverySteps = logEverySteps;
        b.maxLength = maxLength;
        b.earlyStoppingPatience = earlyStoppingPatience;
        b.maxSaneGradNorm = maxSaneGradNorm;
        b.freezeWordEmbeddings = freezeWordEmbeddings;
        b.labelSmoothing = labelSmoothing;
        b.linearProbe = linearProbe;
        b.linearProbeL2 = linearProbeL2;
        return b;
    }

    /** Passes over the training data (default 3). */
    public int epochs() {
        return epochs;
    }

    /** Examples per optimiser step (default 16). */
    public int batchSize() {
        return batchSize;
    }

    /** Peak learning rate (default 5e-5). */
    public double learningRate() {
        return learningRate;
    }

    /** Decoupled AdamW weight decay (default 0.01). */
    public double weightDecay() {
        return weightDecay;
    }

    /** Whether biases and LayerNorm weights are decayed too (default false). */
    public boolean decayBiasAndNorm() {
        return decayBiasAndNorm;
    }

    /** AdamW beta1 (0.9). */
    public double beta1() {
        return beta1;
    }

    /** AdamW beta2 (0.999). */
    public double beta2() {
        return beta2;
    }

    /** AdamW epsilon, added to the bias-corrected root of the second moment (1e-8). */
    public double eps() {
        return eps;
    }

    /** Fraction of all steps spent warming up linearly from 0 (default 0.1). */
    public double warmupRatio() {
        return warmupRatio;
    }

    /** The schedule after warm-up (default linear decay). */
    public Schedule schedule() {
        return schedule;
    }

    /** Global gradient-norm limit, 0 = no clipping (default 1.0). */
    public double maxGradNorm() {
        return maxGradNorm;
    }

    /** Seed of shuffling, head initialisation and dropout (default 42). */
    public long seed() {
        return seed;
    }

    /** Whether the training examples are reshuffled every epoch (default true). */
    public boolean shuffle() {
        return shuffle;
    }

    /**
     * Whether batches hold examples of similar length (HF {@code group_by_length}): shuffled
     * examples are cut into mega-batches of 50 batches, sorted by length inside each, and the
     * resulting batches shuffled. Less padding, faster steps (default false).
     */
    public boolean groupByLength() {
        return groupByLength;
    }

    /** Per-class loss weights, or null for unweighted cross-entropy (a copy). */
    public double[] classWeights() {
        return classWeights == null ? null : classWeights.clone();
    }

    /** A progress line every this many steps (default 50; 0 = per epoch only). */
    public int logEverySteps() {
        return logEverySteps;
    }

    /** Most tokens per example when the trainer tokenizes texts (default 128). */
    public int maxLength() {
        return maxLength;
    }

    /**
     * Epochs without a validation-loss improvement before training stops, keeping the best epoch's
     * weights; 0 = never stop early (the best epoch is still restored when there is validation
     * data). Default 0.
     */
    public int earlyStoppingPatience() {
        return earlyStoppingPatience;
    }

    /**
     * A global gradient norm above this is treated as corrupt (as is a non-finite one): the step is
     * skipped and reported. Default 1e8, far above any healthy fine-tuning gradient.
     */
    public double maxSaneGradNorm() {
        return maxSaneGradNorm;
    }

    /**
     * Keep the word (token) embedding table as pretrained (default false). On a small set the
     * gradient reaches only the rows of the words the set contains (the others merely decay), so
     * words seen only at scoring time drift apart from their trained neighbours; frozen, all words
     * keep their pretrained places. It also takes the largest tensor (about half of MiniLM's
     * weights) out of the backward pass and the optimizer. Position and token-type embeddings and
     * the embedding LayerNorm still train.
     */
    public boolean freezeWordEmbeddings() {
        return freezeWordEmbeddings;
    }

    /**
     * Label smoothing epsilon (default 0 = off), with the semantics of torch's {@code
     * CrossEntropyLoss(label_smoothing=eps)} and HF Trainer's {@code label_smoothing_factor}: the
     * target of an example is {@code 1 - eps} on its class plus {@code eps / k} spread over all k
     * classes, so the training loss is {@code (1 - eps) * NLL + eps * mean over classes of -log p};
     * with class weights, each class's term carries its weight and the batch is divided by the sum
     * of the examples' weights, as torch does. Validation loss stays the plain cross-entropy.
     */
    public double labelSmoothing() {
        return labelSmoothing;
    }

    /**
     * Whether the classification head is first fitted alone on the frozen encoder's features
     * (default true): LP-FT, see {@link LinearProbe}. The probe replaces whatever the head held
     * before, so callers that fine-tune a checkpoint's own trained head turn it off ({@code
     * BertClassifier} does).
     */
    public boolean linearProbe() {
        return linearProbe;
    }

    /**
     * The probe's L2 strength (default 1e-3): its objective is the mean cross-entropy plus {@code
     * l2 / 2 * ||W||^2}. Larger keeps the fitted head's weights, and so its first logits, smaller.
     */
    public double linearProbeL2() {
        return linearProbeL2;
    }

    @Override
    public String toString() {
        return String.format(
                Locale.ROOT,
                "TrainingConfig{epochs=%d, batchSize=%d, lr=%g, weightDecay=%g,"
                        + " decayBiasAndNorm=%s, betas=(%g, %g), eps=%g, warmupRatio=%g,"
                        + " schedule=%s, maxGradNorm=%g, seed=%d, shuffle=%s, groupByLength=%s,"
                        + " classWeights=%s, maxLength=%d, earlyStoppingPatience=%d,"
                        + " freezeWordEmbeddings=%s, labelSmoothing=%g, linearProbe=%s,"
                        + " linearProbeL2=%g}",
                epochs,
                batchSize,
                learningRate,
                weightDecay,
                decayBiasAndNorm,
                beta1,
                beta2,
                eps,
                warmupRatio,
                schedule.name().toLowerCase(Locale.ROOT),
                maxGradNorm,
                seed,
                shuffle,
                groupByLength,
                Arrays.toString(classWeights),
                maxLength,
                earlyStoppingPatience,
                freezeWordEmbeddings,
                labelSmoothing,
                linearProbe,
                linearProbeL2);
    }

    /** Mutable builder; {@link #build()} checks every value. Not thread-safe. */
    public static final class Builder {
        private int epochs = 3;
        private int batchSize = 16;
        private double learningRate = 5e-5;
        private double weightDecay = 0.01;
        private boolean decayBiasAndNorm = false;
        private double beta1 = 0.9;
        private double beta2 = 0.999;
        private double eps = 1e-8;
        private double warmupRatio = 0.1;
        private Schedule schedule = Schedule.LINEAR;
        private double maxGradNorm = 1.0;
        private long seed = 42;
        private boolean shuffle = true;
        private boolean groupByLength = false;
        private double[] classWeights;
        private int logEverySteps = 50;
        private int maxLength = 128;
        private int earlyStoppingPatience = 0;
        private double maxSaneGradNorm = 1e8;
        private boolean freezeWordEmbeddings = false;
        private double labelSmoothing = 0;
        private boolean linearProbe = true;
        private double linearProbeL2 = 1e-3;

        private Builder() {}

        /** See {@link TrainingConfig#linearProbe()}. */
        public Builder linearProbe(boolean v) {
            linearProbe = v;
            return this;
        }

        /** See {@link TrainingConfig#linearProbeL2()}. */
        public Builder linearProbeL2(double v) {
            linearProbeL2 = v;
            return this;
        }

        /** See {@link TrainingConfig#labelSmoothing()}. */
        public Builder labelSmoothing(double v) {
            labelSmoothing = v;
            return this;
        }

        /** See {@link TrainingConfig#freezeWordEmbeddings()}. */
        public Builder freezeWordEmbeddings(boolean v) {
            freezeWordEmbeddings = v;
            return this;
        }

        /** See {@link TrainingConfig#epochs()}. */
        public Builder epochs(int v) {
            epochs = v;
            return this;
        }

        /** See {@link TrainingConfig#batchSize()}. */
        public Builder batchSize(int v) {
            batchSize = v;
            return this;
        }

        /** See {@link TrainingConfig#learningRate()}. */
        public Builder learningRate(double v) {
            learningRate = v;
            return this;
        }

        /** See {@link TrainingConfig#weightDecay()}. */
        public Builder weightDecay(double v) {
            weightDecay = v;
            return this;
        }

        /** See {@link TrainingConfig#decayBiasAndNorm()}. */
        public Builder decayBiasAndNorm(boolean v) {
            decayBiasAndNorm = v;
            return this;
        }

        /** AdamW betas. */
        public Builder betas(double b1, double b2) {
            beta1 = b1;
            beta2 = b2;
            return this;
        }

        /** See {@link TrainingConfig#eps()}. */
        public Builder eps(double v) {
            eps = v;
            return this;
        }

        /** See {@link TrainingConfig#warmupRatio()}. */
        public Builder warmupRatio(double v) {
            warmupRatio = v;
            return this;
        }

        /** See {@link TrainingConfig#schedule()}. */
        public Builder schedule(Schedule v) {
            schedule = v;
            return this;
        }

        /** See {@link TrainingConfig#maxGradNorm()}. */
        public Builder maxGradNorm(double v) {
            maxGradNorm = v;
            return this;
        }

        /** See {@link TrainingConfig#seed()}. */
        public Builder seed(long v) {
            seed = v;
            return this;
        }

        /** See {@link TrainingConfig#shuffle()}. */
        public Builder shuffle(boolean v) {
            shuffle = v;
            return this;
        }

        /** See {@link TrainingConfig#groupByLength()}. */
        public Builder groupByLength(boolean v) {
            groupByLength = v;
            return this;
        }

        /** See {@link TrainingConfig#classWeights()}; null or empty = unweighted. */
        public Builder classWeights(double[] v) {
            classWeights = v == null || v.length == 0 ? null : v.clone();
            return this;
        }

        /** See {@link TrainingConfig#logEverySteps()}. */
        public Builder logEverySteps(int v) {
            logEverySteps = v;
            return this;
        }

        /** See {@link TrainingConfig#maxLength()}. */
        public Builder maxLength(int v) {
            maxLength = v;
            return this;
        }

        /** See {@link TrainingConfig#earlyStoppingPatience()}. */
        public Builder earlyStoppingPatience(int v) {
            earlyStoppingPatience = v;
            return this;
        }

        /** See {@link TrainingConfig#maxSaneGradNorm()}. */
        public Builder maxSaneGradNorm(double v) {
            maxSaneGradNorm = v;
            return this;
        }

        /**
         * Checks the values and builds the config.
         *
         * @throws IllegalArgumentException naming the first bad setting, its value and the range
         */
        public TrainingConfig build() {
            check(epochs >= 1, "epochs", epochs, "at least 1 (default 3)");
            check(batchSize >= 1, "batchSize", batchSize, "at least 1 (default 16)");
            check(
                    learningRate > 0 && Double.isFinite(learningRate),
                    "learningRate",
                    learningRate,
                    "a positive number (default 5e-5)");
            check(
                    weightDecay >= 0 && Double.isFinite(weightDecay),
                    "weightDecay",
                    weightDecay,
                    ">= 0 (default 0.01)");
            check(beta1 >= 0 && beta1 < 1, "beta1", beta1, "in [0, 1) (default 0.9)");
            check(beta2 >= 0 && beta2 < 1, "beta2", beta2, "in [0, 1) (default 0.999)");
            check(eps > 0 && Double.isFinite(eps), "eps", eps, "a positive number (default 1e-8)");
            check(
                    warmupRatio >= 0 && warmupRatio <= 1,
                    "warmupRatio",
                    warmupRatio,
                    "in [0, 1] (default 0.1)");
            if (schedule == null) {
                throw new IllegalArgumentException(
                        "schedule must not be null: use LINEAR, COSINE or CONSTANT");
            }
            check(
                    maxGradNorm >= 0 && Double.isFinite(maxGradNorm),
                    "maxGradNorm",
                    maxGradNorm,
                    ">= 0, 0 = no clipping (default 1.0)");
            check(logEverySteps >= 0, "logEverySteps", logEverySteps, ">= 0 (default 50)");
            check(maxLength >= 2, "maxLength", maxLength, "at least 2 (default 128)");
            check(
                    earlyStoppingPatience >= 0,
                    "earlyStoppingPatience",
                    earlyStoppingPatience,
                    ">= 0, 0 = off (default 0)");
            check(
                    maxSaneGradNorm > 0,
                    "maxSaneGradNorm",
                    maxSaneGradNorm,
                    "a positive number (default 1e8)");
            check(
                    labelSmoothing >= 0 && labelSmoothing < 1,
                    "labelSmoothing",
                    labelSmoothing,
                    "in [0, 1), 0 = off (default 0)");
            check(
                    linearProbeL2 > 0 && Double.isFinite(linearProbeL2),
                    "linearProbeL2",
                    linearProbeL2,
                    "a positive number (default 1e-3)");
            if (classWeights != null) {
                for (int i = 0; i < classWeights.length; i++) {
                    if (!(classWeights[i] >= 0) || !Double.isFinite(classWeights[i])) {
                        throw new IllegalArgumentException(
                                "classWeights["
                                        + i
                                        + "] = "
                                        + classWeights[i]
                                        + ": every class weight must be a finite number >= 0.");
                    }
                }
            }
            return new TrainingConfig(this);
        }

        private static void check(boolean ok, String name, Object value, String range) {
            if (!ok) {
                throw new IllegalArgumentException(
                        "Invalid " + name + " " + value + ": must be " + range + ".");
            }
        }
    }
}
