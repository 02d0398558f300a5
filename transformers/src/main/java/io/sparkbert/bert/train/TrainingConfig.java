package io.sparkbert.bert.train;

import static io.sparkbert.bert.train.TrainingOption.*;

import java.io.Serializable;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.StringJoiner;

/**
 * The settings of one fine-tuning run. Immutable and thread-safe; build one with {@link
 * #builder()}. Every setting is a {@link TrainingOption}, which holds its default, range and doc;
 * the defaults are what a practitioner expects from HF {@code Trainer}:
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
 *       (docs/lab-notes.md); {@code linearProbe(false)} gives HF's plain fine-tuning.
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
            throw new OptionException(
                    "lrScheduler",
                    "Invalid lrScheduler '"
                            + name
                            + "': must be one of [linear, cosine, constant].");
        }
    }

    // Values by option name, every option present (an unset array option as null).
    private final Map<String, Object> values;

    private TrainingConfig(Map<String, Object> values) {
        this.values = values;
    }

    /** A builder holding the defaults of {@link TrainingOption#ALL}. */
    public static Builder builder() {
        return new Builder();
    }

    /** A builder that starts from this config's values. */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.values.putAll(values);
        return b;
    }

    /** The value of {@code option} (a copy for arrays; null for an unset array). */
    @SuppressWarnings("unchecked")
    public <T> T get(TrainingOption<T> option) {
        Object v = values.get(option.name());
        return (T) (v instanceof double[] a ? a.clone() : v);
    }

    /**
     * The problem type as set: {@code auto}, {@code single_label}, {@code multi_label} or {@code
     * regression} ({@link TrainingOption#PROBLEM_TYPE}); the estimator resolves {@code auto}, the
     * {@link Trainer} follows the model config's {@code problem_type}.
     */
    public String problemType() {
        return get(PROBLEM_TYPE).toLowerCase(Locale.ROOT);
    }

    /** Passes over the training data (default 3). */
    public int epochs() {
        return get(EPOCHS);
    }

    /** Examples per optimiser step (default 16). */
    public int batchSize() {
        return get(BATCH_SIZE);
    }

    /** Peak learning rate (default 5e-5). */
    public double learningRate() {
        return get(LEARNING_RATE);
    }

    /** Decoupled AdamW weight decay (default 0.01). */
    public double weightDecay() {
        return get(WEIGHT_DECAY);
    }

    /** Whether biases and LayerNorm weights are decayed too (default false). */
    public boolean decayBiasAndNorm() {
        return get(DECAY_BIAS_AND_NORM);
    }

    /** AdamW beta1 (0.9). */
    public double beta1() {
        return get(BETA1);
    }

    /** AdamW beta2 (0.999). */
    public double beta2() {
        return get(BETA2);
    }

    /** AdamW epsilon, added to the bias-corrected root of the second moment (1e-8). */
    public double eps() {
        return get(EPS);
    }

    /** Fraction of all steps spent warming up linearly from 0 (default 0.1). */
    public double warmupRatio() {
        return get(WARMUP_RATIO);
    }

    /** The schedule after warm-up ({@link TrainingOption#LR_SCHEDULER}, default linear decay). */
    public Schedule schedule() {
        return Schedule.parse(get(LR_SCHEDULER));
    }

    /** Global gradient-norm limit, 0 = no clipping (default 1.0). */
    public double maxGradNorm() {
        return get(MAX_GRAD_NORM);
    }

    /** Seed of shuffling, head initialisation and dropout (default 42). */
    public long seed() {
        return get(SEED);
    }

    /** Whether the training examples are reshuffled every epoch (default true). */
    public boolean shuffle() {
        return get(SHUFFLE);
    }

    /**
     * Whether batches hold examples of similar length (HF {@code group_by_length}): shuffled
     * examples are cut into mega-batches of 50 batches, sorted by length inside each, and the
     * resulting batches shuffled. Less padding, faster steps (default true; only with {@link
     * #shuffle()}: without it the batches keep the input order).
     */
    public boolean groupByLength() {
        return get(GROUP_BY_LENGTH);
    }

    /** Per-class loss weights, or null for unweighted cross-entropy (a copy). */
    public double[] classWeights() {
        return get(CLASS_WEIGHTS);
    }

    /** A progress line every this many steps (default 50; 0 = per epoch only). */
    public int logEverySteps() {
        return get(LOG_EVERY_STEPS);
    }

    /** Most tokens per example when the trainer tokenizes texts (default 128). */
    public int maxLength() {
        return get(MAX_LENGTH);
    }

    /**
     * Share of the rows that {@code BertClassifier} holds out for validation (default 0); the
     * trainer itself takes validation examples as given.
     */
    public double validationFraction() {
        return get(VALIDATION_FRACTION);
    }

    /**
     * Epochs without a validation-loss improvement before training stops, keeping the best epoch's
     * weights; 0 = never stop early (the best epoch is still restored when there is validation
     * data). Default 0.
     */
    public int earlyStoppingPatience() {
        return get(EARLY_STOPPING_PATIENCE);
    }

    /**
     * A global gradient norm above this is treated as corrupt (as is a non-finite one): the step is
     * skipped and reported. Default 1e8, far above any healthy fine-tuning gradient.
     */
    public double maxSaneGradNorm() {
        return get(MAX_SANE_GRAD_NORM);
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
        return get(FREEZE_WORD_EMBEDDINGS);
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
        return get(LABEL_SMOOTHING);
    }

    /**
     * Whether the classification head is first fitted alone on the frozen encoder's features
     * (default true): LP-FT, see {@link LinearProbe}. The probe replaces whatever the head held
     * before, so callers that fine-tune a checkpoint's own trained head turn it off ({@code
     * BertClassifier} does).
     */
    public boolean linearProbe() {
        return get(LINEAR_PROBE);
    }

    /**
     * The probe's L2 strength (default 1e-3): its objective is the mean cross-entropy plus {@code
     * l2 / 2 * ||W||^2}. Larger keeps the fitted head's weights, and so its first logits, smaller.
     */
    public double linearProbeL2() {
        return get(LINEAR_PROBE_L2);
    }

    @Override
    public String toString() {
        StringJoiner j = new StringJoiner(", ", "TrainingConfig{", "}");
        for (TrainingOption<?> o : ALL) {
            Object v = values.get(o.name());
            j.add(
                    o.name()
                            + "="
                            + (v instanceof double[]
                                    ? "[" + TrainingOption.format(v) + "]"
                                    : TrainingOption.format(v)));
        }
        return j.toString();
    }

    /** Mutable builder; {@link #build()} checks every value. Not thread-safe. */
    public static final class Builder {
        private final Map<String, Object> values = new LinkedHashMap<>();

        private Builder() {
            for (TrainingOption<?> o : ALL) {
                values.put(o.name(), o.defaultValue());
            }
        }

        /** Sets {@code option}; checked by {@link #build()}. */
        public <T> Builder set(TrainingOption<T> option, T value) {
            values.put(option.name(), value instanceof double[] a ? a.clone() : value);
            return this;
        }

        /** See {@link TrainingConfig#linearProbe()}. */
        public Builder linearProbe(boolean v) {
            return set(LINEAR_PROBE, v);
        }

        /** See {@link TrainingConfig#linearProbeL2()}. */
        public Builder linearProbeL2(double v) {
            return set(LINEAR_PROBE_L2, v);
        }

        /** See {@link TrainingConfig#problemType()}. */
        public Builder problemType(String v) {
            return set(PROBLEM_TYPE, v);
        }

        /** See {@link TrainingConfig#labelSmoothing()}. */
        public Builder labelSmoothing(double v) {
            return set(LABEL_SMOOTHING, v);
        }

        /** See {@link TrainingConfig#freezeWordEmbeddings()}. */
        public Builder freezeWordEmbeddings(boolean v) {
            return set(FREEZE_WORD_EMBEDDINGS, v);
        }

        /** See {@link TrainingConfig#epochs()}. */
        public Builder epochs(int v) {
            return set(EPOCHS, v);
        }

        /** See {@link TrainingConfig#batchSize()}. */
        public Builder batchSize(int v) {
            return set(BATCH_SIZE, v);
        }

        /** See {@link TrainingConfig#learningRate()}. */
        public Builder learningRate(double v) {
            return set(LEARNING_RATE, v);
        }

        /** See {@link TrainingConfig#weightDecay()}. */
        public Builder weightDecay(double v) {
            return set(WEIGHT_DECAY, v);
        }

        /** See {@link TrainingConfig#decayBiasAndNorm()}. */
        public Builder decayBiasAndNorm(boolean v) {
            return set(DECAY_BIAS_AND_NORM, v);
        }

        /** AdamW betas. */
        public Builder betas(double b1, double b2) {
            return set(BETA1, b1).set(BETA2, b2);
        }

        /** See {@link TrainingConfig#eps()}. */
        public Builder eps(double v) {
            return set(EPS, v);
        }

        /** See {@link TrainingConfig#warmupRatio()}. */
        public Builder warmupRatio(double v) {
            return set(WARMUP_RATIO, v);
        }

        /** See {@link TrainingConfig#schedule()}. */
        public Builder schedule(Schedule v) {
            if (v == null) {
                throw new OptionException(
                        "lrScheduler", "schedule must not be null: use LINEAR, COSINE or CONSTANT");
            }
            return set(LR_SCHEDULER, v.name().toLowerCase(Locale.ROOT));
        }

        /** See {@link TrainingConfig#maxGradNorm()}. */
        public Builder maxGradNorm(double v) {
            return set(MAX_GRAD_NORM, v);
        }

        /** See {@link TrainingConfig#seed()}. */
        public Builder seed(long v) {
            return set(SEED, v);
        }

        /** See {@link TrainingConfig#shuffle()}. */
        public Builder shuffle(boolean v) {
            return set(SHUFFLE, v);
        }

        /** See {@link TrainingConfig#groupByLength()}. */
        public Builder groupByLength(boolean v) {
            return set(GROUP_BY_LENGTH, v);
        }

        /** See {@link TrainingConfig#classWeights()}; null or empty = unweighted. */
        public Builder classWeights(double[] v) {
            return set(CLASS_WEIGHTS, v == null || v.length == 0 ? null : v);
        }

        /** See {@link TrainingConfig#logEverySteps()}. */
        public Builder logEverySteps(int v) {
            return set(LOG_EVERY_STEPS, v);
        }

        /** See {@link TrainingConfig#maxLength()}. */
        public Builder maxLength(int v) {
            return set(MAX_LENGTH, v);
        }

        /** See {@link TrainingConfig#validationFraction()}. */
        public Builder validationFraction(double v) {
            return set(VALIDATION_FRACTION, v);
        }

        /** See {@link TrainingConfig#earlyStoppingPatience()}. */
        public Builder earlyStoppingPatience(int v) {
            return set(EARLY_STOPPING_PATIENCE, v);
        }

        /** See {@link TrainingConfig#maxSaneGradNorm()}. */
        public Builder maxSaneGradNorm(double v) {
            return set(MAX_SANE_GRAD_NORM, v);
        }

        /**
         * Checks every value against its {@link TrainingOption} and builds the config.
         *
         * @throws IllegalArgumentException naming the first bad setting, its value and the range
         */
        @SuppressWarnings({"unchecked", "rawtypes"})
        public TrainingConfig build() {
            Map<String, Object> checked = new LinkedHashMap<>();
            for (TrainingOption o : ALL) {
                checked.put(o.name(), o.check(values.get(o.name())));
            }
            return new TrainingConfig(checked);
        }
    }
}
