package io.sparkbert.bert.train;

import io.sparkbert.bert.ProblemType;
import java.util.Arrays;
import java.util.Locale;
import java.util.SortedSet;
import java.util.TreeSet;

/** Checks of training data against the model before any step. Stateless and thread-safe. */
final class ExampleChecks {
    private ExampleChecks() {}

    /**
     * Refuses class weights that give 0 to every class of the training data: each batch's loss
     * would be 0 / 0, so every step would be skipped and nothing learnt.
     */
    static void checkSomeWeight(Trainer.Examples train, double[] classWeights) {
        if (classWeights == null) {
            return;
        }
        SortedSet<Integer> present = new TreeSet<>();
        for (int y : train.labels()) {
            if (classWeights[y] > 0) {
                return;
            }
            present.add(y);
        }
        throw new IllegalArgumentException(
                "classWeights "
                        + Arrays.toString(classWeights)
                        + " give weight 0 to every class of the training data (classes "
                        + present
                        + "), so there is no loss to learn from: give at least one of them a"
                        + " positive weight.");
    }

    /**
     * Refuses loss options that the problem type has no meaning for: class weights for regression
     * (one output, no classes) and label smoothing outside single-label classification (torch
     * defines it for the softmax cross-entropy only).
     */
    static void checkLossOptions(ProblemType type, double[] classWeights, double labelSmoothing) {
        if (type == ProblemType.REGRESSION && classWeights != null) {
            throw new OptionException(
                    "classWeights",
                    "classWeights "
                            + Arrays.toString(classWeights)
                            + " are set but the problem type is regression, which has no classes"
                            + " to weight: unset classWeights.");
        }
        if (type != ProblemType.SINGLE_LABEL && labelSmoothing > 0) {
            throw new OptionException(
                    "labelSmoothing",
                    "labelSmoothing "
                            + labelSmoothing
                            + " is set but the problem type is "
                            + type.id()
                            + "; label smoothing belongs to the single-label cross-entropy: set"
                            + " labelSmoothing to 0.");
        }
    }

    static void checkExamples(
            Trainer.Examples ex, ProblemType type, int k, int maxPositions, String what) {
        if (type == ProblemType.SINGLE_LABEL && ex.labels() == null) {
            throw new IllegalArgumentException(
                    what
                            + " examples carry target rows but the model's head is single-label:"
                            + " give class ids, or a model whose config says problem_type"
                            + " multi_label_classification or regression.");
        }
        if (type != ProblemType.SINGLE_LABEL && ex.targets() == null) {
            throw new IllegalArgumentException(
                    what
                            + " examples carry class ids but the model's head is "
                            + type.id()
                            + ": give one target row per example.");
        }
        for (int i = 0; i < ex.size(); i++) {
            if (ex.targets() != null) {
                checkTargets(ex.targets()[i], type, k, i, what);
            }
            int y = ex.labels() == null ? 0 : ex.labels()[i];
            if (y < 0 || y >= k) {
                throw new IllegalArgumentException(
                        what
                                + " label "
                                + y
                                + " at example "
                                + i
                                + " is outside the classifier's range 0.."
                                + (k - 1)
                                + ": labels must be class indices below the number of classes.");
            }
            int len = ex.encodings().get(i).length();
            if (len > maxPositions) {
                throw new IllegalArgumentException(
                        what
                                + " example "
                                + i
                                + " has "
                                + len
                                + " tokens but the model has "
                                + maxPositions
                                + " positions: lower maxLength.");
            }
        }
    }

    /** A multi-label row: k entries in [0, 1]; a regression row: one finite value. */
    private static void checkTargets(float[] row, ProblemType type, int k, int i, String what) {
        int want = type == ProblemType.REGRESSION ? 1 : k;
        if (row == null || row.length != want) {
            throw new IllegalArgumentException(
                    String.format(
                            Locale.ROOT,
                            "%s example %d has %s targets but the %s head has %d outputs.",
                            what,
                            i,
                            row == null ? "no" : String.valueOf(row.length),
                            type.id(),
                            want));
        }
        for (float v : row) {
            boolean ok = type == ProblemType.REGRESSION ? Float.isFinite(v) : v >= 0 && v <= 1;
            if (!ok) {
                throw new IllegalArgumentException(
                        String.format(
                                Locale.ROOT,
                                "%s example %d has target %s: %s.",
                                what,
                                i,
                                v,
                                type == ProblemType.REGRESSION
                                        ? "regression targets must be finite numbers"
                                        : "multi-label targets must be in [0, 1]"));
            }
        }
    }
}
