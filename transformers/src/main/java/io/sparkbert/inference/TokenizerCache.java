package io.sparkbert.inference;

import io.sparkbert.bert.HfTokenizer;
import io.sparkbert.bert.TokenizerOptions;
import io.sparkbert.persistence.ModelLocation;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.hadoop.conf.Configuration;

/**
 * One {@link HfTokenizer} per model location and options per JVM, built on first use and shared by
 * all tasks of an executor (the tokenizer is thread-safe). Counts loads so tests can check that
 * rows and partitions do not rebuild it.
 *
 * <p>Thread-safe: concurrent first calls for the same key load once; a failed load caches nothing.
 */
public final class TokenizerCache {
    private static final Map<Key, HfTokenizer> CACHE = new ConcurrentHashMap<>();
    private static final AtomicInteger LOADS = new AtomicInteger();

    private TokenizerCache() {}

    /**
     * The shared tokenizer of a {@code model} value ({@code default}, a local directory or a Hadoop
     * URI) with the given options.
     *
     * @throws IllegalArgumentException when the location or its files are missing or invalid
     */
    public static HfTokenizer get(String model, TokenizerOptions options) {
        ModelLocation location = ModelLocation.of(model);
        Objects.requireNonNull(options, "options");
        return CACHE.computeIfAbsent(new Key(location, options), TokenizerCache::load);
    }

    private static HfTokenizer load(Key key) {
        HfTokenizer tokenizer =
                key.location.builtIn() != null
                        ? HfTokenizer.builtIn(key.location.builtIn(), key.options)
                        : HfTokenizer.fromDirectory(
                                key.location.toLocalDirectory(new Configuration()), key.options);
        LOADS.incrementAndGet();
        return tokenizer;
    }

    /** How many tokenizers this JVM has loaded since start (or the last {@link #clear()}). */
    public static int loadCount() {
        return LOADS.get();
    }

    /**
     * Closes and forgets every cached tokenizer and resets the counter. For tests and shutdown
     * only: tokenizers handed out earlier stop working.
     */
    public static synchronized void clear() {
        CACHE.values().forEach(HfTokenizer::close);
        CACHE.clear();
        LOADS.set(0);
    }

    private static final class Key {
        final ModelLocation location;
        final TokenizerOptions options;

        Key(ModelLocation location, TokenizerOptions options) {
            this.location = location;
            this.options = options;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Key
                    && ((Key) o).location.equals(location)
                    && ((Key) o).options.equals(options);
        }

        @Override
        public int hashCode() {
            return 31 * location.hashCode() + options.hashCode();
        }
    }
}
