package io.sparkbert.bert;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads and writes BERT checkpoints in HuggingFace layout ({@code config.json} + {@code
 * model.safetensors}, or a sharded {@code model.safetensors.index.json}).
 *
 * <p>Safetensors headers are checked in Java before DJL decodes the tensor data: every tensor's
 * dtype, shape and byte range is validated against the file and the config, and BF16 / F16 / F64
 * tensors are converted to float32 in Java (a BF16 tensor reaching the PyTorch engine aborts the
 * JVM). Keys may carry the {@code bert.} prefix or not; the legacy LayerNorm names {@code gamma} /
 * {@code beta} read as {@code weight} / {@code bias}; the pre-training heads ({@code cls.*}) and
 * the {@code position_ids} buffer are ignored. A {@value HfExport#HEAD} beside the weights (a mean-
 * or cls-pooled classifier, see {@link HfExport}) is read too. {@code pytorch_model.bin} files are
 * never unpickled. Stateless and thread-safe; {@link #save} must not overlap with training updates
 * of the same model.
 */
public final class Checkpoints {
    private static final Logger LOG = LoggerFactory.getLogger(Checkpoints.class);
    static final String CONFIG = "config.json";
    static final String WEIGHTS = "model.safetensors";
    static final String INDEX = "model.safetensors.index.json";

    private Checkpoints() {}

    /**
     * Loads a checkpoint directory. A checkpoint without {@code classifier.*} tensors loads as an
     * encoder (no head); without {@code pooler.*} it has no pooler.
     *
     * @param dir the directory
     * @param device where the parameters live
     * @return the model
     * @throws IllegalArgumentException naming the file and tensor for anything unusable
     */
    public static BertModel load(Path dir, Device device) {
        if (dir == null || !Files.isDirectory(dir)) {
            throw new IllegalArgumentException(
                    "BERT checkpoint directory " + dir + " does not exist or is not a directory");
        }
        Path configFile = dir.resolve(CONFIG);
        if (!Files.isRegularFile(configFile)) {
            throw new IllegalArgumentException(
                    "BERT checkpoint "
                            + dir
                            + " has no "
                            + CONFIG
                            + " (HF save_pretrained layout)");
        }
        BertConfig config = BertConfig.load(configFile);
        HfExport.warnIfMisleading(config.rawJson(), dir.toString());
        List<Path> shards = new ArrayList<>();
        Path single = dir.resolve(WEIGHTS);
        Path index = dir.resolve(INDEX);
        if (Files.isRegularFile(single)) {
            shards.add(single);
        } else if (Files.isRegularFile(index)) {
            shards.addAll(shardsOf(index));
        } else if (Files.exists(dir.resolve("pytorch_model.bin"))
                || Files.exists(dir.resolve("pytorch_model.bin.index.json"))) {
            throw new IllegalArgumentException(
                    "BERT checkpoint "
                            + dir
                            + " has only pytorch_model.bin (a pickle, which spark-bert never"
                            + " loads). Convert it to safetensors, e.g. in Python:"
                            + " AutoModel.from_pretrained(dir).save_pretrained(dir,"
                            + " safe_serialization=True), then retry.");
        } else {
            throw new IllegalArgumentException(
                    "BERT checkpoint " + dir + " has no " + WEIGHTS + " and no " + INDEX);
        }
        // A mean- or cls-pooled classifier keeps its head beside an encoder-only model (HfExport).
        Path head = dir.resolve(HfExport.HEAD);
        if (Files.isRegularFile(head)) {
            shards.add(head);
        }
        List<Source> sources = new ArrayList<>();
        for (Path shard : shards) {
            byte[] bytes;
            try {
                bytes = Files.readAllBytes(shard);
            } catch (IOException e) {
                throw new IllegalArgumentException(
                        "Cannot read " + shard + ": " + e.getMessage(), e);
            }
            sources.add(new Source(shard.toString(), bytes));
        }
        return build(config, sources, device, dir.toString());
    }

    /**
     * Whether a checkpoint directory holds a classification head ({@code classifier.weight}), from
     * the safetensors header or the shard index alone, without reading any tensor data. An HF
     * {@code config.json} names classes ({@code id2label}, by default {@code LABEL_0/LABEL_1})
     * whether or not the weights have a head, so only the weights can tell.
     *
     * @param dir a checkpoint directory
     * @return false also when the directory has no safetensors weights
     * @throws IllegalArgumentException when the header or index cannot be read
     */
    public static boolean hasClassifierHead(Path dir) {
        String head = "classifier.weight";
        Path index = dir.resolve(INDEX);
        Path single = dir.resolve(WEIGHTS);
        if (Files.isRegularFile(dir.resolve(HfExport.HEAD))) {
            single = dir.resolve(HfExport.HEAD);
        }
        try {
            if (Files.isRegularFile(single)) {
                try (FileChannel ch = FileChannel.open(single)) {
                    ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
                    readFully(ch, len);
                    long n = len.flip().getLong();
                    if (n <= 1 || n > Math.min(ch.size() - 8, 100L << 20)) {
                        throw new IllegalArgumentException(
                                single + " is truncated or not a safetensors file");
                    }
                    ByteBuffer json = ByteBuffer.allocate((int) n);
                    readFully(ch, json);
                    JsonObject header =
                            JsonParser.parseString(new String(json.array(), StandardCharsets.UTF_8))
                                    .getAsJsonObject();
                    return header.keySet().stream().anyMatch(k -> normalize(k).equals(head));
                }
            }
            if (Files.isRegularFile(index)) {
                JsonElement map =
                        JsonParser.parseString(Files.readString(index))
                                .getAsJsonObject()
                                .get("weight_map");
                return map != null
                        && map.isJsonObject()
                        && map.getAsJsonObject().keySet().stream()
                                .anyMatch(k -> normalize(k).equals(head));
            }
            return false;
        } catch (IOException | JsonParseException | IllegalStateException e) {
            throw new IllegalArgumentException(
                    "Cannot read the tensor names of " + dir + ": " + e.getMessage(), e);
        }
    }

    private static void readFully(FileChannel ch, ByteBuffer buffer) throws IOException {
        while (buffer.hasRemaining()) {
            if (ch.read(buffer) < 0) {
                throw new IOException("the file ends early");
            }
        }
    }

    /**
     * Rebuilds a model from a safetensors buffer (keys with or without {@code bert.}).
     *
     * @param config the architecture
     * @param safetensors the bytes
     * @param device where the parameters live
     * @param sourceName used in error messages
     * @return the model
     */
    public static BertModel fromBytes(
            BertConfig config, byte[] safetensors, Device device, String sourceName) {
        if (config == null || safetensors == null) {
            throw new IllegalArgumentException("config and safetensors bytes are required");
        }
        return build(config, List.of(new Source(sourceName, safetensors)), device, sourceName);
    }

    /**
     * Writes {@code config.json} and {@code model.safetensors} into {@code dir} (created if
     * missing; existing files of those names are replaced). A model with a classification head is
     * written as HF {@code BertForSequenceClassification} ({@code bert.}-prefixed encoder keys,
     * unprefixed {@code classifier.*}); an encoder is written as HF {@code BertModel} (no prefix).
     * The tokenizer is not written here.
     *
     * @param model the model
     * @param dir target directory
     */
    public static void save(BertModel model, Path dir) {
        try {
            Files.createDirectories(dir);
            Files.writeString(
                    dir.resolve(CONFIG),
                    model.config().toJson(model.hasClassifier()),
                    StandardCharsets.UTF_8);
            try (OutputStream os = Files.newOutputStream(dir.resolve(WEIGHTS))) {
                encode(model, os);
            }
        } catch (IOException e) {
            throw new IllegalArgumentException(
                    "Cannot write BERT checkpoint to " + dir + ": " + e.getMessage(), e);
        }
    }

    /**
     * The model's parameters as one safetensors buffer with the key names {@link #save} uses.
     *
     * @param model the model
     * @return the bytes
     */
    public static byte[] toSafetensorsBytes(BertModel model) {
        ByteArrayOutputStream bos = new ByteArrayOutputStream();
        try {
            encode(model, bos);
        } catch (IOException e) {
            throw new IllegalStateException("in-memory safetensors encoding failed", e);
        }
        return bos.toByteArray();
    }

    /** The HF key a parameter is saved under. */
    static String savedName(String name, boolean withClassifier) {
        return withClassifier && !name.startsWith("classifier.") ? BertModel.PREFIX + name : name;
    }

    private static void encode(BertModel model, OutputStream os) throws IOException {
        Map<String, NDArray> params = model.parameters();
        // DJL names safetensors entries after NDArray names; rename for the write, then restore.
        synchronized (model) {
            NDList list = new NDList(params.size());
            try {
                for (Map.Entry<String, NDArray> e : params.entrySet()) {
                    e.getValue().setName(savedName(e.getKey(), model.hasClassifier()));
                    list.add(e.getValue());
                }
                list.encode(os, NDList.Encoding.SAFETENSORS);
            } finally {
                for (Map.Entry<String, NDArray> e : params.entrySet()) {
                    e.getValue().setName(e.getKey());
                }
            }
        }
    }

    // ---------------------------------------------------------------- loading internals

    private record Source(String name, byte[] bytes) {}

    private static List<Path> shardsOf(Path index) {
        JsonObject root;
        try {
            root = JsonParser.parseString(Files.readString(index)).getAsJsonObject();
        } catch (IOException | JsonParseException | IllegalStateException e) {
            throw new IllegalArgumentException(
                    "Cannot read sharded checkpoint index " + index + ": " + e.getMessage(), e);
        }
        JsonElement map = root.get("weight_map");
        if (map == null || !map.isJsonObject()) {
            throw new IllegalArgumentException(
                    "Sharded checkpoint index " + index + " has no \"weight_map\" object");
        }
        List<Path> files = new ArrayList<>();
        for (Map.Entry<String, JsonElement> e : map.getAsJsonObject().entrySet()) {
            Path shard = index.resolveSibling(e.getValue().getAsString()).normalize();
            if (!shard.startsWith(index.getParent().normalize())) {
                throw new IllegalArgumentException(
                        index + ": shard " + e.getValue() + " lies outside the checkpoint dir");
            }
            if (!files.contains(shard)) {
                if (!Files.isRegularFile(shard)) {
                    throw new IllegalArgumentException(
                            index
                                    + " maps tensor "
                                    + e.getKey()
                                    + " to "
                                    + shard
                                    + ", which does not exist");
                }
                files.add(shard);
            }
        }
        return files;
    }

    private static BertModel build(
            BertConfig config, List<Source> sources, Device device, String what) {
        // 1. Validate every header and pick the tensors the model needs.
        Map<String, SafetensorsBytes.Entry> chosen = new LinkedHashMap<>();
        Map<String, Source> fileOf = new LinkedHashMap<>();
        Map<Source, SafetensorsBytes.Header> headers = new LinkedHashMap<>();
        for (Source s : sources) {
            SafetensorsBytes.Header h = SafetensorsBytes.parseHeader(s.bytes, s.name);
            headers.put(s, h);
            for (SafetensorsBytes.Entry e : h.entries().values()) {
                String name = normalize(e.key());
                if (ignorable(name)) {
                    continue;
                }
                if (chosen.containsKey(name)) {
                    throw new IllegalArgumentException(
                            s.name
                                    + ": tensor "
                                    + e.key()
                                    + " appears twice (as "
                                    + chosen.get(name).key()
                                    + " too)");
                }
                chosen.put(name, e);
                fileOf.put(name, s);
            }
        }
        boolean pooler = chosen.containsKey("pooler.dense.weight");
        boolean classifier = chosen.containsKey("classifier.weight");
        String allFiles = sources.size() == 1 ? sources.get(0).name : what;
        SafetensorsBytes.Entry words = chosen.get("embeddings.word_embeddings.weight");
        if (words != null && words.shape().length == 2 && words.shape()[0] != config.vocabSize()) {
            throw new IllegalArgumentException(
                    fileOf.get("embeddings.word_embeddings.weight").name
                            + ": tensor "
                            + words.key()
                            + " has "
                            + words.shape()[0]
                            + " rows but config.json says vocab_size="
                            + config.vocabSize()
                            + "; the config and weights belong to different models (or the"
                            + " vocabulary was resized without updating vocab_size).");
        }
        Map<String, Shape> expected = BertModel.expectedShapes(config, pooler, classifier);
        for (Map.Entry<String, Shape> x : expected.entrySet()) {
            SafetensorsBytes.Entry e = chosen.get(x.getKey());
            if (e == null) {
                throw new IllegalArgumentException(
                        allFiles
                                + ": missing tensor "
                                + x.getKey()
                                + " (or bert."
                                + x.getKey()
                                + "), expected shape "
                                + x.getValue());
            }
            if (!new Shape(e.shape()).equals(x.getValue())) {
                throw new IllegalArgumentException(
                        fileOf.get(x.getKey()).name
                                + ": tensor "
                                + e.key()
                                + " has shape "
                                + new Shape(e.shape())
                                + " but config.json implies "
                                + x.getValue());
            }
            if (!SafetensorsBytes.isFloat(e.dtype())) {
                throw new IllegalArgumentException(
                        fileOf.get(x.getKey()).name
                                + ": tensor "
                                + e.key()
                                + " has dtype "
                                + e.dtype()
                                + "; weights must be F32, F16, BF16 or F64");
            }
        }
        for (String name : chosen.keySet()) {
            if (!expected.containsKey(name)) {
                LOG.warn(
                        "{}: ignoring tensor {} that BERT does not use",
                        what,
                        chosen.get(name).key());
            }
        }
        // 2. Decode each source (rewritten as pure F32 when needed) into the model's manager.
        NDManager manager = BertModel.parameterManager(device);
        try {
            Map<String, NDArray> byName = new LinkedHashMap<>();
            for (Source s : sources) {
                SafetensorsBytes.Header h = headers.get(s);
                List<SafetensorsBytes.Entry> keep = new ArrayList<>();
                for (SafetensorsBytes.Entry e : h.entries().values()) {
                    if (expected.containsKey(normalize(e.key()))) {
                        keep.add(e);
                    }
                }
                if (keep.isEmpty()) {
                    continue;
                }
                boolean rewrite = keep.size() != h.entries().size();
                for (SafetensorsBytes.Entry e : keep) {
                    rewrite |= !"F32".equals(e.dtype());
                }
                byte[] bytes = rewrite ? SafetensorsBytes.toF32(s.bytes, h, keep) : s.bytes;
                NDList list = NDList.decode(manager, new ByteArrayInputStream(bytes));
                for (NDArray a : list) {
                    byName.put(normalize(a.getName()), a);
                }
            }
            return new BertModel(config, manager, byName, allFiles);
        } catch (RuntimeException e) {
            manager.close();
            throw e;
        }
    }

    /**
     * The engine's name for a checkpoint key: without the {@code bert.} prefix, and with the legacy
     * LayerNorm names of the original TensorFlow conversions ({@code LayerNorm.gamma} / {@code
     * LayerNorm.beta}, still in e.g. bert-base-uncased's model.safetensors) read as HF reads them,
     * {@code LayerNorm.weight} / {@code LayerNorm.bias}. A file holding both spellings of one
     * tensor is refused by the caller ("appears twice").
     */
    static String normalize(String key) {
        String k =
                key.startsWith(BertModel.PREFIX) ? key.substring(BertModel.PREFIX.length()) : key;
        if (k.endsWith(".LayerNorm.gamma")) {
            return k.substring(0, k.length() - "gamma".length()) + "weight";
        }
        if (k.endsWith(".LayerNorm.beta")) {
            return k.substring(0, k.length() - "beta".length()) + "bias";
        }
        return k;
    }

    private static boolean ignorable(String name) {
        // Buffers saved by older transformers versions, and the pre-training heads.
        return name.endsWith("position_ids") || name.startsWith("cls.");
    }
}
