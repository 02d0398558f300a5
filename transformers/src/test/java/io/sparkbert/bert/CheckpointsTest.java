package io.sparkbert.bert;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import io.sparkbert.testing.BertArrays;
import io.sparkbert.testing.Fixtures;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Checkpoint IO: HF layout round trips, dtype conversion, sharding, and broken checkpoints. */
class CheckpointsTest {
    static final long[][] IDS = {
        {101, 1045, 2572, 2428, 9364, 2007, 1996, 2765, 1012, 102},
        {101, 7592, 1010, 2088, 999, 102, 0, 0, 0, 0}
    };
    static final long[][] MASK = {{1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, {1, 1, 1, 1, 1, 1, 0, 0, 0, 0}};

    @TempDir Path tmp;

    static Map<String, RawSafetensors.Raw> tinyTensors() throws IOException {
        return RawSafetensors.read(Fixtures.tinyBert().resolve("model.safetensors"));
    }

    Path checkpoint(String name, Map<String, RawSafetensors.Raw> tensors) throws IOException {
        Path dir = Files.createDirectories(tmp.resolve(name));
        Files.copy(Fixtures.tinyBert().resolve("config.json"), dir.resolve("config.json"));
        if (tensors != null) {
            RawSafetensors.write(dir.resolve("model.safetensors"), tensors);
        }
        return dir;
    }

    static float[][] logits(BertModel m) {
        return BertArrays.logits(m, IDS, null, MASK);
    }

    static IllegalArgumentException loadFails(Path dir) {
        return assertThrows(
                IllegalArgumentException.class, () -> BertModel.load(dir, Device.cpu()));
    }

    @Test
    void saveAndReloadIsBitIdentical() throws IOException {
        try (BertModel original = BertModel.load(Fixtures.tinyBert(), Device.cpu())) {
            Path out = tmp.resolve("saved");
            original.save(out);
            Map<String, RawSafetensors.Raw> saved =
                    RawSafetensors.read(out.resolve("model.safetensors"));
            // HF BertForSequenceClassification layout: bert.-prefixed encoder, bare classifier.
            assertEquals(tinyTensors().keySet(), saved.keySet());
            for (Map.Entry<String, RawSafetensors.Raw> e : tinyTensors().entrySet()) {
                assertArrayEquals(e.getValue().data(), saved.get(e.getKey()).data(), e.getKey());
            }
            String json = Files.readString(out.resolve("config.json"));
            assertTrue(json.contains("\"BertForSequenceClassification\""), json);
            assertTrue(json.contains("\"model_type\": \"bert\""), json);
            assertTrue(json.contains("\"0\": \"LABEL_0\""), json);
            assertTrue(
                    json.contains("\"tie_word_embeddings\": true"), "unknown keys kept: " + json);
            try (BertModel reloaded = BertModel.load(out, Device.cpu())) {
                // Writing the reloaded config gives the same file: nothing lost or invented.
                assertEquals(original.config().toJson(), reloaded.config().toJson());
                float[][] a = logits(original);
                float[][] b = logits(reloaded);
                for (int i = 0; i < a.length; i++) {
                    assertArrayEquals(a[i], b[i], 0f);
                }
            }
        }
    }

    @Test
    void bytesRoundTripIsBitIdentical() {
        try (BertModel original = BertModel.load(Fixtures.tinyBert(), Device.cpu());
                BertModel copy =
                        BertModel.fromBytes(
                                original.config(), original.toSafetensorsBytes(), Device.cpu())) {
            assertTrue(copy.hasClassifier());
            float[][] a = logits(original);
            float[][] b = logits(copy);
            for (int i = 0; i < a.length; i++) {
                assertArrayEquals(a[i], b[i], 0f);
            }
        }
    }

    /** The fixture's tensors with the legacy LayerNorm names of TF-converted checkpoints. */
    static Map<String, RawSafetensors.Raw> legacyNames(Map<String, RawSafetensors.Raw> t) {
        Map<String, RawSafetensors.Raw> out = new LinkedHashMap<>();
        t.forEach(
                (k, v) ->
                        out.put(
                                k.replace("LayerNorm.weight", "LayerNorm.gamma")
                                        .replace("LayerNorm.bias", "LayerNorm.beta"),
                                v));
        return out;
    }

    @Test
    void legacyLayerNormNamesLoadWithTheSameLogits() throws IOException {
        Map<String, RawSafetensors.Raw> legacy = legacyNames(tinyTensors());
        // 2 + 2 per layer LayerNorms, weight and bias each, all renamed.
        assertEquals(
                2 * (1 + 2 * 2),
                legacy.keySet().stream()
                        .filter(k -> k.matches(".*LayerNorm\\.(gamma|beta)"))
                        .count());
        // The pre-training heads and the position_ids buffer stay ignored next to them.
        legacy.put(
                "cls.predictions.bias", new RawSafetensors.Raw("F32", new long[] {2}, new byte[8]));
        legacy.put(
                "bert.embeddings.position_ids",
                new RawSafetensors.Raw("I64", new long[] {1, 2}, new byte[16]));
        Path dir = checkpoint("legacy", legacy);
        try (BertModel old = BertModel.load(dir, Device.cpu());
                BertModel full = BertModel.load(Fixtures.tinyBert(), Device.cpu())) {
            float[][] a = logits(old);
            float[][] b = logits(full);
            for (int i = 0; i < a.length; i++) {
                assertArrayEquals(b[i], a[i], 1e-6f);
            }
            // Saved again under today's names.
            Path out = tmp.resolve("legacy-saved");
            old.save(out);
            assertEquals(
                    tinyTensors().keySet(),
                    RawSafetensors.read(out.resolve("model.safetensors")).keySet());
        }
    }

    @Test
    void bothSpellingsOfOneLayerNormTensorAreRefused() throws IOException {
        Map<String, RawSafetensors.Raw> t = new LinkedHashMap<>(tinyTensors());
        t.put("bert.embeddings.LayerNorm.gamma", t.get("bert.embeddings.LayerNorm.weight"));
        String msg = loadFails(checkpoint("both", t)).getMessage();
        assertTrue(
                msg.contains("appears twice")
                        && msg.contains("bert.embeddings.LayerNorm.gamma")
                        && msg.contains("bert.embeddings.LayerNorm.weight"),
                msg);
    }

    @Test
    void otherModelTypesAreRefusedAtLoad() throws IOException {
        for (String type : new String[] {"roberta", "distilbert", "xlm-roberta"}) {
            Path dir = checkpoint(type, tinyTensors());
            Path config = dir.resolve("config.json");
            Files.writeString(
                    config,
                    Files.readString(config)
                            .replace(
                                    "\"model_type\": \"bert\"",
                                    "\"model_type\": \"" + type + "\""));
            String msg = loadFails(dir).getMessage();
            assertTrue(
                    msg.contains("model_type=" + type)
                            && msg.contains(config.toString())
                            && msg.contains("BERT only (model_type \"bert\""),
                    msg);
        }
    }

    @Test
    void encoderOnlyCheckpointWithoutPrefixLoadsWithoutHead() throws IOException {
        Map<String, RawSafetensors.Raw> t = new LinkedHashMap<>();
        tinyTensors()
                .forEach(
                        (k, v) -> {
                            if (!k.startsWith("classifier.")) {
                                t.put(k.substring("bert.".length()), v);
                            }
                        });
        Path dir = checkpoint("encoder", t);
        try (BertModel enc = BertModel.load(dir, Device.cpu());
                BertModel full = BertModel.load(Fixtures.tinyBert(), Device.cpu())) {
            assertFalse(enc.hasClassifier());
            assertTrue(enc.hasPooler());
            assertEquals(0, enc.numLabels());
            assertThrows(
                    IllegalStateException.class, () -> BertArrays.logits(enc, IDS, null, MASK));
            float[][] a = BertArrays.pooler(enc, IDS, null, MASK);
            float[][] b = BertArrays.pooler(full, IDS, null, MASK);
            for (int i = 0; i < a.length; i++) {
                assertArrayEquals(b[i], a[i], 0f);
            }
            // An encoder is saved as HF BertModel: no prefix.
            Path out = tmp.resolve("encoder-saved");
            enc.save(out);
            assertEquals(
                    t.keySet(), RawSafetensors.read(out.resolve("model.safetensors")).keySet());
            assertTrue(Files.readString(out.resolve("config.json")).contains("\"BertModel\""));
        }
    }

    @Test
    void bf16AndF16AreConvertedInJava() throws IOException {
        Map<String, RawSafetensors.Raw> bf = new LinkedHashMap<>();
        Map<String, RawSafetensors.Raw> half = new LinkedHashMap<>();
        tinyTensors()
                .forEach(
                        (k, v) -> {
                            bf.put(
                                    k,
                                    new RawSafetensors.Raw(
                                            "BF16", v.shape(), RawSafetensors.toBf16(v.data())));
                            half.put(
                                    k,
                                    new RawSafetensors.Raw(
                                            "F16", v.shape(), RawSafetensors.toF16(v.data())));
                        });
        for (Map.Entry<String, Map<String, RawSafetensors.Raw>> c :
                Map.of("bf16", bf, "f16", half).entrySet()) {
            try (BertModel m = BertModel.load(checkpoint(c.getKey(), c.getValue()), Device.cpu())) {
                String key = "encoder.layer.1.intermediate.dense.weight";
                NDArray w = m.parameters().get(key);
                float[] loaded = w.toFloatArray();
                float[] exact = RawSafetensors.floats(tinyTensors().get("bert." + key));
                // Loaded values are the exact float32 values of the rounded 16-bit numbers.
                double relTol = c.getKey().equals("bf16") ? 1.0 / 256 : 1.0 / 2048;
                for (int i = 0; i < exact.length; i++) {
                    assertEquals(
                            exact[i],
                            loaded[i],
                            Math.abs(exact[i]) * relTol + 1e-7,
                            c.getKey() + " " + i);
                }
                assertEquals(2, logits(m)[0].length);
            }
        }
        assertEquals(1.0f, SafetensorsBytes.halfToFloat((short) 0x3C00));
        assertEquals(-2.0f, SafetensorsBytes.halfToFloat((short) 0xC000));
        assertEquals(0x1p-24f, SafetensorsBytes.halfToFloat((short) 0x0001));
        assertEquals(65504f, SafetensorsBytes.halfToFloat((short) 0x7BFF));
    }

    @Test
    void shardedCheckpointLoads() throws IOException {
        Map<String, RawSafetensors.Raw> a = new LinkedHashMap<>();
        Map<String, RawSafetensors.Raw> b = new LinkedHashMap<>();
        StringBuilder map = new StringBuilder();
        int i = 0;
        for (Map.Entry<String, RawSafetensors.Raw> e : tinyTensors().entrySet()) {
            String shard =
                    (i++ % 2 == 0)
                            ? "model-00001-of-00002.safetensors"
                            : "model-00002-of-00002.safetensors";
            (shard.contains("00001") ? a : b).put(e.getKey(), e.getValue());
            map.append(map.length() == 0 ? "" : ",")
                    .append('"')
                    .append(e.getKey())
                    .append("\":\"")
                    .append(shard)
                    .append('"');
        }
        Path dir = checkpoint("sharded", null);
        RawSafetensors.write(dir.resolve("model-00001-of-00002.safetensors"), a);
        RawSafetensors.write(dir.resolve("model-00002-of-00002.safetensors"), b);
        Files.writeString(
                dir.resolve("model.safetensors.index.json"),
                "{\"metadata\":{},\"weight_map\":{" + map + "}}");
        assertTrue(Checkpoints.hasClassifierHead(dir), "from the shard index");
        try (BertModel sharded = BertModel.load(dir, Device.cpu());
                BertModel single = BertModel.load(Fixtures.tinyBert(), Device.cpu())) {
            float[][] x = logits(sharded);
            float[][] y = logits(single);
            for (int r = 0; r < x.length; r++) {
                assertArrayEquals(y[r], x[r], 0f);
            }
        }
    }

    /**
     * The head is read from the weights' header, not from config.json, which names LABEL_0/1 with
     * or without a head; a bare "bert."-prefixed encoder has none.
     */
    @Test
    void aClassifierHeadIsToldFromTheTensorNamesAlone() throws IOException {
        assertTrue(Checkpoints.hasClassifierHead(Fixtures.tinyBert()));
        Map<String, RawSafetensors.Raw> encoder = new LinkedHashMap<>();
        tinyTensors()
                .forEach(
                        (k, v) -> {
                            if (!k.startsWith("classifier.")) {
                                encoder.put(k.startsWith("bert.") ? k : "bert." + k, v);
                            }
                        });
        Path headless = checkpoint("no-head", encoder);
        assertFalse(Checkpoints.hasClassifierHead(headless));
        try (BertModel m = BertModel.load(headless, Device.cpu())) {
            assertFalse(m.hasClassifier());
        }
        assertFalse(Checkpoints.hasClassifierHead(checkpoint("no-weights", null)));
        Path broken = checkpoint("broken", null);
        Files.write(broken.resolve("model.safetensors"), new byte[] {(byte) 0xFF, 1, 2});
        IllegalArgumentException e =
                assertThrows(
                        IllegalArgumentException.class,
                        () -> Checkpoints.hasClassifierHead(broken));
        assertTrue(e.getMessage().contains(broken.toString()), e.getMessage());
    }

    @Test
    void pytorchBinIsRefusedWithConversionHint() throws IOException {
        Path dir = checkpoint("bin", null);
        Files.write(dir.resolve("pytorch_model.bin"), new byte[] {1, 2, 3});
        String msg = loadFails(dir).getMessage();
        assertTrue(msg.contains("pytorch_model.bin") && msg.contains("safetensors"), msg);
    }

    @Test
    void truncatedFileNamesFileAndTensor() throws IOException {
        Path dir = checkpoint("truncated", tinyTensors());
        Path file = dir.resolve("model.safetensors");
        byte[] bytes = Files.readAllBytes(file);
        Files.write(file, Arrays.copyOf(bytes, bytes.length - 100));
        String msg = loadFails(dir).getMessage();
        assertTrue(
                msg.contains("truncated")
                        && msg.contains(file.toString())
                        && msg.contains("classifier.weight"),
                msg);
        Files.write(file, Arrays.copyOf(bytes, 5));
        msg = loadFails(dir).getMessage();
        assertTrue(msg.contains("truncated") && msg.contains(file.toString()), msg);
    }

    @Test
    void wrongShapeNamesFileAndTensor() throws IOException {
        Map<String, RawSafetensors.Raw> t = tinyTensors();
        RawSafetensors.Raw q = t.get("bert.encoder.layer.1.attention.self.query.weight");
        t.put(
                "bert.encoder.layer.1.attention.self.query.weight",
                new RawSafetensors.Raw("F32", new long[] {16, 64}, q.data()));
        String msg = loadFails(checkpoint("shape", t)).getMessage();
        assertTrue(
                msg.contains("bert.encoder.layer.1.attention.self.query.weight")
                        && msg.contains("(16, 64)")
                        && msg.contains("model.safetensors"),
                msg);
    }

    @Test
    void missingTensorIsNamed() throws IOException {
        Map<String, RawSafetensors.Raw> t = tinyTensors();
        t.remove("bert.encoder.layer.0.output.LayerNorm.bias");
        String msg = loadFails(checkpoint("missing", t)).getMessage();
        assertTrue(
                msg.contains("missing tensor encoder.layer.0.output.LayerNorm.bias")
                        && msg.contains("model.safetensors"),
                msg);
    }

    @Test
    void vocabSizeMismatchIsNamed() throws IOException {
        Path dir = checkpoint("vocab", tinyTensors());
        Files.writeString(
                dir.resolve("config.json"),
                Files.readString(dir.resolve("config.json"))
                        .replace("\"vocab_size\": 30522", "\"vocab_size\": 30000"));
        String msg = loadFails(dir).getMessage();
        assertTrue(
                msg.contains("vocab_size=30000")
                        && msg.contains("30522")
                        && msg.contains("bert.embeddings.word_embeddings.weight"),
                msg);
    }

    @Test
    void unknownDtypeIsNamed() throws IOException {
        Map<String, RawSafetensors.Raw> t = tinyTensors();
        RawSafetensors.Raw b = t.get("bert.pooler.dense.bias");
        t.put(
                "bert.pooler.dense.bias",
                new RawSafetensors.Raw("F8_E4M3", b.shape(), Arrays.copyOf(b.data(), 32)));
        String msg = loadFails(checkpoint("dtype", t)).getMessage();
        assertTrue(
                msg.contains("F8_E4M3")
                        && msg.contains("bert.pooler.dense.bias")
                        && msg.contains("model.safetensors"),
                msg);
        // An integer tensor where a weight belongs is refused too.
        t.put("bert.pooler.dense.bias", new RawSafetensors.Raw("I32", b.shape(), b.data()));
        msg = loadFails(checkpoint("int", t)).getMessage();
        assertTrue(msg.contains("I32") && msg.contains("bert.pooler.dense.bias"), msg);
    }

    @Test
    void missingDirOrWeightsAreExplained() throws IOException {
        assertTrue(loadFails(tmp.resolve("nope")).getMessage().contains("does not exist"));
        Path dir = checkpoint("empty", null);
        assertTrue(loadFails(dir).getMessage().contains("model.safetensors"));
        Files.copy(
                Fixtures.tinyBert().resolve("model.safetensors"),
                dir.resolve("model.safetensors"),
                StandardCopyOption.REPLACE_EXISTING);
        Files.delete(dir.resolve("config.json"));
        assertTrue(loadFails(dir).getMessage().contains("config.json"));
    }

    @Test
    void freshClassifierIsSeededAndKeepsEncoder() {
        try (BertModel base = BertModel.load(Fixtures.tinyBert(), Device.cpu());
                BertModel a = base.withFreshClassifier(3, 7);
                BertModel b = base.withFreshClassifier(3, 7);
                BertModel c = base.withFreshClassifier(3, 8)) {
            assertEquals(3, a.numLabels());
            float[][] la = BertArrays.logits(a, IDS, null, MASK);
            float[][] lb = BertArrays.logits(b, IDS, null, MASK);
            float[][] lc = BertArrays.logits(c, IDS, null, MASK);
            assertEquals(3, la[0].length);
            assertArrayEquals(la[0], lb[0], 0f);
            assertNotEquals(Arrays.toString(la[0]), Arrays.toString(lc[0]));
            assertArrayEquals(
                    BertArrays.pooler(base, IDS, null, MASK)[0],
                    BertArrays.pooler(a, IDS, null, MASK)[0],
                    0f);
            float[] bias = a.parameters().get("classifier.bias").toFloatArray();
            assertArrayEquals(new float[3], bias, 0f);
            float[] w = a.parameters().get("classifier.weight").toFloatArray();
            double var = 0;
            for (float v : w) {
                var += v * v;
            }
            // initializer_range 0.1 in the tiny config: std of 96 normal draws near 0.1.
            double std = Math.sqrt(var / w.length);
            assertTrue(std > 0.07 && std < 0.13, "std " + std);
        }
    }
}
