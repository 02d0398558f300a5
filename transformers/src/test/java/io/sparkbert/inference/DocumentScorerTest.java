package io.sparkbert.inference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import io.sparkbert.bert.BertModel;
import io.sparkbert.bert.ClassifierHead;
import io.sparkbert.bert.Encoding;
import io.sparkbert.bert.HfTokenizer;
import io.sparkbert.bert.Pooling;
import io.sparkbert.bert.Probabilities;
import io.sparkbert.bert.TokenizerOptions;
import io.sparkbert.testing.BertArrays;
import io.sparkbert.testing.Fixtures;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The Spark-free scoring core against single-text engine inference on the tiny checkpoint. */
class DocumentScorerTest {
    static final double TOL = 1e-5;
    static BertModel reference;
    static HfTokenizer refTokenizer;

    @BeforeAll
    static void load() {
        reference = BertModel.load(Fixtures.tinyBert(), ai.djl.Device.cpu());
        refTokenizer =
                HfTokenizer.fromDirectory(
                        Fixtures.tinyBert(), TokenizerOptions.defaults().withMaxLength(24));
    }

    @AfterAll
    static void close() {
        reference.close();
        refTokenizer.close();
    }

    static List<String> texts(int n, long seed) {
        String[] words = {
            "the", "movie", "was", "great", "terrible", "food", "service", "i", "loved", "it",
            "never", "again", "phone", "battery", "works", "fine", "and", "but", "very", "bad"
        };
        Random rnd = new Random(seed);
        List<String> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int len = 1 + rnd.nextInt(i % 7 == 0 ? 40 : 12);
            StringBuilder sb = new StringBuilder();
            for (int w = 0; w < len; w++) {
                sb.append(w == 0 ? "" : " ").append(words[rnd.nextInt(words.length)]);
            }
            out.add(sb.toString());
        }
        return out;
    }

    static float[] single(String text, Pooling pooling, boolean normalize) {
        Encoding e = refTokenizer.encode(text);
        return BertArrays.embed(reference, e, pooling, normalize);
    }

    static void assertClose(float[] expected, float[] actual, String what) {
        assertEquals(expected.length, actual.length, what);
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], actual[i], TOL, what + " [" + i + "]");
        }
    }

    private static Score[] run(ScoringSpec spec, String[] texts, String[] pairs) {
        LoadedModel loaded = ModelCache.get(spec.source(), "cpu");
        try (NDManager scope = NDManager.newBaseManager(ai.djl.Device.cpu())) {
            return new DocumentScorer(spec, loaded, scope).score(texts, pairs);
        }
    }

    static ScoringSpec spec(ScoringSpec.Output output) {
        return new ScoringSpec(ModelSource.location(Fixtures.tinyBert().toString()), output)
                .columns("Test", "text", null)
                .maxLength(24)
                .batchSize(8)
                .device("cpu");
    }

    @Test
    void bucketedBatchesEqualSingleTextInferenceInInputOrder() {
        List<String> t = texts(50, 7);
        for (Pooling p : Pooling.values()) {
            for (boolean norm : new boolean[] {false, true}) {
                Score[] s =
                        run(
                                spec(ScoringSpec.Output.EMBEDDING).pooling(p, norm).maxTokens(120),
                                t.toArray(new String[0]),
                                null);
                for (int i = 0; i < t.size(); i++) {
                    assertClose(single(t.get(i), p, norm), s[i].values(), p + " row " + i);
                    assertNull(s[i].probabilities());
                }
            }
        }
    }

    @Test
    void unsortedAndFixedPaddingGiveTheSameVectors() {
        List<String> t = texts(30, 11);
        String[] a = t.toArray(new String[0]);
        Score[] sorted = run(spec(ScoringSpec.Output.EMBEDDING), a, null);
        Score[] unsorted = run(spec(ScoringSpec.Output.EMBEDDING).bucketing(false, 0), a, null);
        Score[] fixed = run(spec(ScoringSpec.Output.EMBEDDING).bucketing(false, 24), a, null);
        for (int i = 0; i < a.length; i++) {
            assertClose(sorted[i].values(), unsorted[i].values(), "unsorted row " + i);
            assertClose(sorted[i].values(), fixed[i].values(), "padded row " + i);
        }
    }

    @Test
    void logitsAndProbabilitiesForPairs() {
        List<String> a = texts(12, 3);
        List<String> b = texts(12, 4);
        Score[] s =
                run(
                        spec(ScoringSpec.Output.LOGITS).columns("Test", "a", "b"),
                        a.toArray(new String[0]),
                        b.toArray(new String[0]));
        for (int i = 0; i < a.size(); i++) {
            Encoding e = refTokenizer.encode(a.get(i), b.get(i));
            float[] logits = BertArrays.logits(reference, e);
            assertClose(logits, s[i].values(), "logits " + i);
            assertClose(
                    Probabilities.softmax(logits), toFloats(s[i].probabilities()), "probs " + i);
            assertEquals(1.0, s[i].probabilities()[0] + s[i].probabilities()[1], 1e-12);
        }
    }

    @Test
    void classifierHeadsOtherThanThePooler() {
        List<String> t = texts(9, 21);
        for (ClassifierHead head : ClassifierHead.values()) {
            Score[] s =
                    run(
                            spec(ScoringSpec.Output.LOGITS).classifierHead(head.id()),
                            t.toArray(new String[0]),
                            null);
            for (int i = 0; i < t.size(); i++) {
                float[] expected =
                        BertArrays.logits(head, reference, List.of(refTokenizer.encode(t.get(i))))[
                                0];
                assertClose(expected, s[i].values(), head + " row " + i);
            }
        }
    }

    @Test
    void invalidRowsKeepNullOrFailNamingColumn() {
        String[] t = {"good food", null, "  ", "bad service"};
        Score[] s = run(spec(ScoringSpec.Output.EMBEDDING), t, null);
        assertNotNull(s[0]);
        assertNull(s[1]);
        assertNull(s[2]);
        assertClose(single("bad service", Pooling.MEAN, false), s[3].values(), "row 3");
        IllegalArgumentException e =
                assertThrows(
                        IllegalArgumentException.class,
                        () ->
                                run(
                                        spec(ScoringSpec.Output.EMBEDDING)
                                                .columns("BertEmbeddings[x]", "review", null)
                                                .handleInvalid("error"),
                                        t,
                                        null));
        assertTrue(e.getMessage().contains("'review'"), e.getMessage());
        assertTrue(e.getMessage().contains("handleInvalid"), e.getMessage());
        assertEquals(4, run(spec(ScoringSpec.Output.EMBEDDING), t, null).length);
    }

    @Test
    void windowModeAveragesWindowEmbeddingsAndLogits() {
        String longText = String.join(" ", texts(1, 99).get(0), texts(3, 5).toString());
        HfTokenizer content =
                HfTokenizer.fromJson(
                        refTokenizer.toJson(),
                        TokenizerOptions.defaults()
                                .withTruncation(TokenizerOptions.Truncation.NONE)
                                .withAddSpecialTokens(false));
        long[] ids = content.encode(longText).inputIds();
        content.close();
        long[] clsSep = refTokenizer.encode("").inputIds();
        List<int[]> ranges = TextWindows.ranges(ids.length, 22, 5);
        assertTrue(ranges.size() >= 3, "test text must need several windows: " + ids.length);
        float[] meanVec = null;
        float[] meanLogits = null;
        float[] meanProbs = null;
        for (int[] r : ranges) {
            long[] seq = new long[r[1] - r[0] + 2];
            seq[0] = clsSep[0];
            System.arraycopy(ids, r[0], seq, 1, r[1] - r[0]);
            seq[seq.length - 1] = clsSep[1];
            long[] mask = new long[seq.length];
            Arrays.fill(mask, 1);
            float[] v =
                    BertArrays.embed(
                            reference,
                            new long[][] {seq},
                            null,
                            new long[][] {mask},
                            Pooling.MEAN,
                            false)[0];
            float[] l =
                    BertArrays.logits(reference, new long[][] {seq}, null, new long[][] {mask})[0];
            meanVec = accumulate(meanVec, v, ranges.size());
            meanLogits = accumulate(meanLogits, l, ranges.size());
            meanProbs = accumulate(meanProbs, Probabilities.softmax(l), ranges.size());
        }
        String[] in = {"short one", longText};
        Score[] emb = run(spec(ScoringSpec.Output.EMBEDDING).overflow("window", 5), in, null);
        assertClose(meanVec, emb[1].values(), "window mean embedding");
        assertClose(single("short one", Pooling.MEAN, false), emb[0].values(), "short text");
        Score[] cls = run(spec(ScoringSpec.Output.LOGITS).overflow("window", 5), in, null);
        assertClose(meanLogits, cls[1].values(), "window mean logits");
        assertClose(meanProbs, toFloats(cls[1].probabilities()), "window mean probabilities");
        // truncate mode differs for the long text
        Score[] trunc = run(spec(ScoringSpec.Output.EMBEDDING), in, null);
        assertClose(single(longText, Pooling.MEAN, false), trunc[1].values(), "truncated");
    }

    private static float[] toFloats(double[] v) {
        float[] f = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            f[i] = (float) v[i];
        }
        return f;
    }

    private static float[] accumulate(float[] acc, float[] v, int n) {
        float[] out = acc == null ? new float[v.length] : acc;
        for (int i = 0; i < v.length; i++) {
            out[i] += v[i] / n;
        }
        return out;
    }

    @Test
    void windowStrideBeyondTheModelsPositionsNamesStageStrideAndModelLimit() {
        // tinybert has 128 positions: maxLength=512 gives 128-token windows, 126 of them text.
        ScoringSpec s = spec(ScoringSpec.Output.EMBEDDING).maxLength(512).overflow("window", 200);
        IllegalArgumentException e =
                assertThrows(
                        IllegalArgumentException.class, () -> run(s, new String[] {"a"}, null));
        assertEquals(
                "Test: stride=200 is too large for overflow=window: a window holds 126 text"
                        + " tokens (128 less [CLS] and [SEP]; maxLength=512 is capped at 128 by"
                        + " the model, whose max_position_embeddings is 128), so stride must be"
                        + " below 126; lower stride (raising maxLength cannot help).",
                e.getMessage());
        // within the stage's own maxLength the old advice stands
        ScoringSpec t = spec(ScoringSpec.Output.EMBEDDING).maxLength(24).overflow("window", 22);
        e = assertThrows(IllegalArgumentException.class, () -> run(t, new String[] {"a"}, null));
        assertTrue(
                e.getMessage().contains("below 22; lower stride or raise maxLength"),
                e.getMessage());
        // the largest allowed stride scores
        Score[] ok =
                run(
                        spec(ScoringSpec.Output.EMBEDDING).maxLength(512).overflow("window", 125),
                        new String[] {"a"},
                        null);
        assertNotNull(ok[0]);
    }

    @Test
    void modelWithoutHeadRejectsLogits() {
        ScoringSpec s =
                new ScoringSpec(ModelSource.location("default"), ScoringSpec.Output.LOGITS)
                        .columns("BertClassificationModel[x]", "text", null);
        IllegalArgumentException e =
                assertThrows(
                        IllegalArgumentException.class, () -> run(s, new String[] {"a"}, null));
        assertTrue(e.getMessage().contains("classification head"), e.getMessage());
    }

    @Test
    void shippedBytesScoreLikeTheDirectoryAndLoadOnce() {
        ModelBytes bytes =
                new ModelBytes(
                        reference.config().toJson(true),
                        reference.toSafetensorsBytes(),
                        refTokenizer.toJson());
        ModelSource shipped = ModelSource.inMemory(bytes);
        assertEquals("content:" + bytes.contentId(), shipped.key());
        String[] t = texts(10, 1).toArray(new String[0]);
        ScoringSpec s =
                new ScoringSpec(shipped, ScoringSpec.Output.LOGITS)
                        .columns("Test", "text", null)
                        .maxLength(24);
        Score[] a = run(s, t, null);
        Score[] b = run(s, t, null);
        Score[] dir = run(spec(ScoringSpec.Output.LOGITS), t, null);
        for (int i = 0; i < t.length; i++) {
            assertClose(dir[i].values(), a[i].values(), "shipped vs dir " + i);
            assertArrayEquals(a[i].values(), b[i].values());
        }
        assertEquals(1, ModelCache.loadCount(shipped, "cpu"));
    }
}
