package io.sparkbert.bert;

/** How token vectors are reduced to one sentence vector. */
public enum Pooling {
    /** The last hidden state of the first token ([CLS]). */
    CLS,
    /** The mean of the last hidden states of the real tokens (attention mask = 1). */
    MEAN;

    /**
     * Parses a pooling name, case-insensitively.
     *
     * @param name {@code cls} or {@code mean}
     * @return the pooling
     * @throws IllegalArgumentException naming the allowed values
     */
    public static Pooling parse(String name) {
        if (name != null) {
            for (Pooling p : values()) {
                if (p.name().equalsIgnoreCase(name.trim())) {
                    return p;
                }
            }
        }
        throw new IllegalArgumentException(
                "Invalid pooling \"" + name + "\", must be one of [cls, mean].");
    }
}
