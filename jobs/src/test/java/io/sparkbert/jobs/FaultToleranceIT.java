package io.sparkbert.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
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
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Faults on a standalone master + worker (127.0.0.1) while the jobs run through SparkSubmit: an
 * executor JVM killed during scoring, the driver killed during an incremental run, the driver
 * killed during training, two scoring runs into one output at once. Every outcome is compared row
 * by row with an undisturbed run of the tiny reference checkpoint.
 */
class FaultToleranceIT {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int FILES = 4;
    private static final int ROWS_PER_FILE = 100;
    private static final Duration TIMEOUT = Duration.ofMinutes(4);

    @TempDir static Path tmp;

    private static StandaloneCluster cluster;
    private static Path jar;
    private static Path input;
    private static Map<String, double[]> baseline;
    // How long a kill test waits for the moment it kills at.
    private static final Duration WAIT = Duration.ofMinutes(3);

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
        jar = SparkSubmitRunner.appJar(tmp.resolve("app.jar"), JobRunner.class);
        cluster = StandaloneCluster.start(2, 2048);
        // The reference: one undisturbed overwrite run.
        Path out = tmp.resolve("baseline");
        SparkSubmitRunner.Result r = score(out, "overwrite", 2).await(TIMEOUT);
        assertEquals(0, r.exitCode(), r.stderrTail(40));
        baseline = ScoredRows.read(out);
        assertEquals(FILES * ROWS_PER_FILE, baseline.size());
    }

    @AfterAll
    static void stopCluster() {
        if (cluster != null) {
            cluster.close();
        }
    }

    private static Map<String, String> conf(int cores) {
        Map<String, String> c = new LinkedHashMap<>();
        c.put("spark.executor.memory", "768m");
        c.put("spark.cores.max", Integer.toString(cores));
        c.put("spark.sql.shuffle.partitions", "2");
        return c;
    }

    /** {@link #conf} with many small partitions, so that a kill lands between tasks of a stage. */
    private static Map<String, String> smallPartitions(int cores) {
        Map<String, String> c = conf(cores);
        c.put("spark.sql.files.maxPartitionBytes", "1024");
        c.put("spark.sql.files.openCostInBytes", "256");
        return c;
    }

    private static SparkSubmitRunner.Running score(Path out, String mode, int cores) {
        return score(out, mode, conf(cores));
    }

    private static SparkSubmitRunner.Running score(
            Path out, String mode, Map<String, String> conf) {
        return SparkSubmitRunner.start(
                cluster.masterUrl(),
                ScoreJob.class.getName(),
                jar,
                conf,
                List.of(
                        "--model", Fixtures.tinyBert().toString(),
                        "--input", input.toString(),
                        "--output", out.toString(),
                        "--mode", mode,
                        "--batch-size", "16"));
    }

    /** Files below {@code dir} whose name starts with {@code prefix}. */
    private static long count(Path dir, String prefix) {
        if (!Files.isDirectory(dir)) {
            return 0;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(p -> p.getFileName().toString().startsWith(prefix)).count();
        } catch (IOException | java.io.UncheckedIOException e) {
            return 0; // the tree changed under the walk; ask again
        }
    }

    /** Unit dirs renamed into {@code out} (records still under {@code _staging/} do not count). */
    private static long committedUnits(Path out) {
        if (!Files.isDirectory(out)) {
            return 0;
        }
        try (Stream<Path> s = Files.list(out)) {
            return s.filter(p -> !p.getFileName().toString().startsWith("_"))
                    .filter(p -> Files.exists(p.resolve(ScoreJob.UNIT_RECORD)))
                    .count();
        } catch (IOException | java.io.UncheckedIOException e) {
            return 0; // the dir changed under the listing; ask again
        }
    }

    private static List<Path> siblings(Path out, String infix) throws IOException {
        try (Stream<Path> s = Files.list(out.getParent())) {
            return s.filter(p -> p.getFileName().toString().startsWith("." + out.getFileName()))
                    .filter(p -> p.getFileName().toString().contains(infix))
                    .toList();
        }
    }

    @Test
    void anExecutorKilledWhileScoringCostsRetriesNotRows() throws IOException {
        Path out = tmp.resolve("killexec");
        SparkSubmitRunner.Running run = score(out, "overwrite", smallPartitions(2));
        // the write stage has committed some task outputs, not all (about 30 partitions)
        ScoredRows.waitFor(
                "the first committed task outputs",
                () -> {
                    try {
                        return siblings(out, ".staging-").stream()
                                .anyMatch(s -> count(s.resolve("_temporary"), "part-") > 0);
                    } catch (IOException e) {
                        return false;
                    }
                },
                run,
                WAIT);
        int killed = cluster.killExecutors();
        assertTrue(killed >= 1, "an executor was running");
        SparkSubmitRunner.Result r = run.await(TIMEOUT);
        assertEquals(0, r.exitCode(), r.stderrTail(60));
        assertTrue(r.stderr().contains("Lost executor"), "Spark saw the executor die");
        ScoredRows.assertSame(baseline, out, 1e-6);
        JsonNode m = JSON.readTree(out.resolve(ScoreJob.MANIFEST).toFile());
        assertEquals(FILES * ROWS_PER_FILE, m.get("output_rows").asLong());
        assertEquals(List.of(), siblings(out, ".staging-"), "staging removed");
    }

    @Test
    void aDriverKilledDuringAnIncrementalRunIsRepairedByTheNextRun() throws IOException {
        Path out = tmp.resolve("inc");
        SparkSubmitRunner.Running run = score(out, "incremental", 2);
        ScoredRows.waitFor("a committed unit", () -> committedUnits(out) >= 1, run, WAIT);
        run.process().destroyForcibly();
        SparkSubmitRunner.Result killed = run.await(Duration.ofSeconds(30));
        assertNotEquals(0, killed.exitCode());
        long committed = committedUnits(out);
        assertTrue(committed < FILES, "killed mid-run: " + committed + " units committed");
        assertTrue(Files.exists(Path.of(out + ".lock")), "the dead run's lock is still there");

        SparkSubmitRunner.Result again = score(out, "incremental", 2).await(TIMEOUT);
        assertEquals(0, again.exitCode(), again.stderrTail(60));
        ScoredRows.assertSame(baseline, out, 1e-6);
        JsonNode m = JSON.readTree(out.resolve(ScoreJob.MANIFEST).toFile());
        assertEquals(FILES * ROWS_PER_FILE, m.get("output_rows").asLong());
        assertEquals(FILES * ROWS_PER_FILE, m.get("input_rows").asLong());
        assertEquals(FILES, m.get("units").size());
        assertEquals(FILES - committed, m.get("this_run").get("units").asLong());
        for (JsonNode u : m.get("units")) {
            long onDisk =
                    SparkTestSession.get()
                            .read()
                            .parquet(out.resolve(u.get("unit").asText()).toString())
                            .count();
            assertEquals(ROWS_PER_FILE, onDisk, u.toString());
            assertEquals(onDisk, u.get("output_rows").asLong(), u.toString());
        }
        assertFalse(Files.exists(Path.of(out + ".lock")), "lock released");
        assertEquals(0, count(out.resolve("_staging"), ""), "no staging left");
    }

    @Test
    void twoRunsIntoOneOutputNeverMix() throws Exception {
        Path out = tmp.resolve("twice");
        SparkSubmitRunner.Running a = score(out, "overwrite", 1);
        SparkSubmitRunner.Running b = score(out, "overwrite", 1);
        CompletableFuture<SparkSubmitRunner.Result> fa =
                CompletableFuture.supplyAsync(() -> a.await(TIMEOUT));
        SparkSubmitRunner.Result rb = b.await(TIMEOUT);
        SparkSubmitRunner.Result ra = fa.get();
        List<Integer> codes = new ArrayList<>(List.of(ra.exitCode(), rb.exitCode()));
        codes.sort(null);
        if (!codes.equals(List.of(0, 0))) {
            assertEquals(List.of(0, 1), codes, ra.stderrTail(20) + "\n" + rb.stderrTail(20));
            SparkSubmitRunner.Result loser = ra.exitCode() == 1 ? ra : rb;
            assertTrue(loser.stderr().contains("Another run is writing '"), loser.stderrTail(20));
        }
        ScoredRows.assertSame(baseline, out, 1e-6);
        assertFalse(Files.exists(Path.of(out + ".lock")));
        assertEquals(List.of(), siblings(out, ".staging-"));
        assertEquals(List.of(), siblings(out, ".old-"));
    }

    @Test
    void aKilledTrainingLeavesNothingThatLooksLikeAModel() throws IOException {
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < 96; i++) {
            lines.add(
                    JSON.createObjectNode()
                            .put("text", (i % 2 == 0 ? "good fine tasty " : "bad awful cold ") + i)
                            .put("label", i % 2 == 0 ? "pos" : "neg")
                            .toString());
        }
        Path train = JobFixtures.write(tmp.resolve("train/train.jsonl"), lines);
        Path model = tmp.resolve("model");
        List<String> args =
                new ArrayList<>(
                        List.of(
                                "--input", train.toString(),
                                "--model", Fixtures.tinyBert().toString(),
                                "--output", model.toString(),
                                "--batch-size", "8",
                                "--max-length", "16",
                                "--learning-rate", "1e-3",
                                "--seed", "3"));
        List<String> longRun = new ArrayList<>(args);
        longRun.addAll(List.of("--epochs", "200"));
        SparkSubmitRunner.Running run =
                SparkSubmitRunner.start(
                        cluster.masterUrl(), TrainJob.class.getName(), jar, conf(2), longRun);
        ScoredRows.waitFor(
                "training to start",
                () -> run.outputSoFar().contains("Fine-tuning 96 "),
                run,
                WAIT);
        sleep(1500); // inside epoch 1 of 200
        run.process().destroyForcibly();
        SparkSubmitRunner.Result killed = run.await(Duration.ofSeconds(30));
        assertNotEquals(0, killed.exitCode());
        assertFalse(killed.stdout().contains("train: "), "killed before it finished");

        assertFalse(Files.exists(model), "no model dir after a killed training");
        for (Path s : siblings(model, "")) {
            assertFalse(
                    Files.exists(s.resolve(ModelDir.META)),
                    s + " must not look like a finished model");
        }
        SparkSession spark = SparkTestSession.get();
        ScoreJob scoreJob = new ScoreJob(new BertBackend());
        Path refusedOut = tmp.resolve("refused");
        IllegalArgumentException e =
                assertThrows(
                        IllegalArgumentException.class,
                        () ->
                                scoreJob.run(
                                        spark,
                                        scoreJob.parse(
                                                "--model", model.toString(),
                                                "--input", input.toString(),
                                                "--output", refusedOut.toString())));
        assertTrue(
                e.getMessage().startsWith("--model: '" + model + "' does not exist"),
                e.getMessage());
        assertFalse(Files.exists(refusedOut));

        // a rerun (short, in this JVM) gives a model that scores
        List<String> shortRun = new ArrayList<>(args);
        shortRun.addAll(List.of("--epochs", "1"));
        TrainJob trainJob = new TrainJob(new BertBackend());
        trainJob.run(spark, trainJob.parse(shortRun.toArray(new String[0])));
        assertTrue(Files.exists(model.resolve(ModelDir.META)));
        assertEquals(List.of(), siblings(model, ".staging-"), "no staging left by the rerun");
        Path scored = tmp.resolve("scored");
        JobResult r =
                scoreJob.run(
                        spark,
                        scoreJob.parse(
                                "--model", model.toString(),
                                "--input", input.toString(),
                                "--output", scored.toString()));
        assertEquals(FILES * ROWS_PER_FILE, r.rows());
        assertEquals(FILES * ROWS_PER_FILE, spark.read().parquet(scored.toString()).count());
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
