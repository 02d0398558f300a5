package io.sparkbert.bert;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.sparkbert.bert.MklDispatch.Status;
import java.util.Random;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

class MklDispatchTest {
    @Test
    void decision() {
        assertEquals(
                Status.ACTIVE, MklDispatch.decide("Linux", "amd64", "AuthenticAMD", null, true));
        assertEquals(
                Status.ACTIVE, MklDispatch.decide("Linux", "amd64", "HygonGenuine", "on", true));
        assertEquals(
                Status.UNAVAILABLE,
                MklDispatch.decide("Linux", "amd64", "AuthenticAMD", "auto", false));
        assertEquals(
                Status.NOT_NEEDED,
                MklDispatch.decide("Linux", "amd64", "GenuineIntel", null, true));
        assertEquals(Status.NOT_NEEDED, MklDispatch.decide("Linux", "amd64", null, null, true));
        assertEquals(
                Status.NOT_NEEDED,
                MklDispatch.decide("Linux", "aarch64", "AuthenticAMD", null, true));
        assertEquals(
                Status.NOT_NEEDED,
                MklDispatch.decide("Mac OS X", "x86_64", "AuthenticAMD", null, true));
        assertEquals(
                Status.DISABLED,
                MklDispatch.decide("Linux", "amd64", "AuthenticAMD", " OFF ", true));
        assertEquals(
                Status.DISABLED,
                MklDispatch.decide("Linux", "amd64", "AuthenticAMD", "false", true));
    }

    @Test
    void badSettingIsNamed() {
        String msg =
                assertThrows(
                                IllegalArgumentException.class,
                                () ->
                                        MklDispatch.decide(
                                                "Linux", "amd64", "AuthenticAMD", "fast", true))
                        .getMessage();
        assertTrue(
                msg.contains("sparkbert.mkl.dispatch")
                        && msg.contains("SPARKBERT_MKL_DISPATCH")
                        && msg.contains("\"fast\"")
                        && msg.contains("auto, on, off"),
                msg);
    }

    /**
     * On an AMD Linux machine (this project's CI kind) the library is built, loaded, and really
     * consulted by libtorch's MKL, and a GEMM on the fast kernels still equals a double-precision
     * reference.
     */
    @Test
    void mklAsksTheLibraryOnAmd() {
        Assumptions.assumeTrue(
                "AuthenticAMD".equals(MklDispatch.cpuVendor())
                        && System.getProperty("os.name").startsWith("Linux")
                        && System.getenv(MklDispatch.ENV) == null
                        && System.getProperty(MklDispatch.PROPERTY) == null,
                "not an AMD Linux machine with the default setting");
        assertEquals(Status.ACTIVE, MklDispatch.install());
        int n = 96;
        int k = 384;
        int m = 200;
        float[] a = randoms(n * k, 1);
        float[] b = randoms(k * m, 2);
        float[] got;
        try (NDManager scope = NDManager.newBaseManager(Device.cpu())) {
            NDArray x = scope.create(a, new Shape(n, k));
            NDArray y = scope.create(b, new Shape(k, m));
            got = x.matMul(y).toFloatArray();
        }
        assertTrue(
                MklDispatch.vendorChecksAnswered() > 0,
                "libtorch ran a GEMM but MKL never asked the dispatch library");
        double worst = 0;
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < m; j++) {
                double ref = 0;
                for (int p = 0; p < k; p++) {
                    ref += (double) a[i * k + p] * b[p * m + j];
                }
                worst = Math.max(worst, Math.abs(ref - got[i * m + j]));
            }
        }
        assertTrue(worst < 1e-4, "largest GEMM error " + worst);
    }

    private static float[] randoms(int size, long seed) {
        Random r = new Random(seed);
        float[] v = new float[size];
        for (int i = 0; i < size; i++) {
            v[i] = (float) r.nextGaussian();
        }
        return v;
    }
}
