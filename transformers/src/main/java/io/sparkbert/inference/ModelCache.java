package io.sparkbert.inference;

import ai.djl.engine.Engine;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The per-JVM cache of loaded models, keyed by model source ({@link ModelSource#key()}: location or
 * content id) and device. On an executor every task that scores with the same model on the same
 * device shares one {@link LoadedModel}; the model is loaded on first use and kept for the life of
 * the JVM, never per partition or task.
 *
 * <p>{@link #loadCount()} counts the loads this JVM performed, so tests can prove that each
 * executor loaded a model once (collect it from a job that runs on every executor).
 *
 * <p>Thread-safe: concurrent tasks asking for the same key wait for one load.
 */
public final class ModelCache {
    private static final Map<String, LoadedModel> MODELS = new ConcurrentHashMap<>();
    private static final Map<String, AtomicInteger> LOADS_BY_KEY = new ConcurrentHashMap<>();
    private static final AtomicInteger LOADS = new AtomicInteger();

    private ModelCache() {}

    /**
     * The model of a source on a device, loading it on first use.
     *
     * @param source where the model comes from
     * @param deviceSpec the engine device ({@code cpu}, {@code gpu:0}, ...)
     */
    public static LoadedModel get(ModelSource source, String deviceSpec) {
        String key = source.key() + "@" + deviceSpec;
        return MODELS.computeIfAbsent(
                key,
                k -> {
                    LoadedModel m = LoadedModel.load(source, deviceSpec);
                    LOADS.incrementAndGet();
                    LOADS_BY_KEY.computeIfAbsent(k, x -> new AtomicInteger()).incrementAndGet();
                    return m;
                });
    }

    /**
     * Loads a model into this JVM's cache before the tasks that will use it start, on the device a
     * task without a GPU assignment would pick. Meant for the driver when it also runs the tasks (a
     * {@code local} master): loading there while Spark starts saves the tasks the wait.
     *
     * @param location the model location as the stage's {@code model} param holds it
     * @param deviceParam the stage's {@code device} param: auto, cpu or gpu
     */
    public static LoadedModel warm(String location, String deviceParam) {
        String device =
                TaskDevices.forCurrentTask(deviceParam, () -> Engine.getInstance().getGpuCount());
        return get(ModelSource.location(location), device);
    }

    /** How many models this JVM has loaded since it started (or since {@link #clear()}). */
    public static int loadCount() {
        return LOADS.get();
    }

    /** How many times this JVM loaded the given source on the given device. */
    public static int loadCount(ModelSource source, String deviceSpec) {
        AtomicInteger n = LOADS_BY_KEY.get(source.key() + "@" + deviceSpec);
        return n == null ? 0 : n.get();
    }

    /** How many models the cache holds now. */
    public static int size() {
        return MODELS.size();
    }

    /**
     * Closes and forgets every cached model and resets the counters. For tests and benchmarks only:
     * it must not run while tasks are scoring.
     */
    public static synchronized void clear() {
        for (String k : MODELS.keySet()) {
            LoadedModel m = MODELS.remove(k);
            if (m != null) {
                m.close();
            }
        }
        LOADS.set(0);
        LOADS_BY_KEY.clear();
    }
}
