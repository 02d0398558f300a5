package io.sparkbert.classification;

import io.sparkbert.bert.ProblemType;
import io.sparkbert.inference.Score;
import java.util.stream.IntStream;
import org.apache.spark.ml.linalg.Vectors;

/**
 * The outputs of multi-label and regression heads, read from their logits: a sigmoid per class and
 * the classes over their thresholds, or the value. Shared by {@link BertClassificationModel} and
 * the SQL functions. Stateless and thread-safe.
 */
public final class ProblemOutputs {
    private ProblemOutputs() {}

    /**
     * Multi-label: prediction (class indices whose sigmoid probability is above their threshold),
     * probability (a sigmoid per class), rawPrediction (logits); regression: prediction (the
     * value). Computed from the logits (for a windowed text, their mean over the windows).
     */
    static Object[] row(Score score, ProblemType type, double[] thresholds, double threshold) {
        if (score == null) {
            return type == ProblemType.REGRESSION
                    ? new Object[] {null}
                    : new Object[] {null, null, null};
        }
        float[] logits = score.values();
        if (type == ProblemType.REGRESSION) {
            return new Object[] {(double) logits[0]};
        }
        double[] prob = sigmoid(logits);
        double[] raw = new double[logits.length];
        for (int j = 0; j < raw.length; j++) {
            raw[j] = logits[j];
        }
        return new Object[] {
            predictLabels(prob, thresholds, threshold), Vectors.dense(prob), Vectors.dense(raw)
        };
    }

    /** A sigmoid per logit, in double precision. */
    public static double[] sigmoid(float[] logits) {
        double[] p = new double[logits.length];
        for (int j = 0; j < p.length; j++) {
            p[j] = 1.0 / (1.0 + Math.exp(-(double) logits[j]));
        }
        return p;
    }

    /**
     * The multi-label prediction: the indices (as doubles, ascending) of the classes whose
     * probability is strictly above their threshold ({@code thresholds[c]} when given, else {@code
     * threshold}).
     */
    public static double[] predictLabels(
            double[] probability, double[] thresholds, double threshold) {
        return IntStream.range(0, probability.length)
                .filter(c -> probability[c] > (thresholds == null ? threshold : thresholds[c]))
                .asDoubleStream()
                .toArray();
    }
}
