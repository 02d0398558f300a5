package io.sparkbert.feature;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sparkbert.inference.ModelCache;
import io.sparkbert.inference.ModelSource;
import io.sparkbert.testing.Fixtures;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A model directory rewritten in place (a model retrained at the same {@code file:} URI) is served
 * fresh: the next transform in the same JVM gives the new weights' outputs, not the cached model's.
 */
class ModelRewrittenInPlaceTest {
    private static final String WEIGHT = "bert.embeddings.word_embeddings.weight";

    @TempDir Path tmp;

    @Test
    void theNextTransformUsesTheNewWeights() throws IOException {
        Path dir = copyOfTinyBert(tmp.resolve("model"));
        String uri = dir.toUri().toString();
        assertTrue(uri.startsWith("file:"), uri);
        List<String> texts = List.of("the movie was great", "never again", "battery works fine");
        List<Integer> ids = List.of(0, 1, 2);
        BertEmbeddings stage = new BertEmbeddings().setInputCol("text").setModel(uri);

        List<double[]> before = embed(stage, ids, texts);
        assertTrue(same(before, embed(stage, ids, texts)), "unchanged model: same outputs");
        assertEquals(1, ModelCache.loadCount(ModelSource.location(uri), "cpu"));

        // Retrain "in place": other weights under the same name, same file length.
        scaleTensor(dir.resolve("model.safetensors"), WEIGHT, 3f);
        List<double[]> after = embed(stage, ids, texts);
        assertEquals(2, ModelCache.loadCount(ModelSource.location(uri), "cpu"));

        // What the new weights give when loaded from a path that no cache has seen.
        Path fresh = copyOfTinyBert(tmp.resolve("fresh"));
        scaleTensor(fresh.resolve("model.safetensors"), WEIGHT, 3f);
        List<double[]> expected =
                embed(
                        new BertEmbeddings().setInputCol("text").setModel(fresh.toUri().toString()),
                        ids,
                        texts);
        for (int i = 0; i < texts.size(); i++) {
            double diff = 0;
            for (int k = 0; k < expected.get(i).length; k++) {
                assertEquals(expected.get(i)[k], after.get(i)[k], 1e-6, "row " + i + " dim " + k);
                diff = Math.max(diff, Math.abs(after.get(i)[k] - before.get(i)[k]));
            }
            assertTrue(diff > 1e-3, "row " + i + ": the new weights change the output, " + diff);
        }
    }

    private static List<double[]> embed(BertEmbeddings stage, List<Integer> ids, List<String> t) {
        List<double[]> out = new ArrayList<>();
        for (Row r :
                stage.transform(BertEmbeddingsTest.frame(ids, t, 2))
                        .orderBy("id")
                        .collectAsList()) {
            out.add(((Vector) r.getAs("embedding")).toArray());
        }
        return out;
    }

    private static boolean same(List<double[]> a, List<double[]> b) {
        if (a.size() != b.size()) {
            return false;
        }
        for (int i = 0; i < a.size(); i++) {
            if (!java.util.Arrays.equals(a.get(i), b.get(i))) {
                return false;
            }
        }
        return true;
    }

    private static Path copyOfTinyBert(Path to) throws IOException {
        Files.createDirectories(to);
        try (Stream<Path> files = Files.list(Fixtures.tinyBert())) {
            for (Path f : (Iterable<Path>) files::iterator) {
                Files.copy(f, to.resolve(f.getFileName()));
            }
        }
        return to;
    }

    /** Multiplies one float32 tensor of a safetensors file by {@code factor}, in place. */
    private static void scaleTensor(Path file, String name, float factor) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        ByteBuffer buf = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        int headerLen = (int) buf.getLong(0);
        JsonNode header =
                new ObjectMapper()
                        .readTree(new String(bytes, 8, headerLen, StandardCharsets.UTF_8));
        JsonNode t = header.get(name);
        assertEquals("F32", t.get("dtype").asText());
        int start = 8 + headerLen + t.get("data_offsets").get(0).asInt();
        int end = 8 + headerLen + t.get("data_offsets").get(1).asInt();
        for (int p = start; p < end; p += 4) {
            buf.putFloat(p, buf.getFloat(p) * factor);
        }
        Files.write(file, bytes);
    }
}
