package io.sparkbert.bert;

import ai.djl.ndarray.types.Shape;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Consumer;

/**
 * The safetensors byte layer under {@link Checkpoints} and {@link HfExport}: parses and validates a
 * header against its buffer, converts F16 / BF16 / F64 tensors to float32, and builds buffers from
 * entries of others without decoding them. DJL's codec ({@code NDList.encode/decode} with {@code
 * SAFETENSORS}) does the model's own writes and the final decode into NDArrays; it needs the
 * engine, does not convert dtypes (a BF16 tensor reaching PyTorch aborts the JVM), does not check
 * offsets against the file, and writes no {@code __metadata__}, which HF's loader wants ({@code
 * "format": "pt"}); this class covers those parts. Stateless and thread-safe.
 */
final class SafetensorsBytes {
    private SafetensorsBytes() {}

    /** One tensor entry of a safetensors header. */
    record Entry(String key, String dtype, long[] shape, long begin, long end) {}

    /** A parsed safetensors header: tensor entries and where their data starts. */
    record Header(Map<String, Entry> entries, int dataStart) {}

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
        JsonObject meta = new JsonObject();
        meta.addProperty("format", "pt");
        List<Out> outs = new ArrayList<>();
        for (Part p : parts) {
            outs.add(new Out(p.name, p.e.dtype, p.e.shape, p.e.end - p.e.begin));
        }
        return write(
                meta,
                outs,
                "safetensors buffer too large to assemble in memory",
                out -> {
                    for (Part p : parts) {
                        out.put(
                                p.src,
                                (int) (p.h.dataStart + p.e.begin),
                                (int) (p.e.end - p.e.begin));
                    }
                });
    }

    /** One tensor of a buffer being written: its header fields and data length in bytes. */
    private record Out(String name, String dtype, long[] shape, long length) {}

    /**
     * A safetensors buffer: the 8-byte header length, the JSON header ({@code metadata} first when
     * not null, then the tensors in order with consecutive data offsets) padded with spaces to a
     * multiple of 8, then the data that {@code data} puts in tensor order.
     *
     * @param tooLarge the start of the message when the buffer would not fit in a byte array
     */
    private static byte[] write(
            JsonObject metadata, List<Out> tensors, String tooLarge, Consumer<ByteBuffer> data) {
        JsonObject header = new JsonObject();
        if (metadata != null) {
            header.add("__metadata__", metadata);
        }
        long offset = 0;
        for (Out t : tensors) {
            JsonObject o = new JsonObject();
            o.addProperty("dtype", t.dtype);
            JsonArray shape = new JsonArray();
            for (long d : t.shape) {
                shape.add(d);
            }
            o.add("shape", shape);
            JsonArray off = new JsonArray();
            off.add(offset);
            offset += t.length;
            off.add(offset);
            o.add("data_offsets", off);
            header.add(t.name, o);
        }
        byte[] json = header.toString().getBytes(StandardCharsets.UTF_8);
        int padded = (json.length + 7) / 8 * 8;
        long total = 8L + padded + offset;
        if (total > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException(tooLarge + " (" + total + " bytes)");
        }
        ByteBuffer out = ByteBuffer.allocate((int) total).order(ByteOrder.LITTLE_ENDIAN);
        out.putLong(padded);
        out.put(json);
        for (int i = json.length; i < padded; i++) {
            out.put((byte) ' ');
        }
        data.accept(out);
        return out.array();
    }

    /** Rewrites the chosen tensors as an all-F32 safetensors buffer. */
    static byte[] toF32(byte[] src, Header h, List<Entry> keep) {
        List<Out> outs = new ArrayList<>();
        for (Entry e : keep) {
            long numel = (e.end - e.begin) / dtypeSize(e.dtype);
            outs.add(new Out(e.key, "F32", e.shape, numel * 4));
        }
        return write(
                null,
                outs,
                "checkpoint shard too large to convert in memory",
                out -> {
                    ByteBuffer in = ByteBuffer.wrap(src).order(ByteOrder.LITTLE_ENDIAN);
                    for (Entry e : keep) {
                        putAsF32(out, in, src, (int) (h.dataStart + e.begin), e);
                    }
                });
    }

    /** Appends one tensor's data, starting at {@code pos} of {@code src}, as float32. */
    private static void putAsF32(ByteBuffer out, ByteBuffer in, byte[] src, int pos, Entry e) {
        int end = (int) (pos + (e.end - e.begin));
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

    /** Whether a dtype is one the loader converts to float32 weights. */
    static boolean isFloat(String dtype) {
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
