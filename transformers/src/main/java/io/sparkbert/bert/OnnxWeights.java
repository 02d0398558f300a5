package io.sparkbert.bert;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Reads BERT weights out of an ONNX export with a minimal protobuf wire-format reader (no ONNX
 * Runtime, no protobuf library), and provides the built-in encoders ({@link BuiltInModel}).
 *
 * <p>Only what is needed is decoded: {@code ModelProto.graph} (7), {@code GraphProto.node} (1) and
 * {@code initializer} (5), {@code TensorProto} dims (1), data_type (2), float_data (4), name (8),
 * raw_data (9), and {@code NodeProto} input (1), output (2), name (3), op_type (4) and the tensor
 * of a {@code Constant} node's attribute (5). Linear weights that the exporter renamed {@code
 * onnx::MatMul_N} are stored as [in, out]; the name of the MatMul node that consumes them gives the
 * HF name and they are transposed to HF's [out, in].
 *
 * <p>The architecture is read from the graph ({@link #configOf}): sizes from the initializers'
 * shapes, the head count from the attention score divisor (sqrt of the head size) and the LayerNorm
 * epsilon from the constant the exporter adds to the variance.
 *
 * <p>Thread-safe: the parsed weights of each built-in are cached once per JVM.
 */
final class OnnxWeights {
    static final String BUILT_IN_ONNX = BuiltInModel.MINILM_L6_V2.onnxResource();
    static final String BUILT_IN_TOKENIZER = BuiltInModel.MINILM_L6_V2.tokenizerResource();
    private static final int FLOAT = 1;
    private static final String SCORE_DIV = "/encoder/layer.0/attention/self/Div";
    private static final String EPS_ADD = "/embeddings/LayerNorm/Add";

    private OnnxWeights() {}

    /** A float32 tensor held in Java memory. */
    record Tensor(long[] shape, float[] data) {}

    /**
     * What {@link #read} found: float tensors under HF names, the graph's initializer and node
     * counts, and for Add and Div nodes the scalar float constant they take (node name to value).
     */
    record Parsed(
            Map<String, Tensor> tensors,
            int initializers,
            int nodes,
            Map<String, Float> scalarOperands) {}

    /** A built-in's config (derived from its graph) and weights (HF names, no prefix). */
    record Loaded(BertConfig config, Map<String, Tensor> weights) {}

    private static final Map<BuiltInModel, Loaded> CACHE = new ConcurrentHashMap<>();

    /** A built-in's config and weights, parsed on first use and cached for the JVM. */
    static Loaded builtIn(BuiltInModel which) {
        return CACHE.computeIfAbsent(which, OnnxWeights::parseBuiltIn);
    }

    static BertModel builtInModel(BuiltInModel which, Device device) {
        Loaded loaded = builtIn(which);
        NDManager manager = BertModel.parameterManager(device);
        try {
            Map<String, NDArray> arrays = new LinkedHashMap<>();
            for (Map.Entry<String, Tensor> e : loaded.weights().entrySet()) {
                Tensor t = e.getValue();
                arrays.put(
                        e.getKey(), manager.create(FloatBuffer.wrap(t.data), new Shape(t.shape)));
            }
            return new BertModel(loaded.config(), manager, arrays, "built-in " + which.hfName());
        } catch (RuntimeException e) {
            manager.close();
            throw e;
        }
    }

    private static Loaded parseBuiltIn(BuiltInModel which) {
        which.requirePresent();
        String file = which.onnxResource();
        byte[] bytes;
        try (InputStream in = OnnxWeights.class.getResourceAsStream(file)) {
            bytes = in.readAllBytes();
        } catch (IOException e) {
            throw new IllegalStateException("Cannot read " + file, e);
        }
        Parsed parsed = read(bytes, file);
        BertConfig config =
                configOf(parsed, file)
                        .with("pad_token_id", 0)
                        .with("_name_or_path", which.hfName());
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (Map.Entry<String, Shape> e :
                BertModel.expectedShapes(config, false, false).entrySet()) {
            Tensor t = parsed.tensors().get(e.getKey());
            if (t == null || !new Shape(t.shape).equals(e.getValue())) {
                throw new IllegalStateException(
                        file
                                + ": tensor "
                                + e.getKey()
                                + (t == null ? " is missing" : " has shape " + new Shape(t.shape)));
            }
            out.put(e.getKey(), t);
        }
        return new Loaded(config, out);
    }

    /**
     * The BERT architecture of a parsed graph: hidden size, vocabulary, positions and token types
     * from the embedding shapes; layers by counting {@code encoder.layer.N}; intermediate size from
     * layer 0; heads from the attention divisor sqrt(head size); LayerNorm epsilon from the
     * embeddings LayerNorm.
     *
     * @throws IllegalStateException when the graph lacks one of these
     */
    static BertConfig configOf(Parsed p, String file) {
        long[] word = shape(p, "embeddings.word_embeddings.weight", file);
        long[] pos = shape(p, "embeddings.position_embeddings.weight", file);
        long[] types = shape(p, "embeddings.token_type_embeddings.weight", file);
        long[] inter = shape(p, "encoder.layer.0.intermediate.dense.bias", file);
        int layers = 0;
        while (p.tensors().containsKey("encoder.layer." + layers + ".attention.self.query.bias")) {
            layers++;
        }
        Float div = p.scalarOperands().get(SCORE_DIV);
        Float eps = p.scalarOperands().get(EPS_ADD);
        if (div == null || eps == null) {
            throw new IllegalStateException(
                    file
                            + ": cannot read the "
                            + (div == null ? "attention divisor (node " + SCORE_DIV : "LayerNorm")
                            + (div == null ? ")" : " epsilon (node " + EPS_ADD + ")")
                            + "; not a BERT export this reader knows");
        }
        int hidden = (int) word[1];
        int headSize = Math.round(div * div);
        if (headSize < 1 || hidden % headSize != 0) {
            throw new IllegalStateException(
                    file + ": attention divisor " + div + " does not fit hidden size " + hidden);
        }
        // The graph holds epsilon as float32; its shortest decimal form is the config value.
        double epsilon = Double.parseDouble(Float.toString(eps));
        return BertConfig.of(
                hidden,
                layers,
                hidden / headSize,
                (int) inter[0],
                (int) pos[0],
                (int) types[0],
                (int) word[0],
                epsilon);
    }

    private static long[] shape(Parsed p, String name, String file) {
        Tensor t = p.tensors().get(name);
        if (t == null) {
            throw new IllegalStateException(file + ": the graph has no initializer " + name);
        }
        return t.shape();
    }

    /**
     * Extracts the float initializers of an ONNX BERT export under HF names.
     *
     * @param model the ONNX file bytes
     * @param file name for error messages
     * @return HF name (no prefix) to tensor (initializers that do not map are left out), and counts
     */
    static Parsed read(byte[] model, String file) {
        ByteBuffer buf = ByteBuffer.wrap(model).order(ByteOrder.LITTLE_ENDIAN);
        Wire graph = null;
        Wire top = new Wire(buf, 0, model.length, file);
        while (top.hasMore()) {
            int tag = top.tag();
            if (tag >>> 3 == 7 && (tag & 7) == 2) {
                graph = top.message();
            } else {
                top.skip(tag);
            }
        }
        if (graph == null) {
            throw new IllegalArgumentException(file + " has no ONNX graph (ModelProto field 7)");
        }
        Map<String, String> consumer = new HashMap<>(); // initializer name -> MatMul node name
        Map<String, Float> constants = new HashMap<>(); // Constant output -> scalar float value
        Map<String, List<String>> arithmetic = new HashMap<>(); // Add/Div node -> inputs
        List<Wire> initializers = new ArrayList<>();
        int nodes = 0;
        while (graph.hasMore()) {
            int tag = graph.tag();
            int field = tag >>> 3;
            if (field == 1 && (tag & 7) == 2) {
                readNode(graph.message(), consumer, constants, arithmetic);
                nodes++;
            } else if (field == 5 && (tag & 7) == 2) {
                initializers.add(graph.message());
            } else {
                graph.skip(tag);
            }
        }
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (Wire t : initializers) {
            readTensor(t, consumer, out);
        }
        Map<String, Float> scalars = new HashMap<>();
        for (Map.Entry<String, List<String>> e : arithmetic.entrySet()) {
            for (String in : e.getValue()) {
                if (constants.containsKey(in)) {
                    scalars.put(e.getKey(), constants.get(in));
                }
            }
        }
        return new Parsed(out, initializers.size(), nodes, scalars);
    }

    private static void readNode(
            Wire node,
            Map<String, String> consumer,
            Map<String, Float> constants,
            Map<String, List<String>> arithmetic) {
        List<String> inputs = new ArrayList<>();
        String output = null;
        String name = null;
        String op = null;
        Float scalar = null;
        while (node.hasMore()) {
            int tag = node.tag();
            int field = tag >>> 3;
            if (field == 1 && (tag & 7) == 2) {
                inputs.add(node.string());
            } else if (field == 2 && (tag & 7) == 2) {
                output = node.string();
            } else if (field == 3 && (tag & 7) == 2) {
                name = node.string();
            } else if (field == 4 && (tag & 7) == 2) {
                op = node.string();
            } else if (field == 5 && (tag & 7) == 2) {
                Float v = scalarAttribute(node.message());
                scalar = v != null ? v : scalar;
            } else {
                node.skip(tag);
            }
        }
        if ("MatMul".equals(op) && name != null) {
            for (String in : inputs) {
                if (in.startsWith("onnx::MatMul_")) {
                    consumer.put(in, name);
                }
            }
        } else if ("Constant".equals(op) && output != null && scalar != null) {
            constants.put(output, scalar);
        } else if (("Add".equals(op) || "Div".equals(op)) && name != null) {
            arithmetic.put(name, inputs);
        }
    }

    /** The value of an attribute holding a one-element float tensor ({@code t}, field 5). */
    private static Float scalarAttribute(Wire attr) {
        Float value = null;
        while (attr.hasMore()) {
            int tag = attr.tag();
            if (tag >>> 3 == 5 && (tag & 7) == 2) {
                Map<String, Tensor> one = new HashMap<>();
                readTensor(attr.message(), Map.of(), one, "value");
                Tensor t = one.get("value");
                if (t != null && t.data().length == 1) {
                    value = t.data()[0];
                }
            } else {
                attr.skip(tag);
            }
        }
        return value;
    }

    private static void readTensor(Wire t, Map<String, String> consumer, Map<String, Tensor> out) {
        readTensor(t, consumer, out, null);
    }

    private static void readTensor(
            Wire t, Map<String, String> consumer, Map<String, Tensor> out, String unnamed) {
        List<Long> dims = new ArrayList<>();
        int dataType = 0;
        String name = null;
        int rawStart = -1;
        int rawLen = 0;
        List<Float> floatData = new ArrayList<>();
        while (t.hasMore()) {
            int tag = t.tag();
            int field = tag >>> 3;
            int wt = tag & 7;
            if (field == 1 && wt == 0) {
                dims.add(t.varint());
            } else if (field == 1 && wt == 2) {
                Wire packed = t.message();
                while (packed.hasMore()) {
                    dims.add(packed.varint());
                }
            } else if (field == 2 && wt == 0) {
                dataType = (int) t.varint();
            } else if (field == 4 && wt == 2) {
                Wire packed = t.message();
                while (packed.hasMore()) {
                    floatData.add(packed.fixed32());
                }
            } else if (field == 8 && wt == 2) {
                name = t.string();
            } else if (field == 9 && wt == 2) {
                rawLen = (int) t.varint();
                rawStart = t.pos;
                t.pos += rawLen;
            } else {
                t.skip(tag);
            }
        }
        name = unnamed != null ? unnamed : name;
        if (name == null || dataType != FLOAT) {
            return;
        }
        long[] shape = dims.stream().mapToLong(Long::longValue).toArray();
        int numel = (int) new Shape(shape).size();
        float[] data = new float[numel];
        if (rawStart >= 0) {
            if (rawLen != numel * 4) {
                throw new IllegalArgumentException(
                        t.file
                                + ": initializer "
                                + name
                                + " has "
                                + rawLen
                                + " raw bytes for "
                                + numel
                                + " floats");
            }
            t.buf.slice(rawStart, rawLen).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(data);
        } else if (floatData.size() == numel) {
            for (int i = 0; i < numel; i++) {
                data[i] = floatData.get(i);
            }
        } else {
            return;
        }
        String hfName = name;
        if (name.startsWith("onnx::MatMul_")) {
            String node = consumer.get(name);
            if (node == null || shape.length != 2) {
                return;
            }
            hfName = matMulNodeToHf(node);
            if (hfName == null) {
                return;
            }
            // ONNX stores x @ W with W as [in, out]; HF Linear keeps [out, in].
            int rows = (int) shape[0];
            int cols = (int) shape[1];
            float[] tr = new float[numel];
            for (int r = 0; r < rows; r++) {
                for (int c = 0; c < cols; c++) {
                    tr[c * rows + r] = data[r * cols + c];
                }
            }
            data = tr;
            shape = new long[] {cols, rows};
        }
        out.put(hfName, new Tensor(shape, data));
    }

    /** {@code /encoder/layer.3/attention/self/query/MatMul} to the HF weight name. */
    static String matMulNodeToHf(String node) {
        String s = node.startsWith("/") ? node.substring(1) : node;
        if (!s.endsWith("/MatMul")) {
            return null;
        }
        s = s.substring(0, s.length() - "/MatMul".length());
        if (s.startsWith("bert/")) {
            s = s.substring(5);
        }
        return s.replace('/', '.') + ".weight";
    }

    /** A cursor over one protobuf message. */
    private static final class Wire {
        final ByteBuffer buf;
        final String file;
        int pos;
        final int end;

        Wire(ByteBuffer buf, int start, int end, String file) {
            this.buf = buf;
            this.pos = start;
            this.end = end;
            this.file = file;
        }

        boolean hasMore() {
            return pos < end;
        }

        int tag() {
            return (int) varint();
        }

        long varint() {
            long result = 0;
            for (int shift = 0; shift < 64; shift += 7) {
                if (pos >= end) {
                    throw truncated();
                }
                byte b = buf.get(pos++);
                result |= (long) (b & 0x7F) << shift;
                if ((b & 0x80) == 0) {
                    return result;
                }
            }
            throw new IllegalArgumentException(file + ": malformed protobuf varint at " + pos);
        }

        float fixed32() {
            if (pos + 4 > end) {
                throw truncated();
            }
            float f = buf.getFloat(pos);
            pos += 4;
            return f;
        }

        Wire message() {
            int len = (int) varint();
            if (len < 0 || pos + len > end) {
                throw truncated();
            }
            Wire w = new Wire(buf, pos, pos + len, file);
            pos += len;
            return w;
        }

        String string() {
            int len = (int) varint();
            if (len < 0 || pos + len > end) {
                throw truncated();
            }
            byte[] b = new byte[len];
            buf.get(pos, b);
            pos += len;
            return new String(b, StandardCharsets.UTF_8);
        }

        void skip(int tag) {
            switch (tag & 7) {
                case 0:
                    varint();
                    break;
                case 1:
                    pos += 8;
                    break;
                case 2:
                    int len = (int) varint();
                    pos += len;
                    break;
                case 5:
                    pos += 4;
                    break;
                default:
                    throw new IllegalArgumentException(
                            file + ": unsupported protobuf wire type " + (tag & 7) + " at " + pos);
            }
            if (pos > end) {
                throw truncated();
            }
        }

        private IllegalArgumentException truncated() {
            return new IllegalArgumentException(file + ": truncated protobuf at byte " + pos);
        }
    }
}
