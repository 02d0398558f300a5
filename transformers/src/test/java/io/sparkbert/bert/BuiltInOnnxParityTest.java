package io.sparkbert.bert;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import io.sparkbert.testing.BertArrays;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The built-in all-MiniLM-L6-v2 (weights parsed from the ONNX file, forward in DJL) against ONNX
 * Runtime running the same ONNX graph: last hidden state within 1e-4 on real tokens.
 */
class BuiltInOnnxParityTest {
    static final double TOL = 1e-4;
    static final List<String> SENTENCES =
            List.of(
                    "Hi",
                    "Hello, world!",
                    "The quick brown fox jumps over the lazy dog.",
                    "I don't like this product at all.",
                    "BERT is amazing for NLP tasks!",
                    "Wow!!! This is... unbelievable?!",
                    "Crème brûlée is a French dessert; café au lait too.",
                    "Москва — столица России.",
                    "東京は日本の首都です。",
                    "Emojis 😀🎉 and symbols © ® ™ € £ ¥",
                    "e-mail me at someone@example.com or visit https://example.org/a?b=c",
                    "Numbers: 3.14159, 42, 1,000,000 and -7.",
                    "COVID-19 pandemic changed the world in 2020.",
                    "   leading and trailing spaces   ",
                    "tabs\tand\nnewlines",
                    "A man is playing a guitar on stage in front of a large crowd of people.",
                    "Naïve résumé façade coöperate",
                    "supercalifragilisticexpialidocious antidisestablishmentarianism",
                    "(parentheses) [brackets] {braces} <angles> \"quotes\" 'single'",
                    "The service was terrible and not worth the money, and I will never go back"
                            + " there again because the staff were rude, the food was cold, the"
                            + " prices were outrageous, the music was far too loud, the tables"
                            + " were sticky, and the whole evening felt like a complete waste of"
                            + " time that I would rather forget as soon as possible. Honestly, if"
                            + " I could give zero stars I would, and I have told all of my friends"
                            + " and family to avoid the place at all costs from now on.",
                    "Ok.");

    static BertModel model;
    static HuggingFaceTokenizer tokenizer;
    static OrtEnvironment env;
    static OrtSession session;

    @BeforeAll
    static void setUp() throws IOException, OrtException {
        model = BertModel.builtIn(BuiltInModel.MINILM_L6_V2, Device.cpu());
        try (InputStream in = BertModel.class.getResourceAsStream(OnnxWeights.BUILT_IN_TOKENIZER)) {
            Map<String, String> opts = new HashMap<>();
            opts.put("padding", "false");
            opts.put("truncation", "true");
            opts.put("maxLength", "256");
            tokenizer = HuggingFaceTokenizer.newInstance(in, opts);
        }
        env = OrtEnvironment.getEnvironment();
        try (InputStream in = BertModel.class.getResourceAsStream(OnnxWeights.BUILT_IN_ONNX)) {
            session = env.createSession(in.readAllBytes(), new OrtSession.SessionOptions());
        }
    }

    @AfterAll
    static void tearDown() throws OrtException {
        model.close();
        tokenizer.close();
        session.close();
    }

    static float[][][] ort(long[][] ids, long[][] types, long[][] mask) throws OrtException {
        Map<String, OnnxTensor> in = new HashMap<>();
        try (OnnxTensor a = OnnxTensor.createTensor(env, ids);
                OnnxTensor b = OnnxTensor.createTensor(env, mask);
                OnnxTensor c = OnnxTensor.createTensor(env, types)) {
            in.put("input_ids", a);
            in.put("attention_mask", b);
            in.put("token_type_ids", c);
            try (OrtSession.Result r = session.run(in)) {
                return (float[][][]) r.get(0).getValue();
            }
        }
    }

    /** Pads encodings to one length with [PAD]=0 and mask 0. */
    static long[][][] batch(List<Encoding> encodings) {
        int len = 0;
        for (Encoding e : encodings) {
            len = Math.max(len, e.getIds().length);
        }
        long[][][] out = new long[3][encodings.size()][len];
        for (int i = 0; i < encodings.size(); i++) {
            Encoding e = encodings.get(i);
            System.arraycopy(e.getIds(), 0, out[0][i], 0, e.getIds().length);
            System.arraycopy(e.getTypeIds(), 0, out[1][i], 0, e.getTypeIds().length);
            System.arraycopy(e.getAttentionMask(), 0, out[2][i], 0, e.getAttentionMask().length);
        }
        return out;
    }

    static double compare(long[][] mask, float[][][] expected, float[][][] actual, String what) {
        double worst = 0;
        for (int i = 0; i < mask.length; i++) {
            for (int t = 0; t < mask[i].length; t++) {
                if (mask[i][t] == 0) {
                    continue;
                }
                for (int d = 0; d < expected[i][t].length; d++) {
                    double diff = Math.abs(expected[i][t][d] - actual[i][t][d]);
                    worst = Math.max(worst, diff);
                    if (!(diff <= TOL)) {
                        assertEquals(
                                expected[i][t][d],
                                actual[i][t][d],
                                TOL,
                                what + " row " + i + " token " + t + " dim " + d);
                    }
                }
            }
        }
        return worst;
    }

    @Test
    void builtInShapeAndNoPooler() {
        assertEquals(384, model.config().hiddenSize());
        assertEquals(6, model.config().numHiddenLayers());
        assertEquals(12, model.config().numAttentionHeads());
        assertEquals(1536, model.config().intermediateSize());
        assertEquals(30522, model.config().vocabSize());
        assertEquals(512, model.config().maxPositionEmbeddings());
        assertFalse(model.hasPooler());
        assertFalse(model.hasClassifier());
        // 22,713,216 of all-MiniLM-L6-v2 minus the pruned pooler (384 * 384 + 384).
        assertEquals(22_713_216L - 147_840L, model.parameterCount());
        assertThrows(
                IllegalStateException.class,
                () -> BertArrays.pooler(model, new long[][] {{101, 102}}, null, null));
    }

    @Test
    void onnxGraphIsReadCompletely() throws IOException {
        byte[] bytes;
        try (InputStream in = BertModel.class.getResourceAsStream(OnnxWeights.BUILT_IN_ONNX)) {
            bytes = in.readAllBytes();
        }
        OnnxWeights.Parsed parsed = OnnxWeights.read(bytes, "built-in");
        assertEquals(102, parsed.initializers());
        assertEquals(637, parsed.nodes());
        // Every encoder weight maps to an HF name; the 36 MatMul weights arrive as [out, in].
        assertTrue(
                parsed.tensors()
                        .keySet()
                        .containsAll(
                                BertModel.expectedShapes(model.config(), false, false).keySet()));
        OnnxWeights.Tensor q = parsed.tensors().get("encoder.layer.5.intermediate.dense.weight");
        assertEquals(1536, q.shape()[0]);
        assertEquals(384, q.shape()[1]);
        assertEquals(
                "encoder.layer.2.attention.self.query.weight",
                OnnxWeights.matMulNodeToHf("/encoder/layer.2/attention/self/query/MatMul"));
    }

    @Test
    void singleTextsMatchOnnxRuntime() throws OrtException {
        double worst = 0;
        for (String s : SENTENCES) {
            long[][][] b = batch(List.of(tokenizer.encode(s)));
            float[][][] expected = ort(b[0], b[1], b[2]);
            float[][][] actual = BertArrays.lastHiddenState(model, b[0], b[1], b[2]);
            worst = Math.max(worst, compare(b[2], expected, actual, s));
        }
        assertTrue(worst > 0, "outputs should not be bit-identical to a different engine");
        System.out.println("built-in vs ORT, single texts: max abs diff " + worst);
    }

    @Test
    void paddedBatchesMatchOnnxRuntime() throws OrtException {
        double worst = 0;
        List<Encoding> all = new ArrayList<>();
        for (String s : SENTENCES) {
            all.add(tokenizer.encode(s));
        }
        // Batches of mixed lengths, so most rows carry padding.
        for (int from = 0; from < all.size(); from += 7) {
            List<Encoding> part = all.subList(from, Math.min(all.size(), from + 7));
            long[][][] b = batch(part);
            float[][][] expected = ort(b[0], b[1], b[2]);
            float[][][] actual = BertArrays.lastHiddenState(model, b[0], b[1], b[2]);
            worst = Math.max(worst, compare(b[2], expected, actual, "batch from " + from));
        }
        // Padding must not change a row's real-token outputs: the padded whole batch equals the
        // single-text results.
        long[][][] whole = batch(all);
        float[][][] together = BertArrays.lastHiddenState(model, whole[0], whole[1], whole[2]);
        for (int i = 0; i < all.size(); i++) {
            long[][][] one = batch(List.of(all.get(i)));
            float[][][] alone = BertArrays.lastHiddenState(model, one[0], one[1], one[2]);
            compare(one[2], alone, new float[][][] {together[i]}, "padded vs alone " + i);
        }
        System.out.println("built-in vs ORT, padded batches: max abs diff " + worst);
    }

    @Test
    void secondBuiltInReusesParsedWeights() {
        long t0 = System.nanoTime();
        try (BertModel again = BertModel.builtIn(BuiltInModel.MINILM_L6_V2, Device.cpu())) {
            long ms = (System.nanoTime() - t0) / 1_000_000;
            System.out.println("second builtIn(): " + ms + " ms");
            assertTrue(ms < 2000, "second builtIn() took " + ms + " ms: weights re-parsed?");
            long[][] ids = {{101, 7592, 2088, 102}};
            float[][] a = BertArrays.embed(model, ids, null, null, Pooling.MEAN, true);
            float[][] b = BertArrays.embed(again, ids, null, null, Pooling.MEAN, true);
            for (int j = 0; j < a[0].length; j++) {
                assertEquals(a[0][j], b[0][j], 0.0);
            }
        }
    }
}
