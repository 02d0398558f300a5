package io.sparkbert.bert;

import java.io.Serializable;
import java.util.Arrays;
import java.util.Locale;
import java.util.Objects;
import java.util.stream.Collectors;

/**
 * How {@link HfTokenizer} truncates, pads and frames sequences. Immutable and thread-safe; the
 * {@code with*} methods return modified copies.
 *
 * <p>Defaults: {@code maxLength} 512 (further capped by the model's own maximum length), {@link
 * Truncation#LONGEST_FIRST}, {@link Padding#NONE}, special tokens added. Unlike HuggingFace, whose
 * call default is "no truncation", the default here truncates because a BERT model cannot read more
 * positions than it has.
 */
public final class TokenizerOptions implements Serializable {
    private static final long serialVersionUID = 1L;

    /** The default {@code maxLength}. */
    public static final int DEFAULT_MAX_LENGTH = 512;

    /** Truncation strategies, named as in HuggingFace ({@code truncation=...}). */
    public enum Truncation {
        /** Removes tokens one at a time from the longer of the two sequences. */
        LONGEST_FIRST("longest_first"),
        /** Removes tokens from the first sequence only; fails when it is too short. */
        ONLY_FIRST("only_first"),
        /** Removes tokens from the second sequence only; fails when it is too short. */
        ONLY_SECOND("only_second"),
        /** Never truncates: encodings may be longer than {@code maxLength}. */
        NONE("none");

        private final String hfName;

        Truncation(String hfName) {
            this.hfName = hfName;
        }

        /** The HuggingFace spelling, e.g. {@code longest_first}. */
        public String hfName() {
            return hfName;
        }

        /**
         * Parses a HuggingFace name ({@code longest_first|only_first|only_second|none}), case
         * insensitive.
         *
         * @throws IllegalArgumentException naming the bad value and the allowed ones
         */
        public static Truncation fromHfName(String name) {
            for (Truncation t : values()) {
                if (t.hfName.equalsIgnoreCase(name == null ? "" : name.trim())) {
                    return t;
                }
            }
            throw new IllegalArgumentException(
                    "Invalid truncation '" + name + "': must be one of " + allowed(values()));
        }
    }

    /** Padding strategies, named as in HuggingFace ({@code padding=...}). */
    public enum Padding {
        /** No padding. */
        NONE("none"),
        /** Pads every encoding of a batch to the longest one (a single text is not padded). */
        LONGEST("longest"),
        /** Pads every encoding to {@code maxLength}. */
        MAX_LENGTH("max_length");

        private final String hfName;

        Padding(String hfName) {
            this.hfName = hfName;
        }

        /** The HuggingFace spelling, e.g. {@code max_length}. */
        public String hfName() {
            return hfName;
        }

        /**
         * Parses a HuggingFace name ({@code none|longest|max_length}), case insensitive.
         *
         * @throws IllegalArgumentException naming the bad value and the allowed ones
         */
        public static Padding fromHfName(String name) {
            for (Padding p : values()) {
                if (p.hfName.equalsIgnoreCase(name == null ? "" : name.trim())) {
                    return p;
                }
            }
            throw new IllegalArgumentException(
                    "Invalid padding '" + name + "': must be one of " + allowed(values()));
        }
    }

    private final int maxLength;
    private final Truncation truncation;
    private final Padding padding;
    private final boolean addSpecialTokens;

    private TokenizerOptions(
            int maxLength, Truncation truncation, Padding padding, boolean addSpecialTokens) {
        if (maxLength < 1) {
            throw new IllegalArgumentException(
                    "Invalid maxLength " + maxLength + ": must be at least 1 (default 512).");
        }
        this.maxLength = maxLength;
        this.truncation = Objects.requireNonNull(truncation, "truncation");
        this.padding = Objects.requireNonNull(padding, "padding");
        this.addSpecialTokens = addSpecialTokens;
    }

    /** The defaults: maxLength 512, longest_first truncation, no padding, special tokens. */
    public static TokenizerOptions defaults() {
        return new TokenizerOptions(
                DEFAULT_MAX_LENGTH, Truncation.LONGEST_FIRST, Padding.NONE, true);
    }

    /** A copy with another maximum length (at least 1; capped later by the model's maximum). */
    public TokenizerOptions withMaxLength(int value) {
        return new TokenizerOptions(value, truncation, padding, addSpecialTokens);
    }

    /** A copy with another truncation strategy. */
    public TokenizerOptions withTruncation(Truncation value) {
        return new TokenizerOptions(maxLength, value, padding, addSpecialTokens);
    }

    /** A copy with the truncation strategy given by its HuggingFace name. */
    public TokenizerOptions withTruncation(String hfName) {
        return withTruncation(Truncation.fromHfName(hfName));
    }

    /** A copy with another padding strategy. */
    public TokenizerOptions withPadding(Padding value) {
        return new TokenizerOptions(maxLength, truncation, value, addSpecialTokens);
    }

    /** A copy with the padding strategy given by its HuggingFace name. */
    public TokenizerOptions withPadding(String hfName) {
        return withPadding(Padding.fromHfName(hfName));
    }

    /** A copy that adds ({@code true}) or leaves out [CLS]/[SEP]. */
    public TokenizerOptions withAddSpecialTokens(boolean value) {
        return new TokenizerOptions(maxLength, truncation, padding, value);
    }

    /** The requested maximum length, before the model's cap. */
    public int maxLength() {
        return maxLength;
    }

    /** The truncation strategy. */
    public Truncation truncation() {
        return truncation;
    }

    /** The padding strategy. */
    public Padding padding() {
        return padding;
    }

    /** Whether [CLS]/[SEP] (the model's template) frame the sequences. */
    public boolean addSpecialTokens() {
        return addSpecialTokens;
    }

    private static String allowed(Enum<?>[] values) {
        return Arrays.stream(values)
                .map(v -> v instanceof Truncation ? ((Truncation) v).hfName : ((Padding) v).hfName)
                .collect(Collectors.joining("|", "[", "]"));
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof TokenizerOptions)) {
            return false;
        }
        TokenizerOptions other = (TokenizerOptions) o;
        return maxLength == other.maxLength
                && truncation == other.truncation
                && padding == other.padding
                && addSpecialTokens == other.addSpecialTokens;
    }

    @Override
    public int hashCode() {
        return Objects.hash(maxLength, truncation, padding, addSpecialTokens);
    }

    @Override
    public String toString() {
        return String.format(
                Locale.ROOT,
                "TokenizerOptions{maxLength=%d, truncation=%s, padding=%s, addSpecialTokens=%s}",
                maxLength,
                truncation.hfName,
                padding.hfName,
                addSpecialTokens);
    }
}
