package io.sparkbert.bert.train;

/**
 * A training option set to a value it does not accept (out of range, of the wrong type, or in
 * conflict with another option), carrying the option's name as data so that a caller with its own
 * name for it (a job's flag) can say so without rewriting the message.
 */
public final class OptionException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    private final String option;

    /**
     * @param option the {@link TrainingOption#name()} of the offending option
     * @param message what is wrong and the fix
     */
    public OptionException(String option, String message) {
        super(message);
        this.option = option;
    }

    /**
     * @param option the {@link TrainingOption#name()} of the offending option
     * @param message what is wrong and the fix
     * @param cause the parse error behind it
     */
    public OptionException(String option, String message, Throwable cause) {
        super(message, cause);
        this.option = option;
    }

    /** The offending option's {@link TrainingOption#name()}, e.g. {@code learningRate}. */
    public String option() {
        return option;
    }
}
