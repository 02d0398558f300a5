package io.sparkbert.bert.train;

import java.io.Serializable;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * The one definition of a fine-tuning option: name, type, default, range and a one-line doc. {@link
 * TrainingConfig} validates with it, and {@code BertClassifier}'s params, the {@code train}/{@code
 * demo} job flags, their {@code --help} and the defaults documented in {@code conf/train.conf} are
 * derived from {@link #ALL}: adding an option is adding a constant here (plus its typed accessors).
 *
 * <p>Immutable and thread-safe.
 *
 * @param <T> the Java type of a value: Integer, Long, Double, Boolean, String (a choice) or
 *     double[]
 */
public final class TrainingOption<T> implements Serializable {
    private static final long serialVersionUID = 1L;

    /** Value kinds. */
    public enum Kind {
        INT,
        LONG,
        DOUBLE,
        BOOLEAN,
        /** One of {@link TrainingOption#choices()}. */
        CHOICE,
        /** Per-class numbers (each checked against the range); no job flag. */
        DOUBLE_ARRAY
    }

    public static final TrainingOption<String> PROBLEM_TYPE =
            new TrainingOption<>(
                    "problemType",
                    Kind.CHOICE,
                    "auto",
                    0,
                    true,
                    0,
                    true,
                    List.of("auto", "single_label", "multi_label", "regression"),
                    "what the head learns, as HF problem_type: single_label (one class per text,"
                            + " cross-entropy), multi_label (a label column of arrays, any set of"
                            + " classes per text, BCEWithLogits), regression (a numeric label, one"
                            + " value, MSE); auto = multi_label for an array label column, else"
                            + " what a checkpoint's head declares (regression for problem_type"
                            + " regression or a single output), else single_label",
                    false);
    public static final TrainingOption<Integer> EPOCHS =
            integer("epochs", 3, 1, 1000, "passes over the training data");
    public static final TrainingOption<Integer> BATCH_SIZE =
            integer("batchSize", 16, 1, 1 << 16, "examples per optimizer step");
    public static final TrainingOption<Double> LEARNING_RATE =
            decimal("learningRate", 5e-5, 0, false, 1, true, "peak AdamW learning rate");
    public static final TrainingOption<Double> WEIGHT_DECAY =
            decimal("weightDecay", 0.01, 0, true, 10, true, "decoupled AdamW weight decay");
    public static final TrainingOption<Boolean> DECAY_BIAS_AND_NORM =
            bool(
                    "decayBiasAndNorm",
                    false,
                    "also decay biases and LayerNorm weights (plain torch AdamW) instead of"
                            + " exempting them (HF Trainer)");
    public static final TrainingOption<Double> BETA1 =
            expert(decimal("beta1", 0.9, 0, true, 1, false, "AdamW beta1"));
    public static final TrainingOption<Double> BETA2 =
            expert(decimal("beta2", 0.999, 0, true, 1, false, "AdamW beta2"));
    public static final TrainingOption<Double> EPS =
            expert(
                    decimal(
                            "eps",
                            1e-8,
                            0,
                            false,
                            Double.POSITIVE_INFINITY,
                            false,
                            "AdamW epsilon, added to the bias-corrected root of the second"
                                    + " moment"));
    public static final TrainingOption<Double> WARMUP_RATIO =
            decimal(
                    "warmupRatio",
                    0.1,
                    0,
                    true,
                    1,
                    true,
                    "share of all steps spent in linear warm-up from 0 to the peak rate");
    public static final TrainingOption<String> LR_SCHEDULER =
            new TrainingOption<>(
                    "lrScheduler",
                    Kind.CHOICE,
                    "linear",
                    0,
                    true,
                    0,
                    true,
                    List.of("linear", "cosine", "constant"),
                    "learning rate after warm-up, as HF lr_scheduler_type: linear (decay to 0 at"
                            + " the last step), cosine (half a cosine down to 0) or constant (the"
                            + " peak rate; with warmupRatio 0 HF's constant)",
                    false);
    public static final TrainingOption<Double> MAX_GRAD_NORM =
            decimal(
                    "maxGradNorm",
                    1.0,
                    0,
                    true,
                    1e6,
                    true,
                    "clip the global gradient norm to this; 0 turns clipping off");
    public static final TrainingOption<Long> SEED =
            new TrainingOption<>(
                    "seed",
                    Kind.LONG,
                    42L,
                    Long.MIN_VALUE,
                    true,
                    Long.MAX_VALUE,
                    true,
                    List.of(),
                    "seed of head initialisation, shuffling, dropout and the validation split",
                    false);
    public static final TrainingOption<Boolean> SHUFFLE =
            bool("shuffle", true, "reshuffle the training examples every epoch");
    public static final TrainingOption<Boolean> GROUP_BY_LENGTH =
            bool(
                    "groupByLength",
                    true,
                    "batch examples of similar length together, the batches in random order"
                            + " (less padding, HF group_by_length); applies when shuffle is on");
    public static final TrainingOption<double[]> CLASS_WEIGHTS =
            new TrainingOption<>(
                    "classWeights",
                    Kind.DOUBLE_ARRAY,
                    null,
                    0,
                    true,
                    Double.POSITIVE_INFINITY,
                    false,
                    List.of(),
                    "per-class loss weights, one per class (multi_label: BCEWithLogits pos_weight;"
                            + " not for regression); unset = unweighted",
                    false);
    public static final TrainingOption<Integer> LOG_EVERY_STEPS =
            integer(
                    "logEverySteps",
                    50,
                    0,
                    Integer.MAX_VALUE,
                    "a progress line every this many steps; 0 = per epoch only");
    public static final TrainingOption<Integer> MAX_LENGTH =
            integer(
                    "maxLength",
                    128,
                    2,
                    512,
                    "most tokens per example including [CLS]/[SEP]; longer texts are"
                            + " truncated");
    public static final TrainingOption<Double> VALIDATION_FRACTION =
            decimal(
                    "validationFraction",
                    0.0,
                    0,
                    true,
                    0.5,
                    true,
                    "share of the rows held out (a seeded shuffle) for per-epoch validation;"
                            + " 0 = none");
    public static final TrainingOption<Integer> EARLY_STOPPING_PATIENCE =
            integer(
                    "earlyStoppingPatience",
                    0,
                    0,
                    1000,
                    "epochs without a validation-loss improvement before training stops with"
                            + " the best epoch's weights; 0 = off; needs validationFraction > 0");
    public static final TrainingOption<Double> MAX_SANE_GRAD_NORM =
            expert(
                    decimal(
                            "maxSaneGradNorm",
                            1e8,
                            0,
                            false,
                            Double.POSITIVE_INFINITY,
                            false,
                            "a global gradient norm above this (or not finite) skips the step as"
                                    + " corrupt"));
    public static final TrainingOption<Boolean> FREEZE_WORD_EMBEDDINGS =
            bool(
                    "freezeWordEmbeddings",
                    false,
                    "keep the word (token) embedding table as pretrained; position and type"
                            + " embeddings and all layers still train");
    public static final TrainingOption<Double> LABEL_SMOOTHING =
            decimal(
                    "labelSmoothing",
                    0.0,
                    0,
                    true,
                    1,
                    false,
                    "label smoothing epsilon as torch CrossEntropyLoss: targets 1 - eps on the"
                            + " class plus eps / k on every class; 0 = off");
    public static final TrainingOption<Boolean> LINEAR_PROBE =
            bool(
                    "linearProbe",
                    true,
                    "fit a new classification head alone on the frozen encoder's features"
                            + " before fine-tuning (LP-FT); a checkpoint's own head is never"
                            + " probed");
    public static final TrainingOption<Double> LINEAR_PROBE_L2 =
            decimal(
                    "linearProbeL2",
                    1e-3,
                    0,
                    false,
                    1e6,
                    true,
                    "L2 strength of that probe: mean cross-entropy + l2 / 2 * ||W||^2");

    /** Every option, in the order of the docs and {@code --help}. */
    public static final List<TrainingOption<?>> ALL =
            List.of(
                    PROBLEM_TYPE,
                    EPOCHS,
                    BATCH_SIZE,
                    LEARNING_RATE,
                    WEIGHT_DECAY,
                    DECAY_BIAS_AND_NORM,
                    BETA1,
                    BETA2,
                    EPS,
                    WARMUP_RATIO,
                    LR_SCHEDULER,
                    MAX_GRAD_NORM,
                    MAX_LENGTH,
                    SEED,
                    SHUFFLE,
                    GROUP_BY_LENGTH,
                    CLASS_WEIGHTS,
                    LOG_EVERY_STEPS,
                    VALIDATION_FRACTION,
                    EARLY_STOPPING_PATIENCE,
                    MAX_SANE_GRAD_NORM,
                    FREEZE_WORD_EMBEDDINGS,
                    LABEL_SMOOTHING,
                    LINEAR_PROBE,
                    LINEAR_PROBE_L2);

    private final String name;
    private final Kind kind;
    private final T defaultValue;
    private final double min;
    private final boolean minInclusive;
    private final double max;
    private final boolean maxInclusive;
    private final List<String> choices;
    private final String doc;
    private final boolean expert;

    private TrainingOption(
            String name,
            Kind kind,
            T defaultValue,
            double min,
            boolean minInclusive,
            double max,
            boolean maxInclusive,
            List<String> choices,
            String doc,
            boolean expert) {
        this.name = name;
        this.kind = kind;
        this.defaultValue = defaultValue;
        this.min = min;
        this.minInclusive = minInclusive;
        this.max = max;
        this.maxInclusive = maxInclusive;
        this.choices = List.copyOf(choices);
        this.doc = doc;
        this.expert = expert;
    }

    private static TrainingOption<Integer> integer(
            String name, int def, int min, int max, String doc) {
        return new TrainingOption<>(
                name, Kind.INT, def, min, true, max, true, List.of(), doc, false);
    }

    private static TrainingOption<Double> decimal(
            String name,
            double def,
            double min,
            boolean minInclusive,
            double max,
            boolean maxInclusive,
            String doc) {
        return new TrainingOption<>(
                name,
                Kind.DOUBLE,
                def,
                min,
                minInclusive,
                max,
                maxInclusive,
                List.of(),
                doc,
                false);
    }

    private static TrainingOption<Boolean> bool(String name, boolean def, String doc) {
        return new TrainingOption<>(
                name, Kind.BOOLEAN, def, 0, true, 1, true, List.of(), doc, false);
    }

    /** Marks a rarely changed knob: a {@link TrainingConfig} setting only, no param or flag. */
    private static <T> TrainingOption<T> expert(TrainingOption<T> o) {
        return new TrainingOption<>(
                o.name,
                o.kind,
                o.defaultValue,
                o.min,
                o.minInclusive,
                o.max,
                o.maxInclusive,
                o.choices,
                o.doc,
                true);
    }

    /** The camelCase name: the TrainingConfig setting and the BertClassifier param. */
    public String name() {
        return name;
    }

    /** The job flag without dashes, e.g. {@code batch-size}; null when the job has none. */
    public String flag() {
        if (expert || kind == Kind.DOUBLE_ARRAY) {
            return null;
        }
        return name.replaceAll("([a-z0-9])([A-Z])", "$1-$2").toLowerCase(Locale.ROOT);
    }

    /** Whether this is a TrainingConfig-only setting (no estimator param, no flag). */
    public boolean expert() {
        return expert;
    }

    public Kind kind() {
        return kind;
    }

    /** The default (a copy for arrays; null = unset). */
    @SuppressWarnings("unchecked")
    public T defaultValue() {
        return defaultValue instanceof double[] a ? (T) a.clone() : defaultValue;
    }

    /** The lower bound of a number (of each entry of an array). */
    public double min() {
        return min;
    }

    /** Whether {@link #min()} itself is allowed. */
    public boolean minInclusive() {
        return minInclusive;
    }

    /** The upper bound of a number (of each entry of an array). */
    public double max() {
        return max;
    }

    /** Whether {@link #max()} itself is allowed. */
    public boolean maxInclusive() {
        return maxInclusive;
    }

    /** The allowed values of a {@link Kind#CHOICE}, else empty. */
    public List<String> choices() {
        return choices;
    }

    /** The one-line doc, without range and default. */
    public String doc() {
        return doc;
    }

    /** The default as text ("" when unset), as the conf files write it. */
    public String defaultText() {
        return format(defaultValue);
    }

    /** The full doc: what, range and default, e.g. for a Spark param. */
    public String fullDoc() {
        String range = rangeText();
        return doc
                + (range.isEmpty() ? "" : "; " + range)
                + " (default "
                + (defaultValue == null ? "unset" : defaultText())
                + ")";
    }

    /**
     * The allowed values in words: {@code in [1, 1000]}, {@code > 0}, {@code one of [a, b]}; empty
     * when any value of the type is allowed.
     */
    public String rangeText() {
        if (kind == Kind.BOOLEAN) {
            return "";
        }
        if (kind == Kind.CHOICE) {
            return "one of " + choices;
        }
        boolean noMin = min == Long.MIN_VALUE || min == Double.NEGATIVE_INFINITY;
        boolean noMax =
                max == Double.POSITIVE_INFINITY
                        || (kind == Kind.INT && max == Integer.MAX_VALUE)
                        || (kind == Kind.LONG && max == Long.MAX_VALUE);
        String what = kind == Kind.DOUBLE_ARRAY ? "each entry " : "";
        if (noMin && noMax) {
            return "";
        }
        if (noMax) {
            return what + (minInclusive ? ">= " : "> ") + num(min);
        }
        return what
                + "in "
                + (minInclusive ? "[" : "(")
                + num(min)
                + ", "
                + num(max)
                + (maxInclusive ? "]" : ")");
    }

    /** Whether {@code value} is allowed (null only for an array option, meaning unset). */
    public boolean accepts(Object value) {
        if (value == null) {
            return kind == Kind.DOUBLE_ARRAY;
        }
        switch (kind) {
            case BOOLEAN:
                return value instanceof Boolean;
            case CHOICE:
                return value instanceof String s && choices.contains(s.toLowerCase(Locale.ROOT));
            case DOUBLE_ARRAY:
                if (!(value instanceof double[] a)) {
                    return false;
                }
                return Arrays.stream(a).allMatch(this::inRange);
            case LONG:
                return value instanceof Long;
            case INT:
                return value instanceof Integer i && inRange(i);
            case DOUBLE:
                return value instanceof Double d && inRange(d);
            default:
                return false;
        }
    }

    private boolean inRange(double v) {
        if (!Double.isFinite(v)) {
            return false;
        }
        boolean lo = minInclusive ? v >= min : v > min;
        boolean hi = maxInclusive ? v <= max : v < max;
        return lo && hi;
    }

    /**
     * Returns {@code value} when allowed.
     *
     * @throws IllegalArgumentException naming the option, the value and the allowed range (an
     *     {@link OptionException})
     */
    public T check(T value) {
        if (!accepts(value)) {
            throw new OptionException(
                    name,
                    "Invalid "
                            + name
                            + " "
                            + format(value)
                            + ": must be "
                            + (rangeText().isEmpty() ? "a " + kind : rangeText())
                            + " (default "
                            + (defaultValue == null ? "unset" : defaultText())
                            + ").");
        }
        return value;
    }

    /**
     * Parses a value written as text (a flag or conf value); arrays as comma-separated numbers.
     *
     * @throws IllegalArgumentException when the text is not of the option's type
     */
    public Object parse(String text) {
        String t = text.trim();
        try {
            return switch (kind) {
                case INT -> Integer.parseInt(t);
                case LONG -> Long.parseLong(t);
                case DOUBLE -> Double.parseDouble(t);
                case BOOLEAN -> {
                    if (!t.equalsIgnoreCase("true") && !t.equalsIgnoreCase("false")) {
                        throw new OptionException(
                                name,
                                "Invalid " + name + " '" + text + "': must be true or false.");
                    }
                    yield Boolean.parseBoolean(t);
                }
                case CHOICE -> t.toLowerCase(Locale.ROOT);
                case DOUBLE_ARRAY ->
                        t.isEmpty()
                                ? null
                                : Arrays.stream(t.split(","))
                                        .mapToDouble(s -> Double.parseDouble(s.trim()))
                                        .toArray();
            };
        } catch (NumberFormatException e) {
            throw new OptionException(
                    name,
                    "Invalid " + name + " '" + text + "': must be a number " + rangeText() + ".",
                    e);
        }
    }

    /** A value as text: numbers without a trailing ".0", arrays comma-separated. */
    static String format(Object v) {
        if (v == null) {
            return "";
        }
        if (v instanceof double[] a) {
            return String.join(", ", Arrays.stream(a).mapToObj(TrainingOption::num).toList());
        }
        if (v instanceof Double d) {
            return num(d);
        }
        return String.valueOf(v);
    }

    /**
     * {@code 3}, {@code 0.01}, {@code 5e-5}, {@code 1e8}: as a person writes them in a conf file.
     */
    private static String num(double d) {
        String s = Double.toString(d);
        int e = s.indexOf('E');
        String mantissa = e < 0 ? s : s.substring(0, e);
        if (mantissa.endsWith(".0")) {
            mantissa = mantissa.substring(0, mantissa.length() - 2);
        }
        return e < 0 ? mantissa : mantissa + "e" + s.substring(e + 1);
    }

    @Override
    public String toString() {
        return name;
    }
}
