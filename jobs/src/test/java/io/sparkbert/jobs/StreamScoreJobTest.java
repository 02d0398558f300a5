package io.sparkbert.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sparkbert.testing.Fixtures;
import io.sparkbert.testing.SparkTestSession;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.streaming.StreamingQueryListener;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code score --mode stream} (and embed) with the tiny reference checkpoint: scheduled
 * available-now runs over a growing input directory, runs with nothing new, bad input files.
 */
class StreamScoreJobTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int ROWS = 6;

    @TempDir Path tmp;
    private final SparkSession spark = SparkTestSession.get();

    /** {@link #ROWS} JSON lines of file {@code f}; row 2 of file 1 has a null text. */
    private static List<String> file(int f) {
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < ROWS; i++) {
            String id = String.format("f%dr%d", f, i);
            String text =
                    f == 1 && i == 2
                            ? null
                            : "review " + f + " says the food was " + "very ".repeat(i) + "good";
            lines.add(JSON.createObjectNode().put("id", id).put("text", text).toString());
        }
        return lines;
    }

    private JobResult score(Path in, Path out, String... extra) {
        List<String> args =
                new ArrayList<>(
                        List.of(
                                "--model", Fixtures.tinyBert().toString(),
                                "--input", in.toString(),
                                "--output", out.toString(),
                                "--batch-size", "4",
                                // named here: the default column name may change
                                "--label-out-col", "label"));
        args.addAll(List.of(extra));
        ScoreJob job = new ScoreJob(new BertBackend());
        return job.run(spark, job.parse(args.toArray(new String[0])));
    }

    private JobResult stream(Path in, Path out, String... extra) {
        List<String> args =
                new ArrayList<>(
                        List.of(
                                "--mode",
                                "stream",
                                "--checkpoint",
                                tmp.resolve("ckpt").toString()));
        args.addAll(List.of(extra));
        return score(in, out, args.toArray(new String[0]));
    }

    /** id -> row of an output, read as Spark reads it (committed files only), no duplicates. */
    private Map<String, Row> rows(Path out, String format) {
        Map<String, Row> m = new HashMap<>();
        for (Row r : spark.read().format(format).load(out.toString()).collectAsList()) {
            assertNull(m.put(r.getString(r.fieldIndex("id")), r), "duplicate " + r);
        }
        return m;
    }

    private static Set<String> dataFiles(Path out) throws IOException {
        try (Stream<Path> s = Files.walk(out)) {
            return s.filter(Files::isRegularFile)
                    .map(p -> out.relativize(p).toString())
                    .filter(n -> !n.equals(ScoreJob.MANIFEST))
                    .collect(Collectors.toCollection(TreeSet::new));
        }
    }

    @Test
    void scheduledRunsOverAGrowingDirectoryScoreEveryRowOnceAsTheBatchJob() throws IOException {
        Path in = tmp.resolve("in");
        Path out = tmp.resolve("out");
        List<String> names = new CopyOnWriteArrayList<>();
        StreamingQueryListener names0 =
                new StreamingQueryListener() {
                    @Override
                    public void onQueryStarted(QueryStartedEvent e) {
                        names.add(e.name());
                    }

                    @Override
                    public void onQueryProgress(QueryProgressEvent e) {}

                    @Override
                    public void onQueryTerminated(QueryTerminatedEvent e) {}
                };
        spark.streams().addListener(names0);
        try {
            JobFixtures.write(in.resolve("a-0.jsonl"), file(0));
            JobFixtures.write(in.resolve("a-1.jsonl"), file(1));
            JobResult r1 = stream(in, out, "--max-files-per-trigger", "1");
            assertEquals(2 * ROWS, r1.rows());
            assertTrue(r1.note().startsWith("2 micro-batches"), r1.note());
            assertTrue(r1.note().contains("1 null texts"), r1.note());

            JobFixtures.write(in.resolve("b-2.jsonl"), file(2));
            assertEquals(ROWS, stream(in, out).rows());

            Set<String> before = dataFiles(out);
            String manifestBefore = Files.readString(out.resolve(ScoreJob.MANIFEST));
            JobResult idle = stream(in, out);
            assertEquals(0, idle.rows());
            assertTrue(idle.note().startsWith("nothing new"), idle.note());
            assertEquals(before, dataFiles(out), "a run with nothing new writes nothing");
            assertEquals(manifestBefore, Files.readString(out.resolve(ScoreJob.MANIFEST)));

            JobFixtures.write(in.resolve("c-3.jsonl"), file(3));
            JobFixtures.write(in.resolve("c-4.jsonl"), file(4));
            assertEquals(2 * ROWS, stream(in, out).rows());
        } finally {
            spark.streams().removeListener(names0);
        }
        assertEquals(List.of("sparkbert-score"), names.stream().distinct().toList());

        // the batch job over the whole directory gives the same values
        Path batch = tmp.resolve("batch");
        score(in, batch);
        Map<String, Row> want = rows(batch, "parquet");
        Map<String, Row> got = rows(out, "parquet");
        assertEquals(5 * ROWS, got.size());
        assertEquals(want.keySet(), got.keySet());
        for (String id : want.keySet()) {
            Row w = want.get(id);
            Row g = got.get(id);
            assertEquals(w.schema().simpleString(), g.schema().simpleString());
            assertEquals(w.get(w.fieldIndex("label")), g.get(g.fieldIndex("label")), id);
            assertEquals(w.get(w.fieldIndex("prediction")), g.get(g.fieldIndex("prediction")));
            for (String c : List.of("probability", "rawPrediction")) {
                List<Double> a = w.getList(w.fieldIndex(c));
                List<Double> b = g.getList(g.fieldIndex(c));
                if (a == null) {
                    assertNull(b, id);
                    continue;
                }
                for (int k = 0; k < a.size(); k++) {
                    assertEquals(a.get(k), b.get(k), 1e-5, id + " " + c);
                }
            }
        }
        assertNull(got.get("f1r2").get(got.get("f1r2").fieldIndex("prediction")));

        JsonNode m = JSON.readTree(out.resolve(ScoreJob.MANIFEST).toFile());
        assertEquals("stream", m.get("mode").asText());
        assertEquals(3, m.get("runs").size(), "the run with nothing new is not recorded");
        assertEquals(5 * ROWS, m.get("input_rows").asLong());
        assertEquals(5 * ROWS, m.get("output_rows").asLong());
        assertEquals(1, m.get("null_texts").asLong());
        assertEquals(1, m.get("unscored_rows").asLong());
        assertEquals(2, m.get("runs").get(0).get("batches").asInt());
        assertEquals(2 * ROWS, m.get("this_run").get("output_rows").asLong());
        assertTrue(m.get("sentences_per_second").asDouble() > 0);
    }

    @Test
    void rowsCommittedByARunThatStoppedBeforeItsManifestAreCountedByTheNextRun()
            throws IOException {
        Path in = tmp.resolve("in");
        Path out = tmp.resolve("out");
        Path manifest = out.resolve(ScoreJob.MANIFEST);
        JobFixtures.write(in.resolve("a-0.jsonl"), file(0));
        stream(in, out);
        String afterFirst = Files.readString(manifest);
        JobFixtures.write(in.resolve("a-1.jsonl"), file(1));
        stream(in, out);
        // the state a run leaves when killed after its micro-batch committed, before the manifest
        Files.writeString(manifest, afterFirst);
        Files.deleteIfExists(out.resolve("." + ScoreJob.MANIFEST + ".crc")); // Hadoop's checksum

        JobFixtures.write(in.resolve("a-2.jsonl"), file(2));
        assertEquals(ROWS, stream(in, out).rows());
        JsonNode m = JSON.readTree(manifest.toFile());
        assertEquals(3 * ROWS, m.get("output_rows").asLong());
        assertEquals(3 * ROWS, m.get("input_rows").asLong());
        assertEquals(
                1, m.get("null_texts").asLong(), "file 1's null text, counted from the output");
        assertEquals(1, m.get("unscored_rows").asLong());
        assertEquals(2, m.get("last_batch").asLong());
        JsonNode recovered = m.get("runs").get(1);
        assertTrue(recovered.get("recovered").asBoolean(), recovered.toString());
        assertEquals(ROWS, recovered.get("output_rows").asLong());
        assertEquals(1, recovered.get("null_texts").asLong());
        assertEquals(ROWS, m.get("this_run").get("output_rows").asLong());
        assertEquals(3 * ROWS, rows(out, "parquet").size());

        String settled = Files.readString(manifest);
        assertEquals(0, stream(in, out).rows());
        assertEquals(settled, Files.readString(manifest), "nothing new: nothing recounted");
    }

    @Test
    void invalidUtf8FailsTheBatchNamingTheLineAndAFixedFileGoesOn() throws IOException {
        Path in = tmp.resolve("in");
        Path out = tmp.resolve("out");
        JobFixtures.write(in.resolve("a-0.jsonl"), file(0));
        assertEquals(ROWS, stream(in, out).rows());

        List<String> good = file(1);
        // line 2 holds a Latin-1 e-acute (the single byte 0xE9), which is not UTF-8
        java.io.ByteArrayOutputStream bad = new java.io.ByteArrayOutputStream();
        bad.writeBytes((good.get(0) + "\n").getBytes(StandardCharsets.UTF_8));
        bad.writeBytes(
                good.get(1).replace("review", "r\u00e9view").getBytes(StandardCharsets.ISO_8859_1));
        bad.writeBytes("\n".getBytes(StandardCharsets.UTF_8));
        Path badFile = in.resolve("b-1.jsonl");
        Files.write(badFile, bad.toByteArray());
        IllegalArgumentException e =
                org.junit.jupiter.api.Assertions.assertThrows(
                        IllegalArgumentException.class, () -> stream(in, out));
        assertTrue(e.getMessage().contains(badFile.getFileName().toString()), e.getMessage());
        assertTrue(e.getMessage().contains("line 2 is not valid UTF-8"), e.getMessage());
        assertTrue(e.getMessage().contains("Nothing of that batch was committed"), e.getMessage());
        assertEquals(ROWS, rows(out, "parquet").size(), "the failed batch is not in the output");

        Files.write(badFile, good); // fixed in place
        assertEquals(ROWS, stream(in, out).rows());
        Map<String, Row> all = rows(out, "parquet");
        assertEquals(2 * ROWS, all.size());
        assertFalse(Files.readString(out.resolve(ScoreJob.MANIFEST)).contains("\"runs\" : [ ]"));
    }

    @Test
    void aWrongTypeInTheTextColumnFailsNamingTheFileAndAFixedFileGoesOn() throws IOException {
        Path in = tmp.resolve("in");
        Path out = tmp.resolve("out");
        StructType good =
                new StructType().add("id", DataTypes.StringType).add("text", DataTypes.StringType);
        StructType wrong =
                new StructType().add("id", DataTypes.StringType).add("text", DataTypes.IntegerType);
        parquet(in.resolve("a-0.parquet"), good, RowFactory.create("p0", "fine food"));
        assertEquals(1, stream(in, out).rows());

        Path badFile = in.resolve("b-1.parquet");
        parquet(badFile, wrong, RowFactory.create("p1", 42));
        IllegalArgumentException e =
                org.junit.jupiter.api.Assertions.assertThrows(
                        IllegalArgumentException.class, () -> stream(in, out));
        assertTrue(e.getMessage().contains("b-1.parquet"), e.getMessage());
        assertTrue(e.getMessage().contains("micro-batch 1"), e.getMessage());
        assertEquals(1, rows(out, "parquet").size());

        parquet(badFile, good, RowFactory.create("p1", "42 reasons to go"));
        assertEquals(1, stream(in, out).rows());
        assertEquals(Set.of("p0", "p1"), rows(out, "parquet").keySet());
    }

    /** Writes one parquet file of {@code rows} at {@code file}. */
    private void parquet(Path file, StructType schema, Row... rows) throws IOException {
        Path dir = tmp.resolve("w-" + System.nanoTime());
        spark.createDataFrame(List.of(rows), schema).coalesce(1).write().parquet(dir.toString());
        try (Stream<Path> s = Files.list(dir)) {
            Path part =
                    s.filter(p -> p.getFileName().toString().endsWith(".parquet"))
                            .findFirst()
                            .orElseThrow();
            Files.createDirectories(file.getParent());
            Files.move(part, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
    }

    @Test
    void embedStreamsToo() throws IOException {
        Path in = tmp.resolve("in");
        Path out = tmp.resolve("emb");
        JobFixtures.write(in.resolve("a-0.jsonl"), file(0));
        EmbedJob job = new EmbedJob();
        String[] args = {
            "--model", Fixtures.tinyBert().toString(),
            "--input", in.toString(),
            "--output", out.toString(),
            "--format", "json",
            "--mode", "stream",
            "--checkpoint", tmp.resolve("eck").toString()
        };
        assertEquals(ROWS, job.run(spark, job.parse(args)).rows());
        JobFixtures.write(in.resolve("a-1.jsonl"), file(1));
        assertEquals(ROWS, job.run(spark, job.parse(args)).rows());
        Path batchOut = tmp.resolve("emb-batch");
        String[] batchArgs = {
            "--model", Fixtures.tinyBert().toString(),
            "--input", in.toString(),
            "--output", batchOut.toString(),
            "--format", "json"
        };
        job.run(spark, job.parse(batchArgs));
        Map<String, Row> want = rows(batchOut, "json");
        Map<String, Row> got = rows(out, "json");
        assertEquals(want.keySet(), got.keySet());
        for (String id : want.keySet()) {
            List<Double> a = want.get(id).getList(want.get(id).fieldIndex("embedding"));
            List<Double> b = got.get(id).getList(got.get(id).fieldIndex("embedding"));
            if (a == null) {
                assertNull(b, id);
                continue;
            }
            for (int k = 0; k < a.size(); k++) {
                assertEquals(a.get(k), b.get(k), 1e-5, id);
            }
        }
    }

    @Test
    void streamOptionsAreRefusedInOtherModesAndIdColInStreamMode() throws IOException {
        Path in = JobFixtures.write(tmp.resolve("in").resolve("a.jsonl"), file(0)).getParent();
        ScoreJob job = new ScoreJob(new BertBackend());
        IllegalArgumentException e =
                JobFixtures.refused(
                        spark,
                        job,
                        "--model",
                        Fixtures.tinyBert().toString(),
                        "--input",
                        in.toString(),
                        "--output",
                        tmp.resolve("o1").toString(),
                        "--checkpoint",
                        tmp.resolve("c1").toString());
        assertEquals(
                "--checkpoint: only read with --mode stream (this run is --mode overwrite); drop"
                        + " it or add --mode stream.",
                e.getMessage());
        e =
                JobFixtures.refused(
                        spark,
                        job,
                        "--model",
                        Fixtures.tinyBert().toString(),
                        "--input",
                        in.toString(),
                        "--output",
                        tmp.resolve("o2").toString(),
                        "--mode",
                        "stream");
        assertTrue(e.getMessage().startsWith("--checkpoint: --mode stream needs"), e.getMessage());
        e =
                JobFixtures.refused(
                        spark,
                        job,
                        "--model",
                        Fixtures.tinyBert().toString(),
                        "--input",
                        in.toString(),
                        "--output",
                        tmp.resolve("o3").toString(),
                        "--mode",
                        "stream",
                        "--checkpoint",
                        tmp.resolve("c3").toString(),
                        "--trigger",
                        "every-hour");
        assertTrue(e.getMessage().startsWith("--trigger: invalid value 'every-hour'"));
        e =
                JobFixtures.refused(
                        spark,
                        job,
                        "--model",
                        Fixtures.tinyBert().toString(),
                        "--input",
                        in.toString(),
                        "--output",
                        tmp.resolve("o4").toString(),
                        "--mode",
                        "stream",
                        "--checkpoint",
                        tmp.resolve("c4").toString(),
                        "--id-col",
                        "id");
        assertTrue(e.getMessage().startsWith("--id-col: a stream appends"), e.getMessage());
        assertFalse(Files.exists(tmp.resolve("o4")));
    }

    @Test
    void incrementalModeIsRefusedOnObjectStores() throws IOException {
        Path in = JobFixtures.write(tmp.resolve("in").resolve("a.jsonl"), file(0)).getParent();
        ScoreJob job = new ScoreJob(new BertBackend());
        IllegalArgumentException e =
                JobFixtures.refused(
                        spark,
                        job,
                        "--model",
                        Fixtures.tinyBert().toString(),
                        "--input",
                        in.toString(),
                        "--output",
                        "s3a://bucket/scores",
                        "--mode",
                        "incremental");
        assertEquals(
                "--mode incremental: the output 's3a://bucket/scores' is on an object store"
                        + " (s3a://), where its commit by directory rename is neither atomic nor"
                        + " safe; use --mode stream (with --checkpoint), whose commit log works"
                        + " there, or an HDFS or local output.",
                e.getMessage());
    }

    @Test
    void aProcessingTimeTriggerKeepsScoringNewFilesUntilTheQueryIsStopped() throws Exception {
        Path in = tmp.resolve("in");
        Path out = tmp.resolve("out");
        JobFixtures.write(in.resolve("a-0.jsonl"), file(0));
        java.util.concurrent.ExecutorService pool =
                java.util.concurrent.Executors.newSingleThreadExecutor();
        try {
            java.util.concurrent.Future<JobResult> run =
                    pool.submit(() -> stream(in, out, "--trigger", "processing-time=1 second"));
            awaitTotalRows(out, ROWS, run);
            JobFixtures.write(in.resolve("b-1.jsonl"), file(1));
            awaitTotalRows(out, 2 * ROWS, run);
            for (org.apache.spark.sql.streaming.StreamingQuery q : spark.streams().active()) {
                if ("sparkbert-score".equals(q.name())) {
                    q.stop();
                }
            }
            JobResult r = run.get(2, java.util.concurrent.TimeUnit.MINUTES);
            assertEquals(2 * ROWS, r.rows());
            assertTrue(r.note().startsWith("2 micro-batches"), r.note());
        } finally {
            pool.shutdownNow();
        }
        assertEquals(2 * ROWS, rows(out, "parquet").size());
    }

    /** Waits until the manifest of {@code out} counts {@code rows} output rows. */
    private static void awaitTotalRows(
            Path out, long rows, java.util.concurrent.Future<JobResult> run) throws Exception {
        long deadline = System.nanoTime() + java.time.Duration.ofMinutes(3).toNanos();
        Path manifest = out.resolve(ScoreJob.MANIFEST);
        while (true) {
            if (run.isDone()) {
                run.get(); // surfaces the failure
                throw new AssertionError("the run ended before " + rows + " rows");
            }
            if (Files.exists(manifest)) {
                try {
                    if (JSON.readTree(manifest.toFile()).path("output_rows").asLong() == rows) {
                        return;
                    }
                } catch (IOException e) {
                    // replaced while read; ask again
                }
            }
            assertTrue(System.nanoTime() < deadline, "timed out waiting for " + rows + " rows");
            Thread.sleep(100);
        }
    }
}
