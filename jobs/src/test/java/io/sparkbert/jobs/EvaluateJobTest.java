package io.sparkbert.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sparkbert.testing.SparkTestSession;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The evaluate job end to end on the stand-in backend: its numbers equal a direct count. */
class EvaluateJobTest {
    private final SparkSession spark = SparkTestSession.get();

    @TempDir Path tmp;

    @Test
    void metricsAgreeWithTheScoredRowsAndTheReportIsWritten() throws IOException {
        MllibBackend backend = new MllibBackend();
        Path train = JobFixtures.write(tmp.resolve("train.jsonl"), JobFixtures.lines(0, 40, true));
        Path model = tmp.resolve("model");
        TrainJob t = new TrainJob(backend);
        t.run(
                spark,
                t.parse(
                        "--input",
                        train.toString(),
                        "--output",
                        model.toString(),
                        "--epochs",
                        "1"));
        // held-out rows with unseen numbers and one word the model never saw (mixed signal)
        List<String> lines = new ArrayList<>(JobFixtures.lines(100, 20, true));
        lines.add("{\"id\":\"x1\",\"text\":\"unknown words only\",\"label\":\"pos\"}");
        lines.add("{\"id\":\"x2\",\"text\":\"unknown words only\",\"label\":\"neg\"}");
        lines.add("{\"id\":\"x3\",\"text\":null,\"label\":\"neg\"}");
        Path test = JobFixtures.write(tmp.resolve("test.jsonl"), lines);
        Path out = tmp.resolve("eval");
        EvaluateJob ev = new EvaluateJob(backend);
        JobResult r =
                ev.run(
                        spark,
                        ev.parse(
                                "--model",
                                model.toString(),
                                "--input",
                                test.toString(),
                                "--output",
                                out.toString()));
        assertEquals(22, r.rows());
        JsonNode m = new ObjectMapper().readTree(out.resolve("metrics.json").toFile());
        assertEquals(1, m.get("null_texts_skipped").asLong());

        // the same counts straight from the score job's output
        Path scores = tmp.resolve("scores");
        ScoreJob sj = new ScoreJob(backend);
        sj.run(
                spark,
                sj.parse(
                        "--model",
                        model.toString(),
                        "--input",
                        test.toString(),
                        "--output",
                        scores.toString()));
        long correct = 0;
        long[][] cm = new long[2][2];
        long n = 0;
        for (Row row :
                spark.read()
                        .parquet(scores.toString())
                        .filter("text is not null")
                        .select("label", "predictedLabel")
                        .collectAsList()) {
            int y = row.getString(0).equals("pos") ? 1 : 0;
            int p = row.getString(1).equals("pos") ? 1 : 0;
            cm[y][p]++;
            n++;
            if (y == p) {
                correct++;
            }
        }
        assertEquals(22, n);
        assertEquals((double) correct / n, m.get("accuracy").asDouble(), 1e-12);
        assertEquals(
                "[[" + cm[0][0] + "," + cm[0][1] + "],[" + cm[1][0] + "," + cm[1][1] + "]]",
                m.get("confusion_matrix").toString());
        double precision1 = (double) cm[1][1] / (cm[0][1] + cm[1][1]);
        assertEquals(precision1, m.get("per_class").get(1).get("precision").asDouble(), 1e-12);
        assertTrue(m.get("roc_auc").asDouble() > 0.5);
        String html = Files.readString(out.resolve("report.html"));
        assertTrue(html.contains("id=\"roc-curve\"") && html.contains("id=\"loss-curve\""));
    }
}
