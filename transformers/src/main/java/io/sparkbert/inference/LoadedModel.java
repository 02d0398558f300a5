package io.sparkbert.inference;

import io.sparkbert.bert.BertConfig;
import io.sparkbert.bert.BertModel;
import io.sparkbert.bert.Devices;
import io.sparkbert.bert.HfTokenizer;
import io.sparkbert.bert.TokenizerOptions;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A model and its tokenizer as loaded in one JVM on one device, owned by {@link ModelCache}.
 *
 * <p>Tokenizers for different options (maxLength, truncation, special tokens) are built on demand
 * from the one tokenizer.json text and kept for the life of the model.
 *
 * <p>Thread-safe: the model supports concurrent inference (see {@link BertModel}), tokenizers are
 * thread-safe, and the per-options map is concurrent. {@link #close()} is idempotent and must not
 * race with running calls.
 */
public final class LoadedModel implements AutoCloseable {
    private final String key;
    private final BertModel model;
    private final String tokenizerJson;
    private final Map<TokenizerOptions, HfTokenizer> tokenizers = new ConcurrentHashMap<>();
    private final long loadNanos;
    private final long paramBytes;

    private LoadedModel(String key, BertModel model, HfTokenizer base, long loadNanos) {
        this.key = key;
        this.model = model;
        this.tokenizerJson = base.toJson();
        this.tokenizers.put(base.options(), base);
        this.loadNanos = loadNanos;
        this.paramBytes = model.parameterCount() * Float.BYTES;
    }

    /**
     * Loads a model and tokenizer from a source onto a device (no caching; see {@link
     * ModelCache#get}).
     *
     * @param source where the model comes from
     * @param deviceSpec {@code cpu}, {@code gpu:N}, ... as {@link Devices#resolve} reads it
     */
    static LoadedModel load(ModelSource source, String deviceSpec) {
        long start = System.nanoTime();
        ai.djl.Device device = Devices.resolve(deviceSpec);
        TokenizerOptions defaults = TokenizerOptions.defaults();
        BertModel model = null;
        HfTokenizer tokenizer = null;
        try {
            if (source.builtIn() != null) {
                model = BertModel.builtIn(source.builtIn(), device);
                tokenizer = HfTokenizer.builtIn(source.builtIn(), defaults);
            } else if (source.locationOrNull() != null) {
                Path dir = source.localDirectory();
                model = BertModel.load(dir, device);
                tokenizer = HfTokenizer.fromDirectory(dir, defaults);
            } else {
                ModelBytes bytes = source.bytes();
                BertConfig config = BertConfig.parse(bytes.configJson(), source.key());
                model = BertModel.fromBytes(config, bytes.safetensors(), device);
                tokenizer = HfTokenizer.fromJson(bytes.tokenizerJson(), defaults);
            }
            return new LoadedModel(source.key(), model, tokenizer, System.nanoTime() - start);
        } catch (RuntimeException e) {
            if (model != null) {
                model.close();
            }
            if (tokenizer != null) {
                tokenizer.close();
            }
            throw e;
        }
    }

    /** The cache key of the source this model came from. */
    public String key() {
        return key;
    }

    /** The model. Do not close it: the cache owns it. */
    public BertModel model() {
        return model;
    }

    /**
     * The tokenizer for some options, built once per options value.
     *
     * @param options truncation, maxLength (capped by the model maximum), special tokens
     */
    public HfTokenizer tokenizer(TokenizerOptions options) {
        return tokenizers.computeIfAbsent(options, o -> HfTokenizer.fromJson(tokenizerJson, o));
    }

    /** How long loading took, in nanoseconds. */
    public long loadNanos() {
        return loadNanos;
    }

    /** The size of the parameters in bytes (float32), i.e. the memory of one model copy. */
    public long parameterBytes() {
        return paramBytes;
    }

    /** Closes the model and every tokenizer; idempotent. */
    @Override
    public void close() {
        model.close();
        tokenizers.values().forEach(HfTokenizer::close);
    }
}
