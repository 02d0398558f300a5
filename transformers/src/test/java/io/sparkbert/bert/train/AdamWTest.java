package io.sparkbert.bert.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.jni.JniUtils;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * {@link AdamW} against torch.optim.AdamW's update rule computed here in double precision, in both
 * of its forms (the fused native loop and the in-place NDArray operations).
 */
class AdamWTest {
    static final double B1 = 0.9;
    static final double B2 = 0.999;
    static final double EPS = 1e-8;
    static final int STEPS = 6;
    static final int N = 3 * 257;

    /** The parameter after {@link #STEPS} steps of torch's rule in doubles. */
    static double[] reference(float[] p0, float[][] grads, double lr, double wd, double scale) {
        double[] p = new double[p0.length];
        double[] m = new double[p0.length];
        double[] v = new double[p0.length];
        for (int i = 0; i < p.length; i++) {
            p[i] = p0[i];
        }
        for (int t = 1; t <= grads.length; t++) {
            double bc1 = 1 - Math.pow(B1, t);
            double bc2 = 1 - Math.pow(B2, t);
            for (int i = 0; i < p.length; i++) {
                double g = grads[t - 1][i] * scale;
                p[i] *= 1 - lr * wd;
                m[i] = B1 * m[i] + (1 - B1) * g;
                v[i] = B2 * v[i] + (1 - B2) * g * g;
                p[i] -= lr / bc1 * m[i] / (Math.sqrt(v[i]) / Math.sqrt(bc2) + EPS);
            }
        }
        return p;
    }

    static float[][] data(long seed) {
        Random r = new Random(seed);
        float[][] out = new float[STEPS + 1][N];
        for (float[] row : out) {
            for (int i = 0; i < N; i++) {
                row[i] = (float) r.nextGaussian();
            }
        }
        // Some exact zeros in the gradients: the rule must leave their moments decaying only.
        out[2][5] = 0f;
        out[3][5] = 0f;
        return out;
    }

    /** Runs the optimizer; returns the final parameter and checks every gradient was zeroed. */
    static float[] run(boolean fused, float[][] d, double lr, double wd, double scale) {
        return run(fused, d, new Shape(3, N / 3), lr, wd, scale);
    }

    /** {@link #run} for a parameter of any shape, {@code d.length - 1} steps. */
    static float[] run(
            boolean fused, float[][] d, Shape shape, double lr, double wd, double scale) {
        int steps = d.length - 1;
        try (NDManager base = NDManager.newBaseManager()) {
            NDArray p = base.create(d[0], shape);
            try (AdamW opt = new AdamW(base, B1, B2, EPS, fused)) {
                for (int t = 1; t <= steps; t++) {
                    try (NDManager step = base.newSubManager()) {
                        NDArray g = step.create(d[t], shape);
                        opt.update("w", p, g, lr, wd, scale);
                        float[] left = g.toFloatArray();
                        for (float x : left) {
                            assertEquals(0f, x, "the gradient is left zeroed");
                        }
                    }
                }
                assertEquals(steps, opt.steps("w"));
            }
            return p.toFloatArray();
        }
    }

    @Test
    void bothFormsFollowTorchsRule() {
        float[][] d = data(7);
        float[][] grads = new float[STEPS][];
        System.arraycopy(d, 1, grads, 0, STEPS);
        double[][] settings = {{1e-3, 0.01, 1.0}, {5e-2, 0.0, 0.25}, {2e-5, 0.1, 1.0}};
        for (double[] s : settings) {
            double[] want = reference(d[0], grads, s[0], s[1], s[2]);
            for (boolean fused : new boolean[] {false, true}) {
                float[] got = run(fused, d, s[0], s[1], s[2]);
                for (int i = 0; i < N; i++) {
                    // float32 arithmetic against double: a few ulps of the parameter.
                    assertEquals(
                            want[i],
                            got[i],
                            1e-6 * Math.max(1, Math.abs(want[i])),
                            "fused=" + fused + " lr=" + s[0] + " element " + i);
                }
            }
        }
    }

    @Test
    void aLargeParameterSplitOverThreadsGivesTheOneThreadResultBitForBit() {
        assumeTrue(FusedAdamW.available(), "no native AdamW in this build");
        int n = 3 * (1 << 18) + 37; // three slices of the native loop and a ragged end
        Random r = new Random(5);
        float[][] d = new float[4][n];
        for (float[] row : d) {
            for (int i = 0; i < n; i++) {
                row[i] = (float) r.nextGaussian();
            }
        }
        int old = JniUtils.getNumThreads();
        float[] one;
        float[] three;
        try {
            JniUtils.setNumThreads(1);
            one = run(true, d, new Shape(n), 1e-3, 0.01, 0.5);
            JniUtils.setNumThreads(3);
            three = run(true, d, new Shape(n), 1e-3, 0.01, 0.5);
        } finally {
            JniUtils.setNumThreads(old);
        }
        assertArrayEquals(one, three);
        float[][] grads = {d[1], d[2], d[3]};
        double[] want = reference(d[0], grads, 1e-3, 0.01, 0.5);
        // torch's rule on both sides of every slice boundary and at the ends
        for (int i : new int[] {0, (1 << 18) - 1, 1 << 18, (1 << 19) + 3, n - 1}) {
            assertEquals(want[i], three[i], 1e-6 * Math.max(1, Math.abs(want[i])), "element " + i);
        }
    }

    @Test
    void sameInputsGiveBitIdenticalResults() {
        float[][] d = data(11);
        for (boolean fused : new boolean[] {false, true}) {
            assertArrayEquals(run(fused, d, 1e-3, 0.01, 0.5), run(fused, d, 1e-3, 0.01, 0.5));
        }
    }

    @Test
    void theFusedFormIsUsedOnThisMachineWhenBuilt() {
        // The build machine has a C compiler: the native step must be there, or the benchmark
        // numbers in docs/benchmarks.md are not what this build runs.
        assertTrue(
                FusedAdamW.available() || FusedAdamW.class.getResource(FusedAdamW.RESOURCE) == null,
                "libsparkbert_adamw.so is in the build but did not load");
    }

    @Test
    void stateIsReleasedOnClose() {
        try (NDManager base = NDManager.newBaseManager()) {
            NDArray p = base.create(new float[] {1, 2, 3});
            int before = base.getManagedArrays().size();
            for (boolean fused : new boolean[] {false, true}) {
                AdamW opt = new AdamW(base, B1, B2, EPS, fused);
                try (NDManager step = base.newSubManager()) {
                    opt.update("p", p, step.create(new float[] {0.1f, -0.2f, 0.3f}), 0.1, 0, 1);
                }
                opt.close();
                opt.close();
                assertEquals(before, base.getManagedArrays().size(), "fused=" + fused);
            }
        }
    }

    @Test
    void refusesBadSettings() {
        try (NDManager base = NDManager.newBaseManager()) {
            IllegalArgumentException e =
                    assertThrows(IllegalArgumentException.class, () -> new AdamW(base, 1, B2, 1));
            assertTrue(e.getMessage().contains("beta1=1"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> new AdamW(base, B1, B2, 0));
        }
    }
}
