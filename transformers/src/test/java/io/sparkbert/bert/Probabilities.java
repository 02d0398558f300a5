package io.sparkbert.bert;

/** Small numeric helpers on Java arrays for classifier outputs. Stateless and thread-safe. */
public final class Probabilities {
    private Probabilities() {}

    /**
     * Numerically stable softmax (the maximum is subtracted before exponentiation).
     *
     * @param logits the raw scores, at least one
     * @return probabilities summing to 1
     */
    public static float[] softmax(float[] logits) {
        if (logits == null || logits.length == 0) {
            throw new IllegalArgumentException("softmax needs at least one logit");
        }
        double max = Double.NEGATIVE_INFINITY;
        for (float v : logits) {
            max = Math.max(max, v);
        }
        double[] e = new double[logits.length];
        double sum = 0;
        for (int i = 0; i < logits.length; i++) {
            e[i] = Math.exp(logits[i] - max);
            sum += e[i];
        }
        float[] out = new float[logits.length];
        for (int i = 0; i < logits.length; i++) {
            out[i] = (float) (e[i] / sum);
        }
        return out;
    }

    /**
     * Index of the largest value; the first one on ties.
     *
     * @param values at least one value
     * @return the index
     */
    public static int argmax(float[] values) {
        if (values == null || values.length == 0) {
            throw new IllegalArgumentException("argmax needs at least one value");
        }
        int best = 0;
        for (int i = 1; i < values.length; i++) {
            if (values[i] > values[best]) {
                best = i;
            }
        }
        return best;
    }
}
