package io.sparkbert.jobs;

import java.util.List;
import java.util.Locale;

/**
 * Declaration of one job option: its kebab-case key (the flag is {@code --key}), its kind, the
 * allowed values of a choice and a one-line description for {@code --help}. Defaults do not live
 * here but in {@code conf/<job>.conf}, so that the documented defaults and the effective ones are
 * the same file.
 *
 * <p>Immutable and thread-safe.
 *
 * @param key kebab-case name, e.g. {@code batch-size}
 * @param kind how the value is checked
 * @param choices allowed values when {@code kind} is {@link Kind#CHOICE}, else empty
 * @param description one line for the usage text
 */
public record JobOption(String key, Kind kind, List<String> choices, String description) {

    /** Value kinds. */
    public enum Kind {
        /** Any text (possibly empty, meaning "not set"). */
        STRING,
        /** A whole number that fits in an int. */
        INT,
        /** A whole number that fits in a long. */
        LONG,
        /** A decimal number. */
        DOUBLE,
        /** {@code true} or {@code false}. */
        BOOLEAN,
        /** One of {@link JobOption#choices()}. */
        CHOICE
    }

    /** Checks the declaration. */
    public JobOption {
        if (!key.matches("[a-z][a-z0-9]*(-[a-z0-9]+)*")) {
            throw new IllegalStateException("option key must be kebab-case: " + key);
        }
        choices = List.copyOf(choices);
        if ((kind == Kind.CHOICE) == choices.isEmpty()) {
            throw new IllegalStateException("option " + key + ": choices iff kind CHOICE");
        }
    }

    /** A free-text option. */
    public static JobOption string(String key, String description) {
        return new JobOption(key, Kind.STRING, List.of(), description);
    }

    /** An int option. */
    public static JobOption integer(String key, String description) {
        return new JobOption(key, Kind.INT, List.of(), description);
    }

    /** A long option. */
    public static JobOption longValue(String key, String description) {
        return new JobOption(key, Kind.LONG, List.of(), description);
    }

    /** A decimal option. */
    public static JobOption decimal(String key, String description) {
        return new JobOption(key, Kind.DOUBLE, List.of(), description);
    }

    /** A true/false option. */
    public static JobOption bool(String key, String description) {
        return new JobOption(key, Kind.BOOLEAN, List.of(), description);
    }

    /** An option restricted to {@code choices}. */
    public static JobOption choice(String key, String description, String... choices) {
        return new JobOption(key, Kind.CHOICE, List.of(choices), description);
    }

    /**
     * Checks {@code value} against the kind and returns it normalised (trimmed; booleans and
     * choices lower-cased).
     *
     * @param origin where the value came from, for the message (e.g. {@code command line})
     * @throws IllegalArgumentException naming the flag, the bad value and what is allowed
     */
    public String check(String value, String origin) {
        String v = value.trim();
        switch (kind) {
            case STRING:
                return v;
            case INT:
                try {
                    Integer.parseInt(v);
                    return v;
                } catch (NumberFormatException e) {
                    throw bad(value, origin, "a whole number");
                }
            case LONG:
                try {
                    Long.parseLong(v);
                    return v;
                } catch (NumberFormatException e) {
                    throw bad(value, origin, "a whole number");
                }
            case DOUBLE:
                try {
                    double d = Double.parseDouble(v);
                    if (!Double.isFinite(d)) {
                        throw bad(value, origin, "a finite decimal number");
                    }
                    return v;
                } catch (NumberFormatException e) {
                    throw bad(value, origin, "a decimal number, e.g. 0.01");
                }
            case BOOLEAN:
                {
                    String b = v.toLowerCase(Locale.ROOT);
                    if (!b.equals("true") && !b.equals("false")) {
                        throw bad(value, origin, "one of [true, false]");
                    }
                    return b;
                }
            case CHOICE:
                {
                    String c = v.toLowerCase(Locale.ROOT);
                    if (!choices.contains(c)) {
                        throw bad(value, origin, "one of " + choices);
                    }
                    return c;
                }
            default:
                throw new IllegalStateException("unknown kind " + kind);
        }
    }

    private IllegalArgumentException bad(String value, String origin, String allowed) {
        return new IllegalArgumentException(
                "--"
                        + key
                        + ": invalid value '"
                        + value
                        + "' ("
                        + origin
                        + "); expected "
                        + allowed
                        + ".");
    }

    /** The usage line of this option, e.g. {@code --epochs N number of passes}. */
    String usage(String defaultValue) {
        String arg =
                switch (kind) {
                    case STRING -> "TEXT";
                    case INT, LONG -> "N";
                    case DOUBLE -> "F";
                    case BOOLEAN -> "true|false";
                    case CHOICE -> String.join("|", choices);
                };
        String left = "  --" + key + " " + arg;
        StringBuilder sb = new StringBuilder(left);
        sb.append(" ".repeat(Math.max(2, 34 - left.length())));
        sb.append(description);
        if (defaultValue != null && !defaultValue.isEmpty()) {
            sb.append(" (default: ").append(defaultValue).append(')');
        }
        return sb.toString();
    }
}
