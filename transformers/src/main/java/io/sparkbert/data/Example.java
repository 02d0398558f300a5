package io.sparkbert.data;

import java.util.Objects;

/**
 * One labelled sentence of the demo corpus. Immutable and therefore thread-safe.
 *
 * @param id stable identifier, {@code <source>-<1-based line number, 4 digits>}, e.g. {@code
 *     amazon-0001}
 * @param text the sentence, stripped of leading and trailing white space
 * @param label 0 (negative) or 1 (positive)
 * @param source the file the sentence came from: {@code amazon}, {@code imdb} or {@code yelp}
 */
public record Example(String id, String text, int label, String source) {
    /** Checks the fields; a label other than 0 or 1 is refused. */
    public Example {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(text, "text");
        Objects.requireNonNull(source, "source");
        if (label != 0 && label != 1) {
            throw new IllegalArgumentException(
                    "Example " + id + ": label must be 0 or 1 but was " + label + ".");
        }
    }
}
