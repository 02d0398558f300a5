package io.sparkbert.classification;

import io.sparkbert.bert.train.Trainer;
import io.sparkbert.inference.TextColumns;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;

/**
 * The labelled rows {@link BertClassifier#fit} collects to the driver, checked (at most {@code
 * maxTrainingRows} rows, no null or blank texts, labels that are class indices), and the seeded
 * validation hold-out. Immutable.
 *
 * @param pairs the second texts, or null for single texts
 * @param labels the class ids (single-label), or null when {@code raw} holds the labels
 * @param maxLabel the largest label (-1 with raw labels)
 * @param raw the label column's values as collected (multi-label, regression), or null
 */
record TrainingRows(
        List<String> texts, List<String> pairs, int[] labels, int maxLabel, List<Object> raw) {

    /**
     * Collects and checks the rows of {@code dataset}.
     *
     * @param pairCol the text pair column, or null
     * @param keepRaw keep the label column's values as Spark returns them (multi-label arrays as
     *     Java lists, regression values), for {@link ProblemTargets} to read, instead of class ids
     *     ({@code labels} is then null and {@code raw} holds them)
     * @throws IllegalArgumentException naming the stage, the column and the first bad row
     */
    static TrainingRows collect(
            Dataset<?> dataset,
            String textCol,
            String pairCol,
            String labelCol,
            int max,
            String stage,
            boolean keepRaw) {
        boolean pair = pairCol != null;
        List<org.apache.spark.sql.Column> cols = new ArrayList<>();
        cols.add(TextColumns.named(textCol));
        cols.add(pair ? TextColumns.named(pairCol) : org.apache.spark.sql.functions.lit(null));
        cols.add(
                keepRaw ? TextColumns.named(labelCol) : TextColumns.named(labelCol).cast("double"));
        List<Row> rows =
                dataset.select(cols.toArray(new org.apache.spark.sql.Column[0]))
                        .limit(max + 1)
                        .collectAsList();
        if (rows.size() > max) {
            throw new IllegalArgumentException(
                    String.format(
                            Locale.ROOT,
                            "%s: the training data has more than maxTrainingRows = %d rows, which"
                                    + " fit() would collect to the driver. Raise maxTrainingRows"
                                    + " (setMaxTrainingRows) if the driver has the memory, or"
                                    + " sample the DataFrame yourself.",
                            stage,
                            max));
        }
        if (rows.isEmpty()) {
            throw new IllegalArgumentException(
                    stage + ": the training DataFrame is empty: fit needs labelled rows.");
        }
        List<String> texts = new ArrayList<>(rows.size());
        List<String> pairs = pair ? new ArrayList<>(rows.size()) : null;
        int[] labels = new int[rows.size()];
        for (int i = 0; i < rows.size(); i++) {
            Row r = rows.get(i);
            texts.add(r.isNullAt(0) ? null : r.getString(0));
            if (pair) {
                pairs.add(r.isNullAt(1) ? null : r.getString(1));
            }
        }
        // A null or blank text is refused when scoring, so it is refused here too rather than
        // trained on.
        checkTexts(texts, "text column", textCol, "textCol", stage);
        if (pair) {
            checkTexts(pairs, "text pair column", pairCol, "textPairCol", stage);
        }
        if (keepRaw) {
            List<Object> raw = new ArrayList<>(rows.size());
            for (Row r : rows) {
                // Arrays as Java lists (null stays null).
                raw.add(
                        r.isNullAt(2) || !(r.get(2) instanceof scala.collection.Seq)
                                ? r.get(2)
                                : r.getList(2));
            }
            return new TrainingRows(texts, pairs, null, -1, raw);
        }
        int maxLabel = 0;
        for (int i = 0; i < rows.size(); i++) {
            labels[i] = label(rows.get(i), i, labelCol, stage);
            maxLabel = Math.max(maxLabel, labels[i]);
        }

        return new TrainingRows(texts, pairs, labels, maxLabel, null);
    }

    /**
     * Refuses null and blank (whitespace-only) texts, counting them and naming the column and the
     * first such row.
     */
    private static void checkTexts(
            List<String> texts, String what, String column, String param, String stage) {
        int bad = 0;
        int first = -1;
        for (int i = 0; i < texts.size(); i++) {
            String t = texts.get(i);
            if (t == null || t.isBlank()) {
                if (bad++ == 0) {
                    first = i;
                }
            }
        }
        if (bad > 0) {
            throw new ColumnException(
                    stage,
                    "",
                    what,
                    column,
                    param,
                    String.format(
                            Locale.ROOT,
                            " has %d null or blank (whitespace-only) %s (the first at row %d);"
                                    + " filter them out or fill them before fit (a trained model"
                                    + " refuses them too).",
                            bad,
                            bad == 1 ? "value" : "values",
                            first));
        }
    }

    private static int label(Row r, int i, String labelCol, String stage) {
        if (r.isNullAt(2)) {
            throw badLabel(stage, i, labelCol, "null");
        }
        double y = r.getDouble(2);
        if (Double.isNaN(y) || y < 0 || y != Math.rint(y) || y > Integer.MAX_VALUE) {
            throw badLabel(stage, i, labelCol, String.valueOf(y));
        }
        return (int) y;
    }

    private static IllegalArgumentException badLabel(
            String stage, int row, String labelCol, String value) {
        return ColumnException.label(
                stage,
                labelCol,
                String.format(
                        Locale.ROOT,
                        " has the value %s at row %d; labels must be class indices 0, 1, ..., k-1"
                                + " (use StringIndexer for string labels, and drop rows without a"
                                + " label).",
                        value,
                        row));
    }

    /** The seeded hold-out split; [train, validation or null]. */
    static Trainer.Examples[] split(Trainer.Examples all, double fraction, long seed) {
        int n = all.size();
        int nVal = fraction <= 0 ? 0 : Math.max(1, (int) Math.round(n * fraction));
        if (nVal == 0) {
            return new Trainer.Examples[] {all, null};
        }
        if (nVal >= n) {
            throw new IllegalArgumentException(
                    "validationFraction "
                            + fraction
                            + " leaves no training rows out of "
                            + n
                            + ": lower it or add data.");
        }
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            order.add(i);
        }
        Collections.shuffle(order, new Random(seed));
        return new Trainer.Examples[] {
            all.subset(order.subList(nVal, n)), all.subset(order.subList(0, nVal))
        };
    }
}
