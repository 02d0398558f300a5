package io.sparkbert.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Proves the test-side HF reader right: on the reference checkpoint it reproduces what HF
 * transformers itself computed (golden.json) within 1e-4, so tests may use it as HF's reading of an
 * export.
 */
class HfSemanticsTest {
    static final double TOL = 1e-4;

    @TempDir Path tmp;

    static JsonObject golden() throws IOException {
        return JsonParser.parseString(Files.readString(Fixtures.tinyBert().resolve("golden.json")))
                .getAsJsonObject();
    }

    static long[][] longs(JsonArray a) {
        long[][] out = new long[a.size()][];
        for (int i = 0; i < out.length; i++) {
            JsonArray row = a.get(i).getAsJsonArray();
            out[i] = new long[row.size()];
            for (int j = 0; j < row.size(); j++) {
                out[i][j] = row.get(j).getAsLong();
            }
        }
        return out;
    }

    static double worst(JsonArray expected, double[][] actual) {
        double worst = 0;
        assertEquals(expected.size(), actual.length);
        for (int i = 0; i < actual.length; i++) {
            JsonArray row = expected.get(i).getAsJsonArray();
            assertEquals(row.size(), actual[i].length);
            for (int j = 0; j < row.size(); j++) {
                worst = Math.max(worst, Math.abs(row.get(j).getAsDouble() - actual[i][j]));
            }
        }
        return worst;
    }

    @Test
    void reproducesHfLogitsAndHiddenStatesOfTheReferenceCheckpoint() throws IOException {
        JsonObject eval = golden().getAsJsonObject("eval");
        HfSemantics hf = HfSemantics.read(Fixtures.tinyBert());
        long[][] ids = longs(eval.getAsJsonArray("input_ids"));
        long[][] types = longs(eval.getAsJsonArray("token_type_ids"));
        long[][] mask = longs(eval.getAsJsonArray("attention_mask"));
        double[][] logits = hf.sequenceClassificationLogits(ids, types, mask);
        double d = worst(eval.getAsJsonArray("logits"), logits);
        assertTrue(d < TOL, "logits differ from HF's by " + d);
        // The hidden states of the real tokens too (golden holds those only).
        double[][][] h = hf.lastHiddenState(ids, types, mask);
        JsonArray gh = eval.getAsJsonArray("last_hidden_state");
        double worstH = 0;
        for (int r = 0; r < h.length; r++) {
            JsonArray rows = gh.get(r).getAsJsonArray();
            double[][] real = new double[rows.size()][];
            System.arraycopy(h[r], 0, real, 0, rows.size());
            worstH = Math.max(worstH, worst(rows, real));
        }
        assertTrue(worstH < TOL, "hidden states differ from HF's by " + worstH);

        JsonObject pairs = golden().getAsJsonObject("pair_eval");
        long[][] pIds = longs(pairs.getAsJsonArray("input_ids"));
        long[][] pMask = new long[pIds.length][];
        for (int r = 0; r < pIds.length; r++) {
            pMask[r] = new long[pIds[r].length];
            for (int t = 0; t < pIds[r].length; t++) {
                pMask[r][t] = pIds[r][t] == 0 ? 0 : 1;
            }
        }
        double[][] pLogits =
                hf.sequenceClassificationLogits(
                        pIds, longs(pairs.getAsJsonArray("token_type_ids")), pMask);
        double dp = worst(pairs.getAsJsonArray("logits"), pLogits);
        assertTrue(dp < TOL, "pair logits differ from HF's by " + dp);
    }

    @Test
    void refusesWhatHfWouldFillWithRandomWeights() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("no-pooler"));
        Files.copy(Fixtures.tinyBert().resolve("config.json"), dir.resolve("config.json"));
        // An encoder-only file (HF BertModel layout): a sequence classifier would be random.
        byte[] b = Files.readAllBytes(Fixtures.tinyBert().resolve("model.safetensors"));
        String header =
                new String(
                        b,
                        8,
                        (int)
                                java.nio.ByteBuffer.wrap(b, 0, 8)
                                        .order(java.nio.ByteOrder.LITTLE_ENDIAN)
                                        .getLong(),
                        java.nio.charset.StandardCharsets.UTF_8);
        // Same byte length, so the offsets still hold: rename the prefix away.
        byte[] renamed = b.clone();
        byte[] h2 = header.replace("\"bert.", "\"xxxx.").getBytes();
        System.arraycopy(h2, 0, renamed, 8, h2.length);
        Files.write(dir.resolve("model.safetensors"), renamed);
        HfSemantics hf = HfSemantics.read(dir);
        long[][] ids = {{101, 7592, 102}};
        long[][] mask = {{1, 1, 1}};
        assertThrows(
                IllegalStateException.class,
                () -> hf.sequenceClassificationLogits(ids, null, mask));
        Files.writeString(
                dir.resolve("config.json"),
                Files.readString(dir.resolve("config.json"))
                        .replace("\"model_type\": \"bert\"", "\"model_type\": \"roberta\""));
        assertThrows(IllegalArgumentException.class, () -> HfSemantics.read(dir));
    }
}
