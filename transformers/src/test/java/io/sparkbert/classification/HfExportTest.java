package io.sparkbert.classification;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import io.sparkbert.bert.BertModel;
import io.sparkbert.bert.Encoding;
import io.sparkbert.bert.HfExport;
import io.sparkbert.bert.HfTokenizer;
import io.sparkbert.bert.TokenizerOptions;
import io.sparkbert.testing.HfSemantics;
import io.sparkbert.testing.SparkTestSession;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.LogEvent;
import org.apache.logging.log4j.core.appender.AbstractAppender;
import org.apache.logging.log4j.core.config.Property;
import org.apache.spark.ml.Pipeline;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.PipelineStage;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a saved classifier's hf/ folder means to HF (issue 18): read with HF's semantics only, by
 * the independent {@link HfSemantics} reader (config.json's standard keys, never the {@code
 * sparkbert} block; always the pooler path of {@code BertForSequenceClassification}), it must give
 * the logits spark-bert scores, within 1e-4. A mean-pooled head must not be readable as a {@code
 * BertForSequenceClassification} at all. Also: the weights are stored once per saved directory.
 */
class HfExportTest {
    static final double TOL = 1e-4;
    static Dataset<Row> data;

    @TempDir static Path tmp;

    static Path headless;

    @BeforeAll
    static void setUp() throws IOException {
        // BertClassifierTest's helpers read its static session and temp dir.
        BertClassifierTest.spark = SparkTestSession.get();
        BertClassifierTest.tmp = tmp;
        data = BertClassifierTest.frame(BertClassifierTest.TEXTS, BertClassifierTest.LABELS);
        headless = BertClassifierTest.headless();
    }

    /** rawPrediction of every text, in TEXTS order. */
    static double[][] scored(Dataset<Row> out) {
        Map<String, double[]> byText = new java.util.HashMap<>();
        for (Row r : out.collectAsList()) {
            byText.put(r.getAs("text"), ((Vector) r.getAs("rawPrediction")).toArray());
        }
        double[][] rows = new double[BertClassifierTest.TEXTS.length][];
        for (int i = 0; i < rows.length; i++) {
            rows[i] = byText.get(BertClassifierTest.TEXTS[i]);
        }
        return rows;
    }

    /** Token ids as HF's tokenizer gives them from the folder's own tokenizer.json. */
    static long[][][] encode(Path hf) {
        return encode(hf, BertClassifierTest.TEXTS);
    }

    /** Token ids of {@code texts} from the folder's own tokenizer.json. */
    static long[][][] encode(Path hf, String[] texts) {
        long[][][] out = new long[3][texts.length][];
        try (HfTokenizer tok = HfTokenizer.fromDirectory(hf, TokenizerOptions.defaults())) {
            for (int i = 0; i < texts.length; i++) {
                Encoding e = tok.encode(texts[i]);
                out[0][i] = e.inputIds();
                out[1][i] = e.tokenTypeIds();
                out[2][i] = e.attentionMask();
            }
        }
        return out;
    }

    /** HF's BertForSequenceClassification logits for TEXTS from the folder {@code hf}. */
    static double[][] hfLogits(Path hf) throws IOException {
        long[][][] in = encode(hf);
        return HfSemantics.read(hf).sequenceClassificationLogits(in[0], in[1], in[2]);
    }

    static void assertClose(double[][] expected, double[][] actual, double tol) {
        double worst = 0;
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i].length, actual[i].length);
            for (int j = 0; j < expected[i].length; j++) {
                worst = Math.max(worst, Math.abs(expected[i][j] - actual[i][j]));
            }
        }
        assertTrue(worst <= tol, "logits differ by " + worst);
    }

    static long size(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(Files::isRegularFile).mapToLong(p -> p.toFile().length()).sum();
        }
    }

    /** Bytes in all safetensors files below {@code dir}. */
    static long weightsBytes(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(p -> p.toString().endsWith(".safetensors"))
                    .mapToLong(p -> p.toFile().length())
                    .sum();
        }
    }

    static String config(Path hf) throws IOException {
        return Files.readString(hf.resolve("config.json"), StandardCharsets.UTF_8);
    }

    /**
     * The default built-in (e5-small-v2, like every built-in) has no pooler in its ONNX file: by
     * default its head is HF's pooler path, with a fresh pooler that trains, and HF reads the
     * export with spark-bert's logits.
     */
    @Test
    void theBuiltInDefaultIsExportedAsHfReadsIt() throws IOException {
        BertClassificationModel m =
                new BertClassifier()
                        .setEpochs(1)
                        .setBatchSize(4)
                        .setMaxLength(32)
                        .setLogEverySteps(0)
                        .setSeed(5)
                        .setDevice("cpu")
                        .fit(data);
        assertEquals("pooler", m.pooling());
        Path dir = tmp.resolve("builtin");
        m.write().save(dir.toString());
        Path hf = dir.resolve("hf");
        assertTrue(config(hf).contains("\"BertForSequenceClassification\""), config(hf));
        double[][] ours = scored(m.transform(data));
        assertClose(ours, hfLogits(hf), TOL);
        // The pooler HF reads is the trained one, not its initialisation.
        try (BertModel base = BertModel.builtIn(Device.cpu());
                BertModel init = base.withFreshClassifier(2, 5);
                BertModel saved = BertModel.load(hf, Device.cpu())) {
            float[] a = init.parameters().get("pooler.dense.weight").toFloatArray();
            float[] b = saved.parameters().get("pooler.dense.weight").toFloatArray();
            double moved = 0;
            for (int i = 0; i < a.length; i++) {
                moved = Math.max(moved, Math.abs(a[i] - b[i]));
            }
            assertTrue(moved > 1e-6, "the pooler did not train: " + moved);
        }
        // Weights once; save -> load -> transform gives the same outputs.
        assertTrue(size(dir) < 1.1 * Files.size(hf.resolve("model.safetensors")), "" + size(dir));
        assertArrayEquals(
                ours, scored(BertClassificationModel.load(dir.toString()).transform(data)));
    }

    /** A checkpoint with its own pooler and head (the reference fixture), fine-tuned a little. */
    @Test
    void aCheckpointWithItsOwnPoolerIsExportedAsHfReadsIt() throws IOException {
        BertClassificationModel m = BertClassifierTest.tiny().setEpochs(1).fit(data);
        assertEquals("pooler", m.pooling());
        Path dir = tmp.resolve("tiny");
        m.write().save(dir.toString());
        assertClose(scored(m.transform(data)), hfLogits(dir.resolve("hf")), TOL);
    }

    /** A PipelineModel saved from the estimator: its stage's hf/ folder. */
    @Test
    void aSavedPipelineModelIsExportedAsHfReadsIt() throws IOException {
        BertClassifier clf = BertClassifierTest.tiny().setModel(headless.toString());
        PipelineModel p = new Pipeline().setStages(new PipelineStage[] {clf}).fit(data);
        Path dir = tmp.resolve("pipeline");
        p.write().save(dir.toString());
        Path hf;
        try (Stream<Path> s = Files.list(dir.resolve("stages"))) {
            hf = s.findFirst().orElseThrow().resolve("hf");
        }
        double[][] ours = scored(p.transform(data));
        assertClose(ours, hfLogits(hf), TOL);
        // The tiny model's weights are smaller than its tokenizer: count the weights files.
        assertEquals(Files.size(hf.resolve("model.safetensors")), weightsBytes(dir));
        assertArrayEquals(ours, scored(PipelineModel.load(dir.toString()).transform(data)));
    }

    /**
     * A mean-pooled head (an explicit choice) is exported as HF BertModel plus its own head file:
     * HF cannot take it for a BertForSequenceClassification, and the README's few lines (mean of
     * the last hidden state, then the head) give spark-bert's logits.
     */
    @Test
    void aMeanHeadIsExportedAsAnEncoderPlusItsHead() throws IOException {
        BertClassificationModel m =
                BertClassifierTest.tiny()
                        .setModel(headless.toString())
                        .setPooling("mean")
                        .setEpochs(1)
                        .fit(data);
        Path dir = tmp.resolve("mean");
        m.write().save(dir.toString());
        Path hf = dir.resolve("hf");
        assertTrue(config(hf).contains("\"BertModel\""), config(hf));
        assertFalse(config(hf).contains("BertForSequenceClassification"), config(hf));
        HfSemantics reader = HfSemantics.read(hf);
        assertFalse(reader.has("pooler.dense.weight") || reader.has("bert.pooler.dense.weight"));
        assertFalse(reader.has("classifier.weight"));
        long[][][] in = encode(hf);
        assertThrows(
                IllegalStateException.class,
                () -> reader.sequenceClassificationLogits(in[0], in[1], in[2]));
        // The README snippet: BertModel's last hidden state, masked mean, classifier.safetensors.
        double[][][] h = reader.lastHiddenState(in[0], in[1], in[2]);
        Map<String, double[]> head = HfSemantics.tensorsOf(hf.resolve(HfExport.HEAD));
        double[] w = head.get("classifier.weight");
        double[] b = head.get("classifier.bias");
        double[][] snippet = new double[h.length][];
        for (int r = 0; r < h.length; r++) {
            int hidden = h[r][0].length;
            double[] mean = new double[hidden];
            int n = 0;
            for (int t = 0; t < h[r].length; t++) {
                if (in[2][r][t] == 1) {
                    n++;
                    for (int i = 0; i < hidden; i++) {
                        mean[i] += h[r][t][i];
                    }
                }
            }
            snippet[r] = new double[b.length];
            for (int o = 0; o < b.length; o++) {
                double s = b[o];
                for (int i = 0; i < hidden; i++) {
                    s += w[o * hidden + i] * mean[i] / n;
                }
                snippet[r][o] = s;
            }
        }
        double[][] ours = scored(m.transform(data));
        assertClose(ours, snippet, TOL);
        BertClassificationModel back = BertClassificationModel.load(dir.toString());
        assertEquals("mean", back.pooling());
        assertArrayEquals(ours, scored(back.transform(data)));
        // spark-bert reads the folder as a checkpoint too (e.g. score --model DIR/hf).
        try (BertModel saved = BertModel.load(hf, Device.cpu())) {
            assertTrue(saved.hasClassifier());
            assertFalse(saved.hasPooler());
        }
    }

    /** Log lines of one logger while {@code body} runs. */
    static List<String> warnings(Class<?> logger, Runnable body) {
        List<String> lines = new ArrayList<>();
        org.apache.logging.log4j.core.Logger l =
                (org.apache.logging.log4j.core.Logger) LogManager.getLogger(logger);
        AbstractAppender a =
                new AbstractAppender("capture", null, null, true, Property.EMPTY_ARRAY) {
                    @Override
                    public void append(LogEvent event) {
                        lines.add(event.getMessage().getFormattedMessage());
                    }
                };
        a.start();
        l.addAppender(a);
        try {
            body.run();
        } finally {
            l.removeAppender(a);
            a.stop();
        }
        return lines;
    }

    /**
     * A folder written before this layout (a mean head under BertForSequenceClassification, its
     * untrained pooler in model.safetensors) scores as it did and is named once, with the fix;
     * saving it again writes the honest layout.
     */
    @Test
    void anOldMisleadingExportKeepsScoringAndIsNamedOnce() throws IOException {
        BertClassificationModel m =
                BertClassifierTest.tiny()
                        .setModel(headless.toString())
                        .setPooling("mean")
                        .setEpochs(1)
                        .setSeed(3)
                        .fit(data);
        // What the earlier writer put on disk (format version 1).
        Path dir = tmp.resolve("legacy");
        m.write().save(dir.toString());
        Path hf = dir.resolve("hf");
        Files.delete(hf.resolve(HfExport.HEAD));
        Files.writeString(hf.resolve("config.json"), m.payload().configJson);
        Files.write(hf.resolve("model.safetensors"), m.payload().weights);
        Path info = dir.resolve("sparkbert.json");
        Files.writeString(
                info, Files.readString(info).replace("\"formatVersion\":2", "\"formatVersion\":1"));
        try (Stream<Path> crc = Files.walk(dir)) {
            // Hadoop's checksums of the files edited above
            for (Path c : crc.filter(f -> f.toString().endsWith(".crc")).toList()) {
                Files.delete(c);
            }
        }
        assertTrue(config(hf).contains("BertForSequenceClassification"), config(hf));
        assertTrue(Files.readString(info).contains("\"formatVersion\":1"));

        List<BertClassificationModel> loaded = new ArrayList<>();
        List<String> logged =
                warnings(
                        HfExport.class,
                        () -> {
                            loaded.add(BertClassificationModel.load(dir.toString()));
                            loaded.add(BertClassificationModel.load(dir.toString()));
                        });
        assertEquals(1, logged.size(), logged.toString());
        assertTrue(
                logged.get(0).contains(dir.toString())
                        && logged.get(0).contains("mean pooling")
                        && logged.get(0).contains("re-export")
                        && logged.get(0).contains("retrain"),
                logged.get(0));
        double[][] ours = scored(m.transform(data));
        assertArrayEquals(ours, scored(loaded.get(0).transform(data)));
        // Re-exported: the honest layout, same outputs.
        Path again = tmp.resolve("legacy-reexported");
        loaded.get(0).write().save(again.toString());
        assertTrue(config(again.resolve("hf")).contains("\"BertModel\""));
        assertTrue(Files.exists(again.resolve("hf").resolve(HfExport.HEAD)));
        assertArrayEquals(
                ours, scored(BertClassificationModel.load(again.toString()).transform(data)));
    }
}
