package io.sparkbert.bert;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/** Test helper: edits safetensors files byte by byte to build broken or converted checkpoints. */
final class RawSafetensors {
    private RawSafetensors() {}

    /** One tensor: dtype string, shape, raw little-endian bytes. */
    record Raw(String dtype, long[] shape, byte[] data) {}

    static Map<String, Raw> read(Path file) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        SafetensorsBytes.Header h = SafetensorsBytes.parseHeader(bytes, file.toString());
        Map<String, Raw> out = new LinkedHashMap<>();
        for (SafetensorsBytes.Entry e : h.entries().values()) {
            byte[] data =
                    Arrays.copyOfRange(
                            bytes,
                            (int) (h.dataStart() + e.begin()),
                            (int) (h.dataStart() + e.end()));
            out.put(e.key(), new Raw(e.dtype(), e.shape(), data));
        }
        return out;
    }

    static void write(Path file, Map<String, Raw> tensors) throws IOException {
        JsonObject header = new JsonObject();
        long offset = 0;
        for (Map.Entry<String, Raw> e : tensors.entrySet()) {
            JsonObject o = new JsonObject();
            o.addProperty("dtype", e.getValue().dtype());
            JsonArray shape = new JsonArray();
            for (long d : e.getValue().shape()) {
                shape.add(d);
            }
            o.add("shape", shape);
            JsonArray off = new JsonArray();
            off.add(offset);
            offset += e.getValue().data().length;
            off.add(offset);
            o.add("data_offsets", off);
            header.add(e.getKey(), o);
        }
        byte[] json = header.toString().getBytes(StandardCharsets.UTF_8);
        ByteBuffer out =
                ByteBuffer.allocate((int) (8 + json.length + offset))
                        .order(ByteOrder.LITTLE_ENDIAN);
        out.putLong(json.length);
        out.put(json);
        for (Raw r : tensors.values()) {
            out.put(r.data());
        }
        Files.write(file, out.array());
    }

    /** F32 bytes to BF16 bytes (round to nearest even). */
    static byte[] toBf16(byte[] f32) {
        ByteBuffer in = ByteBuffer.wrap(f32).order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer out = ByteBuffer.allocate(f32.length / 2).order(ByteOrder.LITTLE_ENDIAN);
        while (in.hasRemaining()) {
            int bits = Float.floatToRawIntBits(in.getFloat());
            int rounded = bits + 0x7FFF + ((bits >>> 16) & 1);
            out.putShort((short) (rounded >>> 16));
        }
        return out.array();
    }

    /** F32 bytes to F16 bytes (normal range only, round to nearest). */
    static byte[] toF16(byte[] f32) {
        ByteBuffer in = ByteBuffer.wrap(f32).order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer out = ByteBuffer.allocate(f32.length / 2).order(ByteOrder.LITTLE_ENDIAN);
        while (in.hasRemaining()) {
            out.putShort(floatToHalf(in.getFloat()));
        }
        return out.array();
    }

    static short floatToHalf(float f) {
        int bits = Float.floatToRawIntBits(f);
        int sign = (bits >>> 16) & 0x8000;
        float abs = Math.abs(f);
        if (abs < 6.1035156e-5f) { // subnormal half: quantise to multiples of 2^-24
            return (short) (sign | Math.round(abs / 0x1p-24f));
        }
        int exp = ((bits >>> 23) & 0xFF) - 127 + 15;
        int mant = bits & 0x7FFFFF;
        int half = (exp << 10) | (mant >>> 13);
        if ((mant & 0x1FFF) > 0x1000 || ((mant & 0x1FFF) == 0x1000 && (half & 1) == 1)) {
            half++;
        }
        return (short) (sign | half);
    }

    static float[] floats(Raw r) {
        ByteBuffer in = ByteBuffer.wrap(r.data()).order(ByteOrder.LITTLE_ENDIAN);
        float[] out = new float[r.data().length / 4];
        for (int i = 0; i < out.length; i++) {
            out[i] = in.getFloat();
        }
        return out;
    }
}
