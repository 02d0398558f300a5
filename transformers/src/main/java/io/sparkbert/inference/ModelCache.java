package io.sparkbert.inference;

import io.sparkbert.bert.Devices;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The per-JVM cache of loaded models, keyed by model source ({@link ModelSource#key()}: location or
 * content id), the source's current {@link ModelSource#version() version} and device. On an
 * executor every task that scores with the same model on the same device shares one {@link
 * LoadedModel}; the model is loaded on first use and kept while its files stay as they are, never
 * per partition or task.
 *
 * <p>A model directory rewritten in place (a model retrained at the same path or URI) has another
 * version: the next task loads the new files, and the old model is retired: no longer handed out,
 * and closed once the last task that {@linkplain #acquire acquired} it has released it. Models
 * obtained through {@link #get} have no release; a retired one of those is dropped without being
 * closed.
 *
 * <p>{@link #loadCount()} counts the loads this JVM performed, so tests can prove that each
 * executor loaded a model once (collect it from a job that runs on every executor).
 *
 * <p>Thread-safe: concurrent tasks asking for the same key wait for one load.
 */
public final class ModelCache {
    private static final Map<String, Entry> MODELS = new ConcurrentHashMap<>();
    private static final Map<String, String> CURRENT = new ConcurrentHashMap<>();
    private static final Map<String, AtomicInteger> LOADS_BY_KEY = new ConcurrentHashMap<>();
    private static final AtomicInteger LOADS = new AtomicInteger();

    private ModelCache() {}

    /** A cached model and who uses it; guarded by its own monitor. */
    private static final class Entry {
        final LoadedModel model;
        int users;
        boolean pinned;
        boolean retired;

        Entry(LoadedModel model) {
            this.model = model;
        }
    }

    /**
     * A task's use of a cached model; {@link #close()} ends it (idempotent). Not thread-safe: one
     * per task.
     */
    public static final class Lease implements AutoCloseable {
        private final Entry entry;
        private boolean released;

        private Lease(Entry entry) {
            this.entry = entry;
        }

        /** The model. Do not close it: the cache owns it. */
        public LoadedModel model() {
            return entry.model;
        }

        @Override
        public void close() {
            if (released) {
                return;
            }
            released = true;
            synchronized (entry) {
                entry.users--;
                closeIfUnused(entry);
            }
        }
    }

    /**
     * The model of a source on a device for one task, loading it on first use or when its files
     * changed; release it with {@link Lease#close()} when the task ends.
     *
     * @param source where the model comes from
     * @param deviceSpec the engine device ({@code cpu}, {@code gpu:0}, ...)
     */
    public static Lease acquire(ModelSource source, String deviceSpec) {
        String base = source.key() + "@" + deviceSpec;
        String full = base + "#" + source.version();
        while (true) {
            Entry e =
                    MODELS.computeIfAbsent(
                            full,
                            k -> {
                                LoadedModel m = LoadedModel.load(source, deviceSpec);
                                LOADS.incrementAndGet();
                                LOADS_BY_KEY
                                        .computeIfAbsent(base, x -> new AtomicInteger())
                                        .incrementAndGet();
                                return new Entry(m);
                            });
            synchronized (e) {
                if (e.retired) {
                    continue; // retired between lookup and use: look again
                }
                e.users++;
            }
            String previous = CURRENT.put(base, full);
            if (previous != null && !previous.equals(full)) {
                retire(previous);
            }
            return new Lease(e);
        }
    }

    /**
     * The model of a source on a device, loading it on first use or when its files changed. The
     * caller never releases it (see {@link #acquire} for tasks), so it is not closed when retired.
     *
     * @param source where the model comes from
     * @param deviceSpec the engine device ({@code cpu}, {@code gpu:0}, ...)
     */
    public static LoadedModel get(ModelSource source, String deviceSpec) {
        Lease lease = acquire(source, deviceSpec);
        synchronized (lease.entry) {
            lease.entry.pinned = true;
        }
        LoadedModel m = lease.model();
        lease.close();
        return m;
    }

    private static void retire(String full) {
        Entry old = MODELS.remove(full);
        if (old != null) {
            synchronized (old) {
                old.retired = true;
                closeIfUnused(old);
            }
        }
    }

    /** Closes a retired, unpinned entry without users; the caller holds its monitor. */
    private static void closeIfUnused(Entry e) {
        if (e.retired && e.users == 0 && !e.pinned) {
            e.model.close();
        }
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
        String device = TaskDevices.forCurrentTask(deviceParam, Devices::gpuCount);
        return get(ModelSource.location(location), device);
    }

    /** How many models this JVM has loaded since it started (or since {@link #clear()}). */
    public static int loadCount() {
        return LOADS.get();
    }

    /** How many times this JVM loaded the given source on the given device (any version). */
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
            Entry e = MODELS.remove(k);
            if (e != null) {
                e.model.close();
            }
        }
        CURRENT.clear();
        LOADS.set(0);
        LOADS_BY_KEY.clear();
    }
}
