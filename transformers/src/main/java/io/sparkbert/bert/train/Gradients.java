package io.sparkbert.bert.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * One forward/backward pass: the gradients by parameter name, their squared norms, the global L2
 * norm and the loss.
 */
record Gradients(
        Map<String, NDArray> arrays, Map<String, Double> squares, double norm, double loss) {

    /**
     * The gradients torch has for {@code trainable} (moved into {@code scope}; parameters without
     * one are left out) and their norms.
     */
    static Gradients collect(NDManager scope, Map<String, NDArray> trainable, double loss) {
        Map<String, NDArray> grads = new LinkedHashMap<>();
        Map<String, Double> sq = new LinkedHashMap<>();
        double total = 0;
        for (Map.Entry<String, NDArray> e : trainable.entrySet()) {
            PtNDArray g = JniUtils.getGradient((PtNDArray) e.getValue());
            if (g == null) {
                continue;
            }
            g.attach(scope);
            grads.put(e.getKey(), g);
            double s = squaredNorm(g);
            sq.put(e.getKey(), s);
            total += s;
        }
        return new Gradients(grads, sq, Math.sqrt(total), loss);
    }

    /**
     * The squared L2 norm of one gradient, overflow-safe: one fused norm pass (libtorch accumulates
     * float32 reductions in double on the CPU), squared in Java doubles; only when that is not
     * finite (a NaN/inf inside, a norm beyond float32, or a GPU reduction that overflowed) is the
     * sum of squares recomputed in float64 to tell huge from NaN.
     */
    static double squaredNorm(NDArray g) {
        double n = g.norm().getFloat();
        if (Double.isFinite(n)) {
            return n * n;
        }
        return g.toType(DataType.FLOAT64, false).square().sum().getDouble();
    }

    /** Whether the step must be skipped: a loss or norm that is not finite, or too large. */
    boolean corrupt(double maxSane) {
        return !Double.isFinite(loss) || !Double.isFinite(norm) || norm > maxSane;
    }

    /** " name=norm" for the {@code limit} largest parameter gradient norms, NaN first. */
    String largest(int limit) {
        StringBuilder worst = new StringBuilder();
        squares.entrySet().stream()
                .sorted(
                        (a, b) ->
                                Double.compare(
                                        Double.isNaN(b.getValue())
                                                ? Double.POSITIVE_INFINITY
                                                : b.getValue(),
                                        Double.isNaN(a.getValue())
                                                ? Double.POSITIVE_INFINITY
                                                : a.getValue()))
                .limit(limit)
                .forEach(
                        e ->
                                worst.append(
                                        String.format(
                                                Locale.ROOT,
                                                " %s=%.3g",
                                                e.getKey(),
                                                Math.sqrt(e.getValue()))));
        return worst.toString();
    }
}
