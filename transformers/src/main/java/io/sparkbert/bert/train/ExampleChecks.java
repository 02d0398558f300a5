package io.sparkbert.bert.train;

import java.util.Arrays;
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

    static void checkExamples(Trainer.Examples ex, int k, int maxPositions, String what) {
        for (int i = 0; i < ex.size(); i++) {
            int y = ex.labels()[i];
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
}
