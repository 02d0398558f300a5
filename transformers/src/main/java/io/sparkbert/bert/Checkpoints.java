package io.sparkbert.bert;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.google.gson.JsonArray;
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
import java.util.TreeMap;
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

    /**
     * A safetensors buffer holding the given entries of {@code src} under new names (map key), data
     * copied as it is, with HF's {@code __metadata__ {"format": "pt"}}.
     */
    static byte[] select(byte[] src, Header h, Map<String, Entry> byNewName) {
        List<Part> parts = new ArrayList<>();
        byNewName.forEach((name, e) -> parts.add(new Part(name, src, h, e)));
        return assemble(parts);
    }

    /**
     * Two safetensors buffers as one (every entry of both; a name in both is refused, naming the
     * files).
     */
    static byte[] concat(byte[] a, String aName, byte[] b, String bName) {
        Header ha = parseHeader(a, aName);
        Header hb = parseHeader(b, bName);
        List<Part> parts = new ArrayList<>();
        for (Entry e : ha.entries.values()) {
            parts.add(new Part(e.key, a, ha, e));
        }
        for (Entry e : hb.entries.values()) {
            if (ha.entries.containsKey(e.key)) {
                throw new IllegalArgumentException(
                        bName + ": tensor " + e.key + " is in " + aName + " too");
            }
            parts.add(new Part(e.key, b, hb, e));
        }
        return assemble(parts);
    }

    private record Part(String name, byte[] src, Header h, Entry e) {}

    private static byte[] assemble(List<Part> parts) {
        JsonObject header = new JsonObject();
        JsonObject meta = new JsonObject();
        meta.addProperty("format", "pt");
        header.add("__metadata__", meta);
        long offset = 0;
        for (Part p : parts) {
            JsonObject o = new JsonObject();
            o.addProperty("dtype", p.e.dtype);
            JsonArray shape = new JsonArray();
            for (long d : p.e.shape) {
                shape.add(d);
            }
            o.add("shape", shape);
            JsonArray off = new JsonArray();
            off.add(offset);
            offset += p.e.end - p.e.begin;
            off.add(offset);
            o.add("data_offsets", off);
            header.add(p.name, o);
        }
        byte[] json = header.toString().getBytes(StandardCharsets.UTF_8);
        int padded = (json.length + 7) / 8 * 8;
        long total = 8L + padded + offset;
        if (total > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException(
                    "safetensors buffer too large to assemble in memory (" + total + " bytes)");
        }
        ByteBuffer out = ByteBuffer.allocate((int) total).order(ByteOrder.LITTLE_ENDIAN);
        out.putLong(padded);
        out.put(json);
        for (int i = json.length; i < padded; i++) {
            out.put((byte) ' ');
        }
        for (Part p : parts) {
            out.put(p.src, (int) (p.h.dataStart + p.e.begin), (int) (p.e.end - p.e.begin));
        }
        return out.array();
    }

    // ---------------------------------------------------------------- loading internals

    private record Source(String name, byte[] bytes) {}

    /** One tensor entry of a safetensors header. */
    record Entry(String key, String dtype, long[] shape, long begin, long end) {}

    /** A parsed safetensors header: tensor entries and where their data starts. */
    record Header(Map<String, Entry> entries, int dataStart) {}

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
        Map<String, Entry> chosen = new LinkedHashMap<>();
        Map<String, Source> fileOf = new LinkedHashMap<>();
        Map<Source, Header> headers = new LinkedHashMap<>();
        for (Source s : sources) {
            Header h = parseHeader(s.bytes, s.name);
            headers.put(s, h);
            for (Entry e : h.entries.values()) {
                String name = normalize(e.key);
                if (ignorable(name)) {
                    continue;
                }
                if (chosen.containsKey(name)) {
                    throw new IllegalArgumentException(
                            s.name
                                    + ": tensor "
                                    + e.key
                                    + " appears twice (as "
                                    + chosen.get(name).key
                                    + " too)");
                }
                chosen.put(name, e);
                fileOf.put(name, s);
            }
        }
        boolean pooler = chosen.containsKey("pooler.dense.weight");
        boolean classifier = chosen.containsKey("classifier.weight");
        String allFiles = sources.size() == 1 ? sources.get(0).name : what;
        Entry words = chosen.get("embeddings.word_embeddings.weight");
        if (words != null && words.shape.length == 2 && words.shape[0] != config.vocabSize()) {
            throw new IllegalArgumentException(
                    fileOf.get("embeddings.word_embeddings.weight").name
                            + ": tensor "
                            + words.key
                            + " has "
                            + words.shape[0]
                            + " rows but config.json says vocab_size="
                            + config.vocabSize()
                            + "; the config and weights belong to different models (or the"
                            + " vocabulary was resized without updating vocab_size).");
        }
        Map<String, Shape> expected = BertModel.expectedShapes(config, pooler, classifier);
        for (Map.Entry<String, Shape> x : expected.entrySet()) {
            Entry e = chosen.get(x.getKey());
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
            if (!new Shape(e.shape).equals(x.getValue())) {
                throw new IllegalArgumentException(
                        fileOf.get(x.getKey()).name
                                + ": tensor "
                                + e.key
                                + " has shape "
                                + new Shape(e.shape)
                                + " but config.json implies "
                                + x.getValue());
            }
            if (!isFloat(e.dtype)) {
                throw new IllegalArgumentException(
                        fileOf.get(x.getKey()).name
                                + ": tensor "
                                + e.key
                                + " has dtype "
                                + e.dtype
                                + "; weights must be F32, F16, BF16 or F64");
            }
        }
        for (String name : chosen.keySet()) {
            if (!expected.containsKey(name)) {
                LOG.warn(
                        "{}: ignoring tensor {} that BERT does not use",
                        what,
                        chosen.get(name).key);
            }
        }
        // 2. Decode each source (rewritten as pure F32 when needed) into the model's manager.
        NDManager manager = BertModel.parameterManager(device);
        try {
            Map<String, NDArray> byName = new LinkedHashMap<>();
            for (Source s : sources) {
                Header h = headers.get(s);
                List<Entry> keep = new ArrayList<>();
                for (Entry e : h.entries.values()) {
                    if (expected.containsKey(normalize(e.key))) {
                        keep.add(e);
                    }
                }
                if (keep.isEmpty()) {
                    continue;
                }
                boolean rewrite = keep.size() != h.entries.size();
                for (Entry e : keep) {
                    rewrite |= !"F32".equals(e.dtype);
                }
                byte[] bytes = rewrite ? toF32(s.bytes, h, keep) : s.bytes;
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

    private static boolean isFloat(String dtype) {
        return "F32".equals(dtype)
                || "F16".equals(dtype)
                || "BF16".equals(dtype)
                || "F64".equals(dtype);
    }

    private static int dtypeSize(String dtype) {
        switch (dtype) {
            case "F64":
            case "I64":
            case "U64":
                return 8;
            case "F32":
            case "I32":
            case "U32":
                return 4;
            case "F16":
            case "BF16":
            case "I16":
            case "U16":
                return 2;
            case "I8":
            case "U8":
            case "BOOL":
                return 1;
            default:
                return -1;
        }
    }

    /** Parses and validates a safetensors header against the buffer length. */
    static Header parseHeader(byte[] bytes, String file) {
        if (bytes.length < 8) {
            throw new IllegalArgumentException(
                    file + " is truncated: " + bytes.length + " bytes, not a safetensors file");
        }
        long n = ByteBuffer.wrap(bytes, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        if (n <= 1 || n > bytes.length - 8L) {
            throw new IllegalArgumentException(
                    file
                            + " is truncated or not a safetensors file: header length "
                            + n
                            + " but the file has "
                            + bytes.length
                            + " bytes");
        }
        int dataStart = (int) (8 + n);
        JsonObject json;
        try {
            json =
                    JsonParser.parseString(new String(bytes, 8, (int) n, StandardCharsets.UTF_8))
                            .getAsJsonObject();
        } catch (JsonParseException | IllegalStateException e) {
            throw new IllegalArgumentException(
                    file + " has a malformed safetensors header: " + e.getMessage(), e);
        }
        long dataLength = bytes.length - (long) dataStart;
        Map<String, Entry> entries = new TreeMap<>();
        for (Map.Entry<String, JsonElement> kv : json.entrySet()) {
            if ("__metadata__".equals(kv.getKey())) {
                continue;
            }
            String key = kv.getKey();
            try {
                JsonObject o = kv.getValue().getAsJsonObject();
                String dtype = o.get("dtype").getAsString();
                JsonArray shapeJson = o.getAsJsonArray("shape");
                JsonArray offsets = o.getAsJsonArray("data_offsets");
                long[] shape = new long[shapeJson.size()];
                long numel = 1;
                for (int i = 0; i < shape.length; i++) {
                    shape[i] = shapeJson.get(i).getAsLong();
                    numel *= shape[i];
                }
                long begin = offsets.get(0).getAsLong();
                long end = offsets.get(1).getAsLong();
                int size = dtypeSize(dtype);
                if (size < 0) {
                    throw new IllegalArgumentException(
                            file
                                    + ": tensor "
                                    + key
                                    + " has unknown dtype "
                                    + dtype
                                    + " (supported: F32, F16, BF16, F64 for weights)");
                }
                if (begin < 0 || end < begin || end - begin != numel * size) {
                    throw new IllegalArgumentException(
                            file
                                    + ": tensor "
                                    + key
                                    + " has data_offsets ["
                                    + begin
                                    + ", "
                                    + end
                                    + "] that do not fit its shape "
                                    + new Shape(shape)
                                    + " and dtype "
                                    + dtype);
                }
                if (end > dataLength) {
                    throw new IllegalArgumentException(
                            file
                                    + " is truncated: tensor "
                                    + key
                                    + " needs data up to byte "
                                    + (dataStart + end)
                                    + " but the file has "
                                    + bytes.length
                                    + " bytes");
                }
                entries.put(key, new Entry(key, dtype, shape, begin, end));
            } catch (NullPointerException | IllegalStateException | ClassCastException e) {
                throw new IllegalArgumentException(
                        file + ": malformed safetensors header entry for tensor " + key, e);
            }
        }
        return new Header(entries, dataStart);
    }

    /** Rewrites the chosen tensors as an all-F32 safetensors buffer. */
    private static byte[] toF32(byte[] src, Header h, List<Entry> keep) {
        JsonObject header = new JsonObject();
        long offset = 0;
        for (Entry e : keep) {
            long numel = (e.end - e.begin) / dtypeSize(e.dtype);
            JsonObject o = new JsonObject();
            o.addProperty("dtype", "F32");
            JsonArray shape = new JsonArray();
            for (long d : e.shape) {
                shape.add(d);
            }
            o.add("shape", shape);
            JsonArray off = new JsonArray();
            off.add(offset);
            off.add(offset + numel * 4);
            o.add("data_offsets", off);
            header.add(e.key, o);
            offset += numel * 4;
        }
        byte[] json = header.toString().getBytes(StandardCharsets.UTF_8);
        int padded = (json.length + 7) / 8 * 8;
        long total = 8L + padded + offset;
        if (total > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException(
                    "checkpoint shard too large to convert in memory (" + total + " bytes)");
        }
        ByteBuffer out = ByteBuffer.allocate((int) total).order(ByteOrder.LITTLE_ENDIAN);
        out.putLong(padded);
        out.put(json);
        for (int i = json.length; i < padded; i++) {
            out.put((byte) ' ');
        }
        ByteBuffer in = ByteBuffer.wrap(src).order(ByteOrder.LITTLE_ENDIAN);
        for (Entry e : keep) {
            int pos = (int) (h.dataStart + e.begin);
            int end = (int) (h.dataStart + e.end);
            switch (e.dtype) {
                case "F32":
                    out.put(src, pos, end - pos);
                    break;
                case "BF16":
                    for (int p = pos; p < end; p += 2) {
                        out.putInt((in.getShort(p) & 0xFFFF) << 16);
                    }
                    break;
                case "F16":
                    for (int p = pos; p < end; p += 2) {
                        out.putFloat(halfToFloat(in.getShort(p)));
                    }
                    break;
                case "F64":
                    for (int p = pos; p < end; p += 8) {
                        out.putFloat((float) in.getDouble(p));
                    }
                    break;
                default:
                    throw new IllegalStateException("unexpected dtype " + e.dtype);
            }
        }
        return out.array();
    }

    /** IEEE 754 binary16 to float32 (exact: every half value is representable). */
    static float halfToFloat(short half) {
        int h = half & 0xFFFF;
        int sign = (h & 0x8000) << 16;
        int exp = (h >>> 10) & 0x1F;
        int mant = h & 0x3FF;
        if (exp == 0x1F) {
            return Float.intBitsToFloat(sign | 0x7F800000 | (mant << 13));
        }
        if (exp == 0) {
            if (mant == 0) {
                return Float.intBitsToFloat(sign);
            }
            float v = mant * 0x1p-24f;
            return sign == 0 ? v : -v;
        }
        return Float.intBitsToFloat(sign | ((exp + 112) << 23) | (mant << 13));
    }
}
