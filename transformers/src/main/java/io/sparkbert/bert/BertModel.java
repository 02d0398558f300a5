package io.sparkbert.bert;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.jni.JniUtils;
import java.nio.file.Path;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A HuggingFace-exact BERT encoder (optionally with pooler and sequence-classification head) whose
 * forward pass is written with DJL NDArray operations.
 *
 * <p>Parameters are float32 NDArrays owned by a manager that belongs to this model, keyed by HF
 * state-dict names without the {@code bert.} prefix ({@code embeddings.word_embeddings.weight},
 * {@code encoder.layer.0.attention.self.query.weight}, ..., {@code pooler.dense.weight}) plus
 * {@code classifier.weight} / {@code classifier.bias} when there is a head.
 *
 * <p>The forward pass follows {@code transformers.BertModel} (eager attention): embeddings = word +
 * position + token type, LayerNorm, dropout; per layer Q/K/V projections, scores scaled by
 * 1/sqrt(head size) plus an additive mask, softmax, dropout, context, output projection, dropout,
 * residual, LayerNorm; feed-forward with erf GELU, dropout, residual, LayerNorm; pooler =
 * tanh(dense(h[:, 0])); logits = classifier(dropout(pooled)). Masked key positions receive {@code
 * -Float.MAX_VALUE} (HF's {@code torch.finfo(float32).min}), so their softmax weight is exactly 0
 * and a fully masked row stays finite (uniform) instead of NaN.
 *
 * <p>Thread-safety: {@link #forward} only reads the parameters and creates every intermediate in a
 * scope that belongs to the call, so several threads may run inference on one model concurrently
 * (PyTorch ops on shared read-only tensors are re-entrant; grad mode is a per-thread setting). A
 * test runs four threads against one model and compares with single-thread results. Training
 * (updating {@link #parameters()} in place) must not overlap with other calls. {@link #close()} is
 * idempotent and must not race with running calls.
 */
public final class BertModel implements AutoCloseable {
    static final String PREFIX = "bert.";

    private final BertConfig config;
    private final Device device;
    private final NDManager manager;
    private final Map<String, NDArray> params;
    private final boolean hasPooler;
    private final boolean hasClassifier;
    private final BertLayers layers;
    private final AtomicBoolean closed = new AtomicBoolean();

    /**
     * Wraps parameters that already live in {@code manager}; the model takes ownership of the
     * manager. Names and shapes must match the config (see {@link #expectedShapes}).
     */
    BertModel(BertConfig config, NDManager manager, Map<String, NDArray> byName, String source) {
        this.config = config;
        this.manager = manager;
        this.device = manager.getDevice();
        this.hasPooler = byName.containsKey("pooler.dense.weight");
        this.hasClassifier = byName.containsKey("classifier.weight");
        this.params =
                Collections.unmodifiableMap(
                        BertWeights.checked(config, byName, hasPooler, hasClassifier, source));
        this.layers = new BertLayers(config, params);
    }

    /**
     * The HF parameter names (without {@code bert.}) and shapes a model of this config has, in
     * state-dict order.
     *
     * @param config the architecture
     * @param pooler whether the pooler is included
     * @param classifier whether the classification head is included
     * @return name to shape, ordered
     */
    public static Map<String, Shape> expectedShapes(
            BertConfig config, boolean pooler, boolean classifier) {
        return BertWeights.expectedShapes(config, pooler, classifier);
    }

    // ---------------------------------------------------------------- factories

    /**
     * Loads a HuggingFace checkpoint directory; see {@link Checkpoints#load(Path, Device)}.
     *
     * @param dir the directory with config.json and model.safetensors (or a sharded index)
     * @param device where the parameters live
     * @return the model
     */
    public static BertModel load(Path dir, Device device) {
        return Checkpoints.load(dir, device);
    }

    /**
     * The default built-in encoder ({@link BuiltInModel#defaultModel()}; no pooler, no head), read
     * from the ONNX file in the langchain4j jar. The parsed weights are cached per JVM, so later
     * calls only copy them to the device.
     *
     * @param device where the parameters live
     * @return the model
     */
    public static BertModel builtIn(Device device) {
        return builtIn(BuiltInModel.defaultModel(), device);
    }

    /**
     * A built-in encoder (no pooler, no head) read from the ONNX file in its jar, architecture
     * derived from the graph. Parsed weights are cached per JVM.
     *
     * @param which the encoder
     * @param device where the parameters live
     * @throws IllegalStateException naming the Maven coordinate when its jar is not on the
     *     classpath
     */
    public static BertModel builtIn(BuiltInModel which, Device device) {
        return OnnxWeights.builtInModel(which, device);
    }

    /**
     * Rebuilds a model from {@link #toSafetensorsBytes()} output, e.g. on a Spark executor.
     *
     * @param config the architecture (the one of the model that produced the bytes)
     * @param safetensors the safetensors bytes
     * @param device where the parameters live
     * @return the model
     */
    public static BertModel fromBytes(BertConfig config, byte[] safetensors, Device device) {
        return Checkpoints.fromBytes(config, safetensors, device, "<safetensors bytes>");
    }

    /**
     * A freshly initialised model as HF {@code _init_weights} does it: linear and embedding weights
     * normal(0, initializer_range), biases 0, LayerNorm weight 1 and bias 0; the row of {@code
     * pad_token_id} (default 0) in the word embeddings is zero. Drawn from {@code new
     * Random(seed)}, so equal seeds give equal models.
     *
     * @param config the architecture
     * @param withPooler whether to create the pooler
     * @param withClassifier whether to create the classification head (needs the pooler)
     * @param seed the random seed
     * @param device where the parameters live
     * @return the model
     */
    public static BertModel initialize(
            BertConfig config,
            boolean withPooler,
            boolean withClassifier,
            long seed,
            Device device) {
        return BertWeights.initialize(config, withPooler, withClassifier, seed, device);
    }

    /**
     * A copy of this model with a new, randomly initialised classification head of {@code
     * numLabels} classes (labels {@code LABEL_i}); a missing pooler is initialised too. Init as
     * {@link #initialize}, from {@code new Random(seed)}. This model is unchanged.
     *
     * @param numLabels number of classes, at least 1
     * @param seed random seed
     * @return the new model (close it separately)
     */
    public BertModel withFreshClassifier(int numLabels, long seed) {
        return withFreshClassifier(config.withNumLabels(numLabels).labels(), seed);
    }

    /**
     * Like {@link #withFreshClassifier(int, long)} with named labels.
     *
     * @param labels class names by id
     * @param seed random seed
     * @return the new model
     */
    public BertModel withFreshClassifier(List<String> labels, long seed) {
        checkOpen();
        return BertWeights.withFreshClassifier(this, labels, seed);
    }

    // ---------------------------------------------------------------- forward

    /**
     * The forward pass. Every array it creates lives in {@code scope} (inputs from another manager
     * are copied into it first). With {@code training=false} dropout is off and, on PyTorch,
     * autograd recording is switched off for the calling thread during the call. With {@code
     * training=true} dropout draws from PyTorch's global generator: seed it with {@code
     * Engine.getInstance().setRandomSeed(seed)} for repeatable runs.
     *
     * <p>Shapes and the sequence length are checked here; token values are not (that would cost a
     * device sync per batch): an id outside the vocabulary surfaces as the engine's index error.
     *
     * @param scope the manager that receives all results and intermediates
     * @param inputIds [batch, seq] int64 (or int32) token ids
     * @param tokenTypeIds [batch, seq] segment ids, or null for all zeros
     * @param attentionMask [batch, seq] 1 for real tokens, 0 for padding, or null for all ones
     * @param training whether dropout is active
     * @return last hidden state, pooled output (null without pooler), logits (null without head)
     */
    public BertOutputs forward(
            NDManager scope,
            NDArray inputIds,
            NDArray tokenTypeIds,
            NDArray attentionMask,
            boolean training) {
        checkOpen();
        boolean pytorch = "PyTorch".equals(Engine.getInstance().getEngineName());
        boolean restoreGrad = false;
        if (!training && pytorch && JniUtils.isGradMode()) {
            JniUtils.setGradMode(false);
            restoreGrad = true;
        }
        try {
            NDArray hidden = layers.encode(scope, inputIds, tokenTypeIds, attentionMask, training);
            NDArray pooled = null;
            NDArray logits = null;
            if (hasPooler) {
                pooled = pool(hidden);
                if (hasClassifier) {
                    logits = classify(pooled, training);
                }
            }
            return new BertOutputs(hidden, pooled, logits);
        } finally {
            if (restoreGrad) {
                JniUtils.setGradMode(true);
            }
        }
    }

    /**
     * The HF pooler: tanh(dense(h[:, 0])).
     *
     * @param lastHiddenState [batch, seq, hidden]
     * @return [batch, hidden], in the manager of {@code lastHiddenState}
     */
    public NDArray pool(NDArray lastHiddenState) {
        if (!hasPooler) {
            throw new IllegalStateException(
                    "this model has no pooler; use withFreshClassifier(...) or pool with"
                            + " Pooling.MEAN / CLS instead");
        }
        return layers.linear(lastHiddenState.get(":, 0, :"), "pooler.dense").tanh();
    }

    /**
     * The classification head: linear(dropout(features)), dropout rate {@code classifier_dropout}.
     *
     * @param features [batch, hidden] (pooled output, or a mean-pooled vector)
     * @param training whether dropout is active
     * @return [batch, numLabels] logits, in the manager of {@code features}
     */
    public NDArray classify(NDArray features, boolean training) {
        if (!hasClassifier) {
            throw new IllegalStateException(
                    "this model has no classification head; use withFreshClassifier(numLabels,"
                            + " seed)");
        }
        return layers.linear(
                BertLayers.dropout(features, config.classifierDropout(), training), "classifier");
    }

    /**
     * Reduces token vectors to sentence vectors.
     *
     * @param lastHiddenState [batch, seq, hidden]
     * @param attentionMask [batch, seq] (used by MEAN; null = all ones)
     * @param pooling CLS or MEAN (mask-weighted mean)
     * @return [batch, hidden], in the manager of {@code lastHiddenState}
     */
    public static NDArray sentenceVectors(
            NDArray lastHiddenState, NDArray attentionMask, Pooling pooling) {
        if (pooling == Pooling.CLS || attentionMask == null && pooling == Pooling.MEAN) {
            return pooling == Pooling.CLS
                    ? lastHiddenState.get(":, 0, :")
                    : lastHiddenState.mean(new int[] {1});
        }
        NDArray m =
                BertLayers.inScope(lastHiddenState.getManager(), attentionMask)
                        .toType(DataType.FLOAT32, false)
                        .expandDims(2);
        NDArray sum = lastHiddenState.mul(m).sum(new int[] {1});
        NDArray count = m.sum(new int[] {1}).clip(1e-9f, Float.MAX_VALUE);
        return sum.div(count);
    }

    /**
     * L2-normalises rows (as {@code torch.nn.functional.normalize}, eps 1e-12).
     *
     * @param vectors [batch, dim]
     * @return the normalised vectors, in the same manager
     */
    public static NDArray l2Normalize(NDArray vectors) {
        return vectors.div(vectors.norm(new int[] {1}, true).clip(1e-12f, Float.MAX_VALUE));
    }

    /**
     * The manager a new model's parameters live in; first makes sure MKL's fast kernels are in
     * place ({@link MklDispatch}), since every model is built through here before its first GEMM.
     */
    static NDManager parameterManager(Device device) {
        MklDispatch.install();
        return NDManager.newBaseManager(device);
    }

    // ---------------------------------------------------------------- accessors

    /**
     * The parameters by HF name (without {@code bert.}), in state-dict order. The map is
     * unmodifiable; the arrays are the model's own (a trainer may {@code setRequiresGradient(true)}
     * and update them in place). Do not close them.
     *
     * @return the parameters
     */
    public Map<String, NDArray> parameters() {
        checkOpen();
        return params;
    }

    /** Returns the architecture. */
    public BertConfig config() {
        return config;
    }

    /** Returns the device the parameters live on. */
    public Device device() {
        return device;
    }

    /** Returns whether the pooler weights are present. */
    public boolean hasPooler() {
        return hasPooler;
    }

    /** Returns whether the classification head is present. */
    public boolean hasClassifier() {
        return hasClassifier;
    }

    /** Returns the number of classifier outputs (0 without a head). */
    public int numLabels() {
        return hasClassifier ? config.numLabels() : 0;
    }

    /** Returns the number of scalar parameters. */
    public long parameterCount() {
        long n = 0;
        for (NDArray a : params.values()) {
            n += a.getShape().size();
        }
        return n;
    }

    /**
     * Writes config.json and model.safetensors in HF layout; see {@link Checkpoints#save}.
     *
     * @param dir target directory (created if needed)
     */
    public void save(Path dir) {
        Checkpoints.save(this, dir);
    }

    /**
     * The parameters as a safetensors buffer (HF key names), for shipping to executors.
     *
     * @return the bytes
     */
    public byte[] toSafetensorsBytes() {
        return Checkpoints.toSafetensorsBytes(this);
    }

    /** Whether {@link #close()} has been called. */
    public boolean isClosed() {
        return closed.get();
    }

    /** Frees the parameters. Idempotent. */
    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            manager.close();
        }
    }

    @Override
    public String toString() {
        return "BertModel("
                + config
                + ", pooler="
                + hasPooler
                + ", classifier="
                + hasClassifier
                + ", device="
                + device
                + ")";
    }

    // ---------------------------------------------------------------- internals

    private void checkOpen() {
        if (closed.get()) {
            throw new IllegalStateException("BertModel is closed");
        }
    }

    /**
     * A 0-d float tensor whose memory libtorch owns. Never multiply a tensor that autograd tracks
     * by a Java number through DJL ({@code x.mul(0.125f)}): DJL wraps the number in a tensor over a
     * Java direct buffer and closes it right after the call, but autograd keeps that tensor for the
     * backward pass; once a garbage collection frees the buffer, backward reads freed memory and
     * the gradients become garbage (seen as rare steps with gradient norms of 1e9 to 1e27 and NaN
     * while the loss was normal). A clone lives in libtorch's memory and is kept alive by
     * autograd's own reference.
     */
    public static NDArray ownedScalar(NDManager scope, float value) {
        try (NDArray javaBacked = scope.create(value)) {
            return javaBacked.duplicate();
        }
    }

    NDManager manager() {
        return manager;
    }
}
