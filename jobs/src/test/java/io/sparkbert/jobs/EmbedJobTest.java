package io.sparkbert.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sparkbert.bert.BertModel;
import io.sparkbert.bert.Encoding;
import io.sparkbert.bert.HfTokenizer;
import io.sparkbert.bert.Pooling;
import io.sparkbert.bert.TokenizerOptions;
import io.sparkbert.inference.ModelCache;
import io.sparkbert.inference.ModelSource;
import io.sparkbert.testing.BertArrays;
import io.sparkbert.testing.Fixtures;
import io.sparkbert.testing.SparkTestSession;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EmbedJobTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final SparkSession spark = SparkTestSession.get();

    @TempDir Path tmp;

    @Test
    void writesTheEngineVectorsKeepsNullsAndCommitsAManifest() throws IOException {
        List<String> texts =
                List.of("The weather is nice", "Terrible film, waste of time.", "Hello, world!");
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < texts.size(); i++) {
            lines.add(JSON.createObjectNode().put("id", i).put("text", texts.get(i)).toString());
        }
        lines.add(JSON.createObjectNode().put("id", 3).putNull("text").toString());
        Path in = JobFixtures.write(tmp.resolve("texts.jsonl"), lines);
        Path out = tmp.resolve("vectors");
        EmbedJob job = new EmbedJob();
        JobResult r =
                job.run(
                        spark,
                        job.parse(
                                "--model",
                                Fixtures.tinyBert().toString(),
                                "--input",
                                in.toString(),
                                "--output",
                                out.toString(),
                                "--format",
                                "json",
                                "--pooling",
                                "cls",
                                "--normalize",
                                "false"));
        assertEquals(4, r.rows());
        JsonNode manifest = JSON.readTree(out.resolve(ScoreJob.MANIFEST).toFile());
        assertEquals(4, manifest.get("input_rows").asLong());
        assertEquals(4, manifest.get("output_rows").asLong());
        assertEquals(1, manifest.get("null_texts").asLong());
        assertTrue(Files.notExists(Path.of(out + ".lock")));

        List<Row> rows = spark.read().json(out.toString()).orderBy("id").collectAsList();
        assertEquals(4, rows.size());
        try (BertModel model = BertModel.load(Fixtures.tinyBert(), Device.cpu());
                HfTokenizer tok =
                        HfTokenizer.fromDirectory(
                                Fixtures.tinyBert(),
                                TokenizerOptions.defaults().withMaxLength(128))) {
            for (int i = 0; i < texts.size(); i++) {
                Encoding e = tok.encode(texts.get(i));
                float[] expected = BertArrays.embed(model, e, Pooling.CLS, false);
                List<Double> got = rows.get(i).getList(rows.get(i).fieldIndex("embedding"));
                assertEquals(expected.length, got.size());
                for (int k = 0; k < expected.length; k++) {
                    assertEquals(expected[k], got.get(k), 1e-5, "text " + i + " dim " + k);
                }
            }
        }
        assertNull(rows.get(3).get(rows.get(3).fieldIndex("embedding")));
    }

    /**
     * The model the job preloads (on a local master, while Spark starts) is the one its tasks then
     * use: one load in the JVM, not two.
     */
    @Test
    void preloadLoadsTheModelTheTasksUse() throws IOException {
        Path in = JobFixtures.write(tmp.resolve("t.jsonl"), List.of("{\"text\": \"Hello\"}"));
        EmbedJob job = new EmbedJob();
        JobOptions o =
                job.parse(
                        "--model",
                        Fixtures.tinyBert().toString(),
                        "--input",
                        in.toString(),
                        "--output",
                        tmp.resolve("v").toString());
        ModelSource source = ModelSource.location(Fixtures.tinyBert().toString());
        ModelCache.clear();
        job.preload(o);
        assertEquals(1, ModelCache.loadCount(source, "cpu"));
        assertEquals(1, job.run(spark, o).rows());
        assertEquals(1, ModelCache.loadCount(source, "cpu"));
        assertEquals(1, ModelCache.loadCount());
    }

    /** Preloading starts only where the driver runs the tasks. */
    @Test
    void preloadRunsOnlyOnLocalMasters() throws InterruptedException {
        AtomicInteger calls = new AtomicInteger();
        SparkJob job =
                new SparkJob(null) {
                    @Override
                    public String name() {
                        return "probe";
                    }

                    @Override
                    public List<JobOption> options() {
                        return List.of();
                    }

                    @Override
                    public JobResult run(SparkSession s, JobOptions o) {
                        throw new UnsupportedOperationException();
                    }

                    @Override
                    protected void preload(JobOptions o) {
                        calls.incrementAndGet();
                        throw new IllegalStateException("a failing preload is only logged");
                    }
                };
        for (String master : new String[] {"local", "local[2]", "local[*]"}) {
            Thread t = JobRunner.startPreload(job, null, master);
            assertTrue(t != null && t.isDaemon(), master);
            t.join();
        }
        assertEquals(3, calls.get());
        for (String master :
                new String[] {null, "local-cluster[2,1,1024]", "spark://host:7077", "yarn"}) {
            assertNull(JobRunner.startPreload(job, null, master), master);
        }
        assertEquals(3, calls.get());
    }

    @Test
    void refusesAnExistingOutputColumnAndAMissingTextColumn() throws IOException {
        Path in =
                JobFixtures.write(
                        tmp.resolve("t.jsonl"),
                        List.of("{\"text\":\"a\",\"embedding\":1,\"body\":\"b\"}"));
        EmbedJob job = new EmbedJob();
        IllegalArgumentException e =
                JobFixtures.refused(
                        spark,
                        job,
                        "--input",
                        in.toString(),
                        "--output",
                        tmp.resolve("o1").toString());
        assertTrue(e.getMessage().startsWith("--embedding-col"), e.getMessage());
        e =
                JobFixtures.refused(
                        spark,
                        job,
                        "--input",
                        in.toString(),
                        "--output",
                        tmp.resolve("o2").toString(),
                        "--text-col",
                        "missing");
        assertTrue(e.getMessage().contains("missing"), e.getMessage());
        assertTrue(Files.notExists(tmp.resolve("o1")));
    }
}
