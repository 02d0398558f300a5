package io.sparkbert.bert;

import ai.djl.Device;
import ai.djl.engine.Engine;
import java.util.Locale;

/** Resolves user device strings to DJL devices. Stateless and thread-safe. */
public final class Devices {
    private Devices() {}

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
        int gpus = "cpu".equals(s) ? 0 : Engine.getInstance().getGpuCount();
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
