package io.sparkbert.classification;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkbert.testing.SparkTestSession;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.spark.ml.Pipeline;
import org.apache.spark.ml.PipelineStage;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Saves from versions that still had the six removed training params load. */
class ClassifierReaderTest {
    @TempDir Path tmp;

    @BeforeAll
    static void spark() {
        SparkTestSession.get();
    }

    /**
     * Adds the removed params to the saved metadata of every BertClassifier under {@code dir}, as
     * an older version wrote them: set ones in paramMap, all of them among the defaults.
     */
    private static void addRemovedParams(Path dir) throws IOException {
        try (var files = Files.walk(dir)) {
            for (Path f :
                    files.filter(p -> p.getFileName().toString().startsWith("part-")).toList()) {
                String json = Files.readString(f, StandardCharsets.UTF_8);
                if (!json.contains(BertClassifier.class.getName())) {
                    continue;
                }
                json =
                        json.replace(
                                        "\"paramMap\":{",
                                        "\"paramMap\":{\"soupSize\":3,\"samRho\":0.05,")
                                .replace(
                                        "\"defaultParamMap\":{",
                                        "\"defaultParamMap\":{\"headLearningRate\":0.0,"
                                                + "\"layerLrDecay\":1.0,\"emaDecay\":0.0,"
                                                + "\"rdropAlpha\":0.0,\"samRho\":0.0,"
                                                + "\"soupSize\":1,");
                Files.writeString(f, json, StandardCharsets.UTF_8);
                // Hadoop's local file system checks the .crc next to the file.
                Files.deleteIfExists(f.resolveSibling("." + f.getFileName() + ".crc"));
            }
        }
    }

    @Test
    void removedParamsAreIgnoredAndTheRestLoads() throws IOException {
        String path = tmp.resolve("clf").toString();
        new BertClassifier("bertClassifier_old")
                .setEpochs(7)
                .setLearningRate(2e-5)
                .write()
                .save(path);
        addRemovedParams(Path.of(path));
        assertTrue(Files.readString(Path.of(path, "metadata", "part-00000")).contains("soupSize"));

        BertClassifier back = BertClassifier.load(path);
        assertEquals("bertClassifier_old", back.uid());
        assertEquals(7, back.getOrDefault(back.epochs()));
        assertEquals(2e-5, back.getOrDefault(back.learningRate()));
        assertEquals(16, back.getOrDefault(back.batchSize()));
    }

    @Test
    void theWarningNamesEveryIgnoredParam() {
        ClassifierReader.Stripped s =
                ClassifierReader.strip(
                        "{\"class\":\"x\",\"uid\":\"u\",\"paramMap\":{\"epochs\":2,\"samRho\":0.1},"
                                + "\"defaultParamMap\":{\"soupSize\":1,\"epochs\":3}}");
        assertEquals(List.of("samRho", "soupSize"), s.ignored());
        assertTrue(s.json().contains("\"epochs\":2"), s.json());
        assertTrue(!s.json().contains("samRho") && !s.json().contains("soupSize"), s.json());
        String w = s.warning("/models/m");
        assertTrue(w.contains("samRho") && w.contains("soupSize") && w.contains("/models/m"), w);
        assertEquals(List.of(), ClassifierReader.strip("{\"paramMap\":{}}").ignored());
        // The old name of lrScheduler carries its value over.
        String renamed =
                ClassifierReader.strip("{\"paramMap\":{\"lrSchedule\":\"constant\"}}").json();
        assertEquals("{\"paramMap\":{\"lrScheduler\":\"constant\"}}", renamed);
    }

    @Test
    void aSavedPipelineWithAnOldClassifierLoads() throws IOException {
        String path = tmp.resolve("pipeline").toString();
        new Pipeline()
                .setStages(new PipelineStage[] {new BertClassifier().setEpochs(5)})
                .write()
                .save(path);
        addRemovedParams(Path.of(path));
        Pipeline back = Pipeline.load(path);
        BertClassifier c = (BertClassifier) back.getStages()[0];
        assertEquals(5, c.getOrDefault(c.epochs()));
    }
}
