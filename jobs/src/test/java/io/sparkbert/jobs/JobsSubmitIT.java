package io.sparkbert.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sparkbert.data.Example;
import io.sparkbert.data.SentimentCorpus;
import io.sparkbert.testing.Fixtures;
import io.sparkbert.testing.SparkSubmitRunner;
import io.sparkbert.testing.SparkTestSession;
import io.sparkbert.testing.StandaloneCluster;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * TrainJob and ScoreJob through SparkSubmit on a standalone master + worker (separate executor
 * JVMs) give the same model and the same scores as the same jobs in local mode: a UCI subset, the
 * tiny reference checkpoint, one epoch.
 */
class JobsSubmitIT {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir Path tmp;

    private static List<String> jsonl(List<Example> examples, boolean withLabel) {
        List<String> out = new ArrayList<>();
        for (Example e : examples) {
            var n = JSON.createObjectNode().put("id", e.id()).put("text", e.text());
            if (withLabel) {
                n.put("label", e.label() == 1 ? "positive" : "negative");
            }
            out.add(n.toString());
        }
        return out;
    }

    @Test
    void submittedJobsMatchLocalMode() throws IOException {
        SentimentCorpus.ExampleSplit split =
                SentimentCorpus.split(SentimentCorpus.load(), 0.8, DemoJob.SPLIT_SEED);
        Path train =
                JobFixtures.write(
                        tmp.resolve("data/train.jsonl"), jsonl(split.train().subList(0, 64), true));
        Path corpus =
                JobFixtures.write(
                        tmp.resolve("data/corpus.jsonl"),
                        jsonl(split.test().subList(0, 40), false));
        List<String> trainArgs =
                List.of(
                        "--input", train.toString(),
                        "--model", Fixtures.tinyBert().toString(),
                        "--epochs", "1",
                        "--batch-size", "16",
                        "--max-length", "64",
                        "--learning-rate", "1e-3",
                        "--seed", "7");

        // local mode, in this JVM
        SparkSession spark = SparkTestSession.get();
        Path localModel = tmp.resolve("local/model");
        Path localScores = tmp.resolve("local/scores");
        TrainJob t = new TrainJob(new BertBackend());
        List<String> a = new ArrayList<>(trainArgs);
        a.addAll(List.of("--output", localModel.toString()));
        t.run(spark, t.parse(a.toArray(new String[0])));
        ScoreJob s = new ScoreJob(new BertBackend());
        s.run(
                spark,
                s.parse(
                        "--model",
                        localModel.toString(),
                        "--input",
                        corpus.toString(),
                        "--output",
                        localScores.toString(),
                        "--id-col",
                        "id"));

        // the same jobs through SparkSubmit on the cluster
        Path clusterModel = tmp.resolve("cluster/model");
        Path clusterScores = tmp.resolve("cluster/scores");
        Path jar = SparkSubmitRunner.appJar(tmp.resolve("app.jar"), JobRunner.class);
        Map<String, String> conf =
                Map.of(
                        "spark.executor.memory",
                        "1g",
                        "spark.cores.max",
                        "2",
                        "spark.sql.shuffle.partitions",
                        "2");
        try (StandaloneCluster cluster = StandaloneCluster.start(2, 2048)) {
            List<String> ca = new ArrayList<>(trainArgs);
            ca.addAll(List.of("--output", clusterModel.toString()));
            SparkSubmitRunner.Result tr =
                    SparkSubmitRunner.run(
                            cluster.masterUrl(),
                            TrainJob.class.getName(),
                            jar,
                            conf,
                            ca,
                            Duration.ofMinutes(5));
            assertFalse(tr.timedOut(), tr.stderrTail(40));
            assertEquals(0, tr.exitCode(), tr.stderrTail(40));
            assertTrue(tr.stdout().contains("train: 64 rows in "), tr.stdout());
            // A plain spark-submit without a log4j2 file: the main quiets Spark's INFO defaults,
            // while the trainer's own progress stays.
            assertFalse(tr.stderr().contains(" INFO DAGScheduler: "), tr.stderrTail(40));
            assertTrue(tr.stderr().contains(" INFO Trainer: epoch 1/1: "), tr.stderrTail(40));
            SparkSubmitRunner.Result sr =
                    SparkSubmitRunner.run(
                            cluster.masterUrl(),
                            ScoreJob.class.getName(),
                            jar,
                            conf,
                            List.of(
                                    "--model",
                                    clusterModel.toString(),
                                    "--input",
                                    corpus.toString(),
                                    "--output",
                                    clusterScores.toString(),
                                    "--id-col",
                                    "id"),
                            Duration.ofMinutes(5));
            assertEquals(0, sr.exitCode(), sr.stderrTail(40));
            assertTrue(sr.stdout().contains("score: 40 rows in "), sr.stdout());
        }

        // same training trajectory (training runs on the driver, seeded)
        JsonNode lm = JSON.readTree(localModel.resolve("metrics.json").toFile()).get("steps");
        JsonNode cm = JSON.readTree(clusterModel.resolve("metrics.json").toFile()).get("steps");
        assertEquals(4, lm.size(), "64 rows / batch 16");
        assertEquals(lm.size(), cm.size());
        for (int i = 0; i < lm.size(); i++) {
            assertEquals(lm.get(i).get("loss").asDouble(), cm.get(i).get("loss").asDouble(), 1e-6);
        }
        // same rows, same values
        List<Row> local =
                spark.read().parquet(localScores.toString()).orderBy("id").collectAsList();
        List<Row> remote =
                spark.read().parquet(clusterScores.toString()).orderBy("id").collectAsList();
        assertEquals(40, local.size());
        assertEquals(local.size(), remote.size());
        for (int i = 0; i < local.size(); i++) {
            Row l = local.get(i);
            Row r = remote.get(i);
            assertEquals(l.getAs("id"), (Object) r.getAs("id"));
            assertEquals((double) l.getAs("prediction"), (double) r.getAs("prediction"));
            assertEquals((String) l.getAs("predictedLabel"), (String) r.getAs("predictedLabel"));
            List<Double> pl = l.getList(l.fieldIndex("probability"));
            List<Double> pr = r.getList(r.fieldIndex("probability"));
            for (int c = 0; c < 2; c++) {
                assertEquals(pl.get(c), pr.get(c), 1e-5, "row " + l.getAs("id"));
            }
        }
        JsonNode manifest = JSON.readTree(clusterScores.resolve(ScoreJob.MANIFEST).toFile());
        assertEquals(40, manifest.get("output_rows").asLong());
        assertEquals(clusterModel.toString(), manifest.get("model").asText());
    }
}
