package io.sparkbert.inference;

import org.apache.spark.sql.Column;
import org.apache.spark.sql.functions;

/**
 * Column expressions that the stages and the jobs share, so that they agree on what a column name
 * means and on which texts a model can score. Stateless; thread-safe.
 */
public final class TextColumns {
    private TextColumns() {}

    /**
     * The column named {@code name}, taken literally: a dot or a space is part of the name (a CSV
     * header such as {@code review.text} is not a struct field), a back-tick is escaped.
     */
    public static Column named(String name) {
        return functions.col("`" + name.replace("`", "``") + "`");
    }

    /**
     * True where {@code c} is a string with at least one non-whitespace character, false for null
     * and for whitespace only: the same test as {@code String.isBlank()}, which the scorer applies
     * row by row ({@code \p{javaWhitespace}} is {@code Character.isWhitespace}, tabs and line
     * breaks included, not only the spaces that Spark's {@code trim} removes).
     */
    public static Column hasText(Column c) {
        return c.isNotNull().and(c.rlike("[^\\p{javaWhitespace}]"));
    }

    /**
     * True where the column {@code textCol} and, unless {@code pairCol} is null, the column {@code
     * pairCol} both pass {@link #hasText}: the rows a model can score.
     */
    public static Column scorable(String textCol, String pairCol) {
        Column valid = hasText(named(textCol));
        return pairCol == null ? valid : valid.and(hasText(named(pairCol)));
    }
}
