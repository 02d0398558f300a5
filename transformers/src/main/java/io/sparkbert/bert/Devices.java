package io.sparkbert.bert;

import ai.djl.Device;
import ai.djl.engine.Engine;
import java.util.Locale;

/**
 * Resolves user device strings to DJL devices. Thread-safe; the GPU count is probed once per JVM.
 */
public final class Devices {
    /** The engine's GPU count, probed on first use (-1 = not yet). */
    private static volatile int gpuCount = -1;

    private Devices() {}

    /**
     * The number of GPUs the engine can use, asked once per JVM: each probe of the CUDA runtime
     * costs a native call (and, on a machine with a CUDA toolkit but no driver, a DJL warning).
     */
    public static int gpuCount() {
        int n = gpuCount;
        if (n < 0) {
            synchronized (Devices.class) {
                n = gpuCount;
                if (n < 0) {
                    n = Engine.getInstance().getGpuCount();
                    gpuCount = n;
                }
            }
        }
        return n;
    }

    /** A device as users write it: {@code cpu}, {@code gpu:0}, ... */
    public static String name(Device device) {
        return device.isGpu() ? "gpu:" + device.getDeviceId() : "cpu";
    }

    /**
     * Resolves {@code auto | cpu | gpu | gpu:N}.
     *
     * <p>{@code auto} is GPU 0 when the engine sees a GPU, else the CPU. {@code gpu} and {@code
     * gpu:N} fail when no such GPU is visible.
     *
     * @param spec the device string (case-insensitive; null means auto)
     * @return the device
     * @throws IllegalArgumentException for an unknown spec or a GPU that is not visible
     */
    public static Device resolve(String spec) {
        MklDispatch.install();
        String s = spec == null ? "auto" : spec.trim().toLowerCase(Locale.ROOT);
        int gpus = "cpu".equals(s) ? 0 : gpuCount();
        if ("auto".equals(s)) {
            return gpus > 0 ? Device.gpu(0) : Device.cpu();
        }
        if ("cpu".equals(s)) {
            return Device.cpu();
        }
        int index;
        if ("gpu".equals(s) || "cuda".equals(s)) {
            index = 0;
        } else if (s.startsWith("gpu:") || s.startsWith("cuda:")) {
            try {
                index = Integer.parseInt(s.substring(s.indexOf(':') + 1));
            } catch (NumberFormatException e) {
                throw invalid(spec);
            }
            if (index < 0) {
                throw invalid(spec);
            }
        } else {
            throw invalid(spec);
        }
        if (gpus == 0) {
            throw new IllegalArgumentException(
                    "device="
                            + spec
                            + " but no GPU is visible to DJL/PyTorch. Put the CUDA build of"
                            + " libtorch on the classpath (ai.djl.pytorch:pytorch-native-cu*"
                            + " for your CUDA version, with a matching driver) or use"
                            + " device=cpu (or auto).");
        }
        if (index >= gpus) {
            throw new IllegalArgumentException(
                    "device="
                            + spec
                            + " but DJL/PyTorch sees only "
                            + gpus
                            + " GPU(s) (gpu:0..gpu:"
                            + (gpus - 1)
                            + "). Use one of those, auto, or cpu.");
        }
        return Device.gpu(index);
    }

    private static IllegalArgumentException invalid(String spec) {
        return new IllegalArgumentException(
                "Invalid device \"" + spec + "\", must be one of [auto, cpu, gpu, gpu:N].");
    }
}
