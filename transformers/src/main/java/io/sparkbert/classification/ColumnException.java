package io.sparkbert.classification;

/**
 * A bad value or type in one of a stage's input columns, carrying the column and the param that
 * names it as data, so that a caller with its own names for them (a job's flags) can word the
 * message its way without rewriting text. The message reads {@code "<stage>: <before><what>
 * '<column>' (param <param>)<after>"}.
 */
public final class ColumnException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    private final String param;
    private final String column;
    private final String before;
    private final String after;

    /**
     * @param stage the stage, e.g. {@code BertClassifier[uid]}
     * @param before text before the column's description, often empty
     * @param what how the message names the column, e.g. {@code label column}
     * @param column the column's name
     * @param param the param that names the column, e.g. {@code labelCol}
     * @param after the rest of the message: what is wrong and the fix
     */
    ColumnException(
            String stage, String before, String what, String column, String param, String after) {
        super(stage + ": " + before + what + " '" + column + "' (param " + param + ")" + after);
        this.param = param;
        this.column = column;
        this.before = before;
        this.after = after;
    }

    /**
     * An error about the label column: {@code "<stage>: label column '<labelCol>' (param
     * labelCol)<after>"}.
     */
    static ColumnException label(String stage, String labelCol, String after) {
        return new ColumnException(stage, "", "label column", labelCol, "labelCol", after);
    }

    /** The param that names the offending column, e.g. {@code labelCol}. */
    public String param() {
        return param;
    }

    /** The offending column's name. */
    public String column() {
        return column;
    }

    /**
     * The message without the stage, the column described as {@code name} (e.g. {@code --label-col
     * 'stars'}).
     */
    public String messageNaming(String name) {
        return before + name + after;
    }
}
