package io.sparkbert.bert;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.sparkbert.testing.BertArrays;
import io.sparkbert.testing.Fixtures;
import java.io.IOException;
import java.nio.file.Files;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The engine against HF transformers outputs of the tiny random BertForSequenceClassification. */
class TinyBertGoldenTest {
    static final double TOL = 1e-4;
    static JsonObject golden;
    static BertModel model;
    static double worst;

    @BeforeAll
    static void load() throws IOException {
        golden =
                JsonParser.parseString(Files.readString(Fixtures.tinyBert().resolve("golden.json")))
                        .getAsJsonObject();
        model = BertModel.load(Fixtures.tinyBert(), Device.cpu());
    }

    @AfterAll
    static void close() {
        System.out.println("tinybert vs transformers: max abs diff " + worst);
        model.close();
    }

    static long[][] longs(JsonElement e) {
        JsonArray rows = e.getAsJsonArray();
        long[][] out = new long[rows.size()][];
        for (int i = 0; i < out.length; i++) {
            JsonArray r = rows.get(i).getAsJsonArray();
            out[i] = new long[r.size()];
            for (int j = 0; j < out[i].length; j++) {
                out[i][j] = r.get(j).getAsLong();
            }
        }
        return out;
    }

    static float[] floats(JsonElement e) {
        JsonArray r = e.getAsJsonArray();
        float[] out = new float[r.size()];
        for (int j = 0; j < out.length; j++) {
            out[j] = r.get(j).getAsFloat();
        }
        return out;
    }

    static void assertClose(JsonElement expected, float[][] actual, String what) {
        JsonArray rows = expected.getAsJsonArray();
        assertEquals(rows.size(), actual.length, what + " rows");
        for (int i = 0; i < actual.length; i++) {
            assertClose(floats(rows.get(i)), actual[i], what + "[" + i + "]");
        }
    }

    static void assertClose(float[] expected, float[] actual, String what) {
        assertEquals(expected.length, actual.length, what + " length");
        for (int j = 0; j < expected.length; j++) {
            worst = Math.max(worst, Math.abs(expected[j] - actual[j]));
            assertEquals(expected[j], actual[j], TOL, what + "[" + j + "]");
        }
    }

    @Test
    void loadsAsClassifierWithTwoDefaultLabels() {
        assertTrue(model.hasPooler());
        assertTrue(model.hasClassifier());
        assertEquals(2, model.numLabels());
        assertEquals("LABEL_1", model.config().labels().get(1));
        assertEquals(golden.get("param_count").getAsLong(), model.parameterCount());
        assertEquals(golden.getAsJsonObject("state_dict_keys").size(), model.parameters().size());
    }

    @Test
    void evalOutputsMatchTransformers() {
        JsonObject eval = golden.getAsJsonObject("eval");
        long[][] ids = longs(eval.get("input_ids"));
        long[][] types = longs(eval.get("token_type_ids"));
        long[][] mask = longs(eval.get("attention_mask"));

        float[][][] hidden = BertArrays.lastHiddenState(model, ids, types, mask);
        JsonArray expectedHidden = eval.getAsJsonArray("last_hidden_state");
        for (int i = 0; i < ids.length; i++) {
            JsonArray tokens = expectedHidden.get(i).getAsJsonArray();
            int real = 0;
            for (long m : mask[i]) {
                real += (int) m;
            }
            assertEquals(real, tokens.size(), "golden holds real tokens only");
            for (int t = 0; t < real; t++) {
                assertClose(floats(tokens.get(t)), hidden[i][t], "hidden[" + i + "][" + t + "]");
            }
        }
        assertClose(
                eval.get("cls"),
                BertArrays.embed(model, ids, types, mask, Pooling.CLS, false),
                "cls");
        assertClose(
                eval.get("mean_pooled"),
                BertArrays.embed(model, ids, types, mask, Pooling.MEAN, false),
                "mean_pooled");
        assertClose(
                eval.get("pooler_output"),
                BertArrays.pooler(model, ids, types, mask),
                "pooler_output");
        float[][] logits = BertArrays.logits(model, ids, types, mask);
        assertClose(eval.get("logits"), logits, "logits");
        float[][] probs = new float[logits.length][];
        for (int i = 0; i < logits.length; i++) {
            probs[i] = Probabilities.softmax(logits[i]);
        }
        assertClose(eval.get("probs"), probs, "probs");
    }

    @Test
    void normalizedEmbeddingsHaveUnitLengthAndSameDirection() {
        JsonObject eval = golden.getAsJsonObject("eval");
        long[][] ids = longs(eval.get("input_ids"));
        long[][] mask = longs(eval.get("attention_mask"));
        float[][] raw = BertArrays.embed(model, ids, null, mask, Pooling.MEAN, false);
        float[][] unit = BertArrays.embed(model, ids, null, mask, Pooling.MEAN, true);
        for (int i = 0; i < raw.length; i++) {
            double norm = 0;
            for (float v : raw[i]) {
                norm += v * v;
            }
            norm = Math.sqrt(norm);
            for (int j = 0; j < raw[i].length; j++) {
                assertEquals(raw[i][j] / norm, unit[i][j], 1e-6);
            }
        }
    }

    @Test
    void pairLogitsMatchTransformers() {
        JsonObject pairs = golden.getAsJsonObject("pair_eval");
        long[][] ids = longs(pairs.get("input_ids"));
        long[][] types = longs(pairs.get("token_type_ids"));
        // The fixture has no mask for pairs: [PAD] (id 0) marks padding.
        long[][] mask = new long[ids.length][];
        for (int i = 0; i < ids.length; i++) {
            mask[i] = new long[ids[i].length];
            for (int j = 0; j < ids[i].length; j++) {
                mask[i][j] = ids[i][j] == 0 ? 0 : 1;
            }
        }
        assertClose(pairs.get("logits"), BertArrays.logits(model, ids, types, mask), "pair logits");
        // token_type_ids matter: ignoring them changes the result.
        float[][] noTypes = BertArrays.logits(model, ids, null, mask);
        boolean differs = false;
        JsonArray expected = pairs.getAsJsonArray("logits");
        for (int i = 0; i < noTypes.length; i++) {
            float[] e = floats(expected.get(i));
            for (int j = 0; j < e.length; j++) {
                differs |= Math.abs(e[j] - noTypes[i][j]) > TOL;
            }
        }
        assertTrue(differs, "pair logits should depend on token_type_ids");
    }
}
