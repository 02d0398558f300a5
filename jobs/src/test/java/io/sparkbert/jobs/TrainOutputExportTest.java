package io.sparkbert.jobs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkbert.bert.Encoding;
import io.sparkbert.bert.HfTokenizer;
import io.sparkbert.bert.TokenizerOptions;
import io.sparkbert.testing.HfSemantics;
import io.sparkbert.testing.SparkTestSession;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.stream.Stream;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The train job's output with the built-in default model: its {@code hf/} folder read with HF's
 * semantics gives the logits {@code score} writes, the weights are stored once, and a directory in
 * the earlier layout (a second copy of hf/ inside the pipeline stage) still scores the same.
 */
class TrainOutputExportTest {
    private final SparkSession spark = SparkTestSession.get();
    private final BertBackend backend = new BertBackend();

    @TempDir Path tmp;

    private double[][] score(String model, Path corpus, String out) {
        ScoreJob s = new ScoreJob(backend);
        s.run(
                spark,
                s.parse(
                        "--model",
                        model,
                        "--input",
                        corpus.toString(),
                        "--output",
                        tmp.resolve(out).toString()));
        List<Row> rows =
                spark.read()
                        .parquet(tmp.resolve(out).toString())
                        .orderBy("id")
                        .select("rawPrediction")
                        .collectAsList();
        double[][] logits = new double[rows.size()][];
        for (int i = 0; i < logits.length; i++) {
            List<Double> l = rows.get(i).getList(0);
            logits[i] = l.stream().mapToDouble(Double::doubleValue).toArray();
        }
        return logits;
    }

    private static long size(Path dir, String suffix) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(p -> Files.isRegularFile(p) && p.toString().endsWith(suffix))
                    .mapToLong(p -> p.toFile().length())
                    .sum();
        }
    }

    @Test
    void theTrainJobsHfFolderMeansToHfWhatScoreComputesAndHoldsTheWeightsOnce() throws IOException {
        Path train = JobFixtures.write(tmp.resolve("train.jsonl"), JobFixtures.lines(0, 16, true));
        Path model = tmp.resolve("model");
        TrainJob t = new TrainJob(backend);
        t.run(
                spark,
                t.parse(
                        "--input",
                        train.toString(),
                        "--output",
                        model.toString(),
                        "--model",
                        "default",
                        "--epochs",
                        "1",
                        "--batch-size",
                        "8",
                        "--max-length",
                        "32"));
        Path hf = model.resolve("hf");
        long weights = Files.size(hf.resolve("model.safetensors"));
        assertEquals(weights, size(model, ".safetensors"), "one weights file in the model dir");
        assertTrue(size(model, "") < 1.1 * weights, size(model, "") + " vs " + weights);

        List<String> lines = JobFixtures.unlabelled(100, 6);
        Path corpus = JobFixtures.write(tmp.resolve("corpus.jsonl"), lines);
        double[][] scored = score(model.toString(), corpus, "scores");
        // HF's reading of DIR/hf: its own tokenizer.json, BertForSequenceClassification's pooler.
        long[][] ids = new long[lines.size()][];
        long[][] types = new long[lines.size()][];
        long[][] mask = new long[lines.size()][];
        try (HfTokenizer tok = HfTokenizer.fromDirectory(hf, TokenizerOptions.defaults())) {
            for (int i = 0; i < lines.size(); i++) {
                String text = lines.get(i).replaceAll(".*\"text\":\"([^\"]*)\".*", "$1");
                Encoding e = tok.encode(text);
                ids[i] = e.inputIds();
                types[i] = e.tokenTypeIds();
                mask[i] = e.attentionMask();
            }
        }
        double[][] hfLogits = HfSemantics.read(hf).sequenceClassificationLogits(ids, types, mask);
        double worst = 0;
        for (int i = 0; i < scored.length; i++) {
            for (int j = 0; j < scored[i].length; j++) {
                worst = Math.max(worst, Math.abs(scored[i][j] - hfLogits[i][j]));
            }
        }
        assertTrue(worst < 1e-4, "HF's logits differ from score's by " + worst);

        // Moved elsewhere as a whole, the stage still finds its weights in DIR/hf.
        Path moved = tmp.resolve("moved-model");
        Files.move(model, moved, StandardCopyOption.ATOMIC_MOVE);
        double[][] again = score(moved.toString(), corpus, "scores-moved");
        for (int i = 0; i < scored.length; i++) {
            assertArrayEquals(scored[i], again[i]);
        }
        hf = moved.resolve("hf");

        // The earlier layout: the stage keeps its own hf/ copy, format version 1.
        Path stage;
        try (Stream<Path> s = Files.list(moved.resolve("stages"))) {
            stage = s.findFirst().orElseThrow();
        }
        Files.createDirectories(stage.resolve("hf"));
        try (Stream<Path> s = Files.list(hf)) {
            for (Path f : s.toList()) {
                Files.copy(f, stage.resolve("hf").resolve(f.getFileName()));
            }
        }
        Path info = stage.resolve("sparkbert.json");
        Files.writeString(
                info,
                Files.readString(info)
                        .replaceAll(",?\"hfDir\":\"[^\"]*\"", "")
                        .replace("\"formatVersion\":2", "\"formatVersion\":1"));
        Files.deleteIfExists(stage.resolve(".sparkbert.json.crc"));
        assertTrue(Files.readString(info).contains("\"formatVersion\":1"), Files.readString(info));
        double[][] old = score(moved.toString(), corpus, "scores-old-layout");
        for (int i = 0; i < scored.length; i++) {
            assertArrayEquals(scored[i], old[i]);
        }
    }
}
