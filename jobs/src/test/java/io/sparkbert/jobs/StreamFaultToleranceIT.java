package io.sparkbert.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.sparkbert.testing.Fixtures;
import io.sparkbert.testing.SparkSubmitRunner;
import io.sparkbert.testing.SparkTestSession;
import io.sparkbert.testing.StandaloneCluster;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code score --mode stream} on a standalone master + worker (127.0.0.1) through SparkSubmit: the
 * driver killed during a micro-batch and the same command run again, an executor killed during a
 * micro-batch. The output, read as Spark reads it (the sink's {@code _spark_metadata} log), must
 * hold every input row once with the values of an undisturbed batch run.
 */
class StreamFaultToleranceIT {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int FILES = 4;
    private static final int ROWS_PER_FILE = 100;
    private static final Duration TIMEOUT = Duration.ofMinutes(8);

    @TempDir static Path tmp;

    private static StandaloneCluster cluster;
    private static Path jar;
    private static Path input;
    private static Map<String, double[]> baseline;
    // How long a kill test waits for the moment it kills at.
    private static final Duration WAIT = Duration.ofMinutes(8);

    @BeforeAll
    static void startCluster() throws IOException {
        input = tmp.resolve("corpus");
        for (int f = 0; f < FILES; f++) {
            List<String> lines = new ArrayList<>();
            for (int i = f * ROWS_PER_FILE; i < (f + 1) * ROWS_PER_FILE; i++) {
                lines.add(
                        JSON.createObjectNode()
                                .put("id", String.format("r%05d", i))
                                .put("text", "review number " + i + " says the food was " + i % 7)
                                .toString());
            }
            JobFixtures.write(input.resolve(String.format("part-%02d.jsonl", f)), lines);
        }
        // the reference: the batch job in this JVM
        Path ref = tmp.resolve("baseline");
        ScoreJob job = new ScoreJob(new BertBackend());
        job.run(
                SparkTestSession.get(),
                job.parse(
                        "--model", Fixtures.tinyBert().toString(),
                        "--input", input.toString(),
                        "--output", ref.toString(),
                        "--batch-size", "16"));
        baseline = ScoredRows.read(ref);
        assertEquals(FILES * ROWS_PER_FILE, baseline.size());
        jar = SparkSubmitRunner.appJar(tmp.resolve("app.jar"), JobRunner.class);
        cluster = StandaloneCluster.start(2, 2048);
    }

    @AfterAll
    static void stopCluster() {
        if (cluster != null) {
            cluster.close();
        }
    }

    /** Many small partitions, so that a kill lands between tasks of a micro-batch. */
    private static Map<String, String> conf() {
        Map<String, String> c = new LinkedHashMap<>();
        c.put("spark.executor.memory", "768m");
        c.put("spark.cores.max", "2");
        c.put("spark.sql.shuffle.partitions", "2");
        c.put("spark.sql.files.maxPartitionBytes", "1024");
        c.put("spark.sql.files.openCostInBytes", "256");
        return c;
    }

    private static SparkSubmitRunner.Running stream(Path out, Path checkpoint, String maxFiles) {
        return SparkSubmitRunner.start(
                cluster.masterUrl(),
                ScoreJob.class.getName(),
                jar,
                conf(),
                List.of(
                        "--model", Fixtures.tinyBert().toString(),
                        "--input", input.toString(),
                        "--output", out.toString(),
                        "--mode", "stream",
                        "--checkpoint", checkpoint.toString(),
                        "--max-files-per-trigger", maxFiles,
                        "--batch-size", "16"));
    }

    /** Data files ({@code part-*}) directly in {@code out}, committed or not. */
    private static long partFiles(Path out) {
        if (!Files.isDirectory(out)) {
            return 0;
        }
        try (Stream<Path> s = Files.list(out)) {
            return s.filter(p -> p.getFileName().toString().startsWith("part-")).count();
        } catch (IOException | java.io.UncheckedIOException e) {
            return 0;
        }
    }

    @Test
    void aDriverKilledDuringAMicroBatchLosesAndDuplicatesNothingOnTheNextRun() {
        Path out = tmp.resolve("killdriver");
        Path ck = tmp.resolve("killdriver-ckpt");
        SparkSubmitRunner.Running run = stream(out, ck, "1");
        // batch 0 committed, batch 1 planned (its files logged) and running
        ScoredRows.waitFor(
                "micro-batch 1 planned", () -> Files.exists(ck.resolve("offsets/1")), run, WAIT);
        run.process().destroyForcibly();
        SparkSubmitRunner.Result killed = run.await(Duration.ofSeconds(30));
        assertNotEquals(0, killed.exitCode());
        assertFalse(Files.exists(ck.resolve("commits/3")), "killed before the last batch");

        SparkSubmitRunner.Result again = stream(out, ck, "1").await(TIMEOUT);
        assertEquals(0, again.exitCode(), again.stderrTail(60));
        ScoredRows.assertSame(baseline, out, 1e-5);
        assertTrue(Files.exists(ck.resolve("commits/3")), "four micro-batches, one per file");
        assertFalse(Files.exists(ck.resolve("offsets/4")));
    }

    @Test
    void anExecutorKilledDuringAMicroBatchCostsRetriesNotRows() {
        Path out = tmp.resolve("killexec");
        Path ck = tmp.resolve("killexec-ckpt");
        SparkSubmitRunner.Running run = stream(out, ck, "0");
        ScoredRows.waitFor("the first task output", () -> partFiles(out) > 0, run, WAIT);
        int killed = cluster.killExecutors();
        assertTrue(killed >= 1, "an executor was running");
        SparkSubmitRunner.Result r = run.await(TIMEOUT);
        assertEquals(0, r.exitCode(), r.stderrTail(60));
        assertTrue(r.stderr().contains("Lost executor"), "Spark saw the executor die");
        ScoredRows.assertSame(baseline, out, 1e-5);
        assertTrue(Files.exists(ck.resolve("commits/0")));
        assertFalse(Files.exists(ck.resolve("offsets/1")), "all new files in one micro-batch");
    }
}
