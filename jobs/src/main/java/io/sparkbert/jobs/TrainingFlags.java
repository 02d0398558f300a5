package io.sparkbert.jobs;

import io.sparkbert.bert.train.TrainingOption;
import io.sparkbert.classification.BertClassifier;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The job flags of the training options, derived from {@link TrainingOption}: each option with a
 * {@link TrainingOption#flag()} becomes {@code --flag} with the option's type, doc and range; its
 * documented default in {@code conf/train.conf} is {@link #confSection()}. Stateless and
 * thread-safe.
 */
final class TrainingFlags {
    /** Every option the train job takes as a flag, in {@link TrainingOption#ALL}'s order. */
    static final List<TrainingOption<?>> TRAIN =
            TrainingOption.ALL.stream().filter(o -> o.flag() != null).toList();

    private TrainingFlags() {}

    /** The job options of {@code options}. */
    static List<JobOption> jobOptions(List<TrainingOption<?>> options) {
        List<JobOption> out = new ArrayList<>();
        for (TrainingOption<?> o : options) {
            String description =
                    o.doc() + (o.rangeText().isEmpty() ? "" : " (" + o.rangeText() + ")");
            out.add(
                    switch (o.kind()) {
                        case INT -> JobOption.integer(o.flag(), description);
                        case LONG -> JobOption.longValue(o.flag(), description);
                        case DOUBLE -> JobOption.decimal(o.flag(), description);
                        case BOOLEAN -> JobOption.bool(o.flag(), description);
                        case CHOICE ->
                                JobOption.choice(
                                        o.flag(), o.doc(), o.choices().toArray(new String[0]));
                        case DOUBLE_ARRAY ->
                                throw new IllegalStateException(o.name() + " has no flag");
                    });
        }
        return out;
    }

    /**
     * The value of {@code option}'s flag, checked against the option's range.
     *
     * @throws IllegalArgumentException naming the flag, the value, where it came from and the range
     */
    static Object value(JobOptions o, TrainingOption<?> option) {
        String flag = option.flag();
        String text = o.require(flag);
        Object v = option.parse(text);
        if (!option.accepts(v)) {
            throw new IllegalArgumentException(
                    "--"
                            + flag
                            + ": invalid value "
                            + text
                            + " ("
                            + o.origin(flag)
                            + "); expected a number "
                            + option.rangeText()
                            + ".");
        }
        return v;
    }

    /** Checks every training flag the job declares, before any work starts. */
    static void check(JobOptions o, List<TrainingOption<?>> options) {
        for (TrainingOption<?> option : options) {
            value(o, option);
        }
    }

    /** Sets every training option of {@code settings} on {@code c}. */
    @SuppressWarnings({"unchecked", "rawtypes"})
    static BertClassifier apply(TrainSettings settings, BertClassifier c) {
        for (Map.Entry<TrainingOption<?>, Object> e : settings.training().entrySet()) {
            c.setOption((TrainingOption) e.getKey(), e.getValue());
        }
        return c;
    }

    /**
     * The training options' part of {@code conf/train.conf}: per option its doc and range as a
     * comment, then {@code flag = default}. A test checks that the file holds exactly this.
     */
    static String confSection() {
        StringBuilder sb = new StringBuilder();
        for (TrainingOption<?> o : TRAIN) {
            String range = o.rangeText();
            String doc = Character.toUpperCase(o.doc().charAt(0)) + o.doc().substring(1);
            comment(sb, doc + (range.isEmpty() ? "." : " (" + range + ")."));
            sb.append(o.flag()).append(" = ").append(o.defaultText()).append('\n');
        }
        return sb.toString();
    }

    /** Appends {@code text} as {@code #} lines of at most 100 characters. */
    private static void comment(StringBuilder sb, String text) {
        StringBuilder line = new StringBuilder("#");
        for (String word : text.split(" ")) {
            if (line.length() + 1 + word.length() > 100) {
                sb.append(line).append('\n');
                line = new StringBuilder("#");
            }
            line.append(' ').append(word);
        }
        sb.append(line).append('\n');
    }
}
