package io.sparkbert.inference;

import java.util.Locale;
import java.util.Map;
import java.util.function.IntSupplier;
import org.apache.spark.TaskContext;
import org.apache.spark.resource.ResourceInformation;
import scala.collection.JavaConverters;

/**
 * Decides which device a Spark task runs the model on.
 *
 * <p>Rules, in order:
 *
 * <ol>
 *   <li>{@code device=cpu}: the CPU, whatever the task was given.
 *   <li>{@code device=gpu:N} (the SQL functions' {@code spark.sparkbert.sql.device}; the stages'
 *       param takes auto, cpu and gpu only): GPU N, whatever the task was given; an error when the
 *       engine does not see that GPU.
 *   <li>The task holds a {@code gpu} resource (Spark scheduled it with {@code
 *       spark.task.resource.gpu.amount}): the first address Spark assigned, so that concurrent
 *       tasks on one executor use the GPUs Spark gave them rather than all landing on GPU 0.
 *   <li>{@code device=gpu}: GPU 0 when the engine sees one; otherwise an error, since the user
 *       asked for a GPU that is not there.
 *   <li>{@code device=auto}: GPU 0 when the engine sees one, else the CPU.
 * </ol>
 *
 * <p>The result is a device spec string understood by the engine ({@code cpu} or {@code gpu:N}).
 * Stateless and thread-safe.
 */
public final class TaskDevices {
    private TaskDevices() {}

    /**
     * The device for the current task (or for driver-side code when there is no task).
     *
     * @param deviceParam the stage's {@code device} param: auto, cpu or gpu
     * @param gpuCount how many GPUs the engine sees (called only when needed)
     */
    public static String forCurrentTask(String deviceParam, IntSupplier gpuCount) {
        TaskContext ctx = TaskContext.get();
        String[] addresses = new String[0];
        if (ctx != null) {
            scala.collection.immutable.Map<String, ResourceInformation> res = ctx.resources();
            Map<String, ResourceInformation> javaRes = JavaConverters.mapAsJavaMap(res);
            ResourceInformation gpu = javaRes.get("gpu");
            if (gpu != null) {
                addresses = gpu.addresses();
            }
        }
        return choose(deviceParam, addresses, gpuCount);
    }

    /** The selection rules on plain inputs; see the class comment. */
    static String choose(String deviceParam, String[] taskGpuAddresses, IntSupplier gpuCount) {
        String mode = deviceParam == null ? "auto" : deviceParam.trim().toLowerCase(Locale.ROOT);
        switch (mode) {
            case "cpu":
                return "cpu";
            case "gpu":
            case "auto":
                break;
            default:
                if (mode.matches("gpu:[0-9]{1,9}")) {
                    return explicitGpu(deviceParam, Integer.parseInt(mode.substring(4)), gpuCount);
                }
                throw new IllegalArgumentException(
                        "Invalid device '"
                                + deviceParam
                                + "': must be one of auto, cpu, gpu (set the stage's device param"
                                + " or the job's --device option), or gpu:N for the SQL functions.");
        }
        if (taskGpuAddresses != null && taskGpuAddresses.length > 0) {
            String address = taskGpuAddresses[0].trim();
            try {
                return "gpu:" + Integer.parseInt(address);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(
                        "Spark assigned GPU address '"
                                + address
                                + "' to this task, which is not a CUDA device ordinal; make the GPU"
                                + " discovery script report ordinals such as 0 and 1.",
                        e);
            }
        }
        int gpus = gpuCount.getAsInt();
        if (gpus > 0) {
            return "gpu:0";
        }
        if (mode.equals("gpu")) {
            throw noGpu("gpu");
        }
        return "cpu";
    }

    /** {@code gpu:index} when the engine sees that GPU. */
    private static String explicitGpu(String deviceParam, int index, IntSupplier gpuCount) {
        int gpus = gpuCount.getAsInt();
        if (gpus == 0) {
            throw noGpu(deviceParam.trim());
        }
        if (index >= gpus) {
            throw new IllegalArgumentException(
                    "device="
                            + deviceParam.trim()
                            + " was requested but the PyTorch engine sees only "
                            + gpus
                            + " GPU(s) (gpu:0..gpu:"
                            + (gpus - 1)
                            + "); use one of those, gpu, auto or cpu.");
        }
        return "gpu:" + index;
    }

    private static IllegalArgumentException noGpu(String requested) {
        return new IllegalArgumentException(
                "device="
                        + requested
                        + " was requested but the PyTorch engine sees no GPU on this machine."
                        + " Add the CUDA build of libtorch (ai.djl.pytorch:pytorch-native-cu*"
                        + " jar) to the classpath and run on a GPU node, or set device=auto or"
                        + " device=cpu.");
    }
}
