package io.sparkbert.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sparkbert.testing.SparkTestSession;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Train and score jobs on the MLlib stand-in backend: layout, labels, commits, manifest, lock. */
class TrainScoreJobTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final MllibBackend BACKEND = new MllibBackend();

    @TempDir static Path shared;
    @TempDir Path tmp;

    static Path model;
    static Path trainFile;
    private final SparkSession spark = SparkTestSession.get();

    @BeforeAll
    static void trainOnce() throws IOException {
        trainFile =
                JobFixtures.write(shared.resolve("train.jsonl"), JobFixtures.lines(0, 60, true));
        model = shared.resolve("model");
        TrainJob job = new TrainJob(BACKEND);
        JobResult r =
                job.run(
                        SparkTestSession.get(),
                        job.parse(
                                "--input",
                                trainFile.toString(),
                                "--output",
                                model.toString(),
                                "--epochs",
                                "1"));
        assertEquals(60, r.rows());
    }

    private static JsonNode json(Path p) throws IOException {
        return JSON.readTree(p.toFile());
    }

    @Test
    void trainWritesACompleteModelDir() throws IOException {
        assertTrue(Files.isDirectory(model.resolve("metadata")));
        assertTrue(Files.isDirectory(model.resolve("stages")));
        JsonNode meta = json(model.resolve(ModelDir.META));
        assertEquals("mllib", meta.get("backend").asText());
        assertEquals("[\"neg\",\"pos\"]", meta.get("id2label").toString(), "sorted string labels");
        JsonNode metrics = json(model.resolve("metrics.json"));
        assertEquals(60, metrics.get("rows").asInt());
        JsonNode steps = metrics.get("steps");
        assertTrue(steps.size() > 1 && steps.size() <= 20, "at most 20 iterations per epoch");
        for (int i = 0; i < steps.size(); i++) {
            assertEquals(i + 1, steps.get(i).get("step").asInt());
            assertTrue(steps.get(i).has("lr"));
        }
        assertTrue(
                steps.get(steps.size() - 1).get("loss").asDouble()
                        < steps.get(0).get("loss").asDouble(),
                "the loss falls");
        assertEquals(1, metrics.get("epochs").size());
        try (var s = Files.list(shared)) {
            assertEquals(
                    List.of(),
                    s.map(p -> p.getFileName().toString())
                            .filter(n -> n.startsWith("."))
                            .collect(Collectors.toList()),
                    "no staging leftovers");
        }
        TrainJob job = new TrainJob(BACKEND);
        IllegalArgumentException e =
                JobFixtures.refused(
                        spark, job, "--input", trainFile.toString(), "--output", model.toString());
        assertTrue(e.getMessage().contains("exists"), e.getMessage());
    }

    @Test
    void numericLabelsAreClassIndicesAndBadLabelsFail() throws IOException {
        Path in = JobFixtures.write(tmp.resolve("num.jsonl"), JobFixtures.lines(0, 20, false));
        TrainJob job = new TrainJob(BACKEND);
        job.run(
                spark,
                job.parse(
                        "--input",
                        in.toString(),
                        "--output",
                        tmp.resolve("m").toString(),
                        "--epochs",
                        "1"));
        assertEquals(
                "[\"0\",\"1\"]",
                json(tmp.resolve("m").resolve(ModelDir.META)).get("id2label").toString());
        Path frac =
                JobFixtures.write(
                        tmp.resolve("frac.jsonl"),
                        List.of("{\"text\":\"a\",\"label\":0.5}", "{\"text\":\"b\",\"label\":1}"));
        IllegalArgumentException e =
                JobFixtures.refused(
                        spark,
                        job,
                        "--input",
                        frac.toString(),
                        "--output",
                        tmp.resolve("m2").toString());
        assertTrue(e.getMessage().contains("numeric label 0.5"), e.getMessage());
        assertFalse(Files.exists(tmp.resolve("m2")));
        e =
                JobFixtures.refused(
                        spark,
                        job,
                        "--input",
                        in.toString(),
                        "--output",
                        tmp.resolve("m3").toString(),
                        "--text-col",
                        "body");
        assertTrue(
                e.getMessage().startsWith("--text-col: the input has no column 'body'"),
                e.getMessage());
    }

    /** Training refuses blank texts as it refuses null ones, in the text and the pair column. */
    @Test
    void trainRefusesNullAndBlankTextsAndPairs() throws IOException {
        List<String> lines = new ArrayList<>(JobFixtures.lines(0, 10, true));
        lines.add("{\"id\":\"b1\",\"text\":\"\",\"label\":\"pos\"}");
        lines.add("{\"id\":\"b2\",\"text\":\" \\t \",\"label\":\"neg\"}");
        lines.add("{\"id\":\"b3\",\"text\":null,\"label\":\"neg\"}");
        Path in = JobFixtures.write(tmp.resolve("blank.jsonl"), lines);
        TrainJob job = new TrainJob(BACKEND);
        IllegalArgumentException e =
                JobFixtures.refused(
                        spark,
                        job,
                        "--input",
                        in.toString(),
                        "--output",
                        tmp.resolve("mb").toString());
        assertEquals(
                "--text-col: column 'text' has 3 null or blank (whitespace-only) texts; drop or"
                        + " fill such rows before training (scoring gives them no prediction"
                        + " either).",
                e.getMessage());
        assertFalse(Files.exists(tmp.resolve("mb")));

        List<String> pairs = new ArrayList<>();
        for (String l : JobFixtures.lines(0, 10, true)) {
            pairs.add(l.replace("\"label\"", "\"second\":\"other text\",\"label\""));
        }
        pairs.add("{\"text\":\"a\",\"second\":\"  \",\"label\":\"pos\"}");
        Path pin = JobFixtures.write(tmp.resolve("pairs.jsonl"), pairs);
        e =
                JobFixtures.refused(
                        spark,
                        job,
                        "--input",
                        pin.toString(),
                        "--output",
                        tmp.resolve("mp").toString(),
                        "--pair-col",
                        "second");
        assertEquals(
                "--pair-col: column 'second' has 1 null or blank (whitespace-only) text; drop or"
                        + " fill such rows before training (scoring gives them no prediction"
                        + " either).",
                e.getMessage());
    }

    private ScoreJob score() {
        return new ScoreJob(BACKEND);
    }

    /** {@code --model <the trained model> --input in --output out} followed by {@code more}. */
    private static String[] modelInputOutput(Path in, Path out, String... more) {
        List<String> args = new ArrayList<>();
        args.addAll(
                List.of(
                        "--model",
                        model.toString(),
                        "--input",
                        in.toString(),
                        "--output",
                        out.toString()));
        args.addAll(List.of(more));
        return args.toArray(new String[0]);
    }

    @Test
    void overwriteScoresEveryRowWithTypedOutputsAndAManifest() throws IOException {
        List<String> lines = new ArrayList<>(JobFixtures.lines(100, 9, true));
        lines.add("{\"id\":\"r999\",\"text\":null,\"label\":\"pos\"}");
        Path in = JobFixtures.write(tmp.resolve("in.jsonl"), lines);
        Path out = tmp.resolve("scores");
        ScoreJob job = score();
        JobResult r =
                job.run(
                        spark,
                        job.parse(
                                modelInputOutput(
                                        in,
                                        out,
                                        "--label-out-col",
                                        "predicted",
                                        "--id-col",
                                        "id")));
        assertEquals(10, r.rows());
        Dataset<Row> df = spark.read().parquet(out.toString());
        assertEquals(10, df.count());
        assertEquals(DataTypes.DoubleType, df.schema().apply("prediction").dataType());
        assertEquals(DataTypes.StringType, df.schema().apply("predicted").dataType());
        assertEquals(
                DataTypes.createArrayType(DataTypes.DoubleType),
                df.schema().apply("probability").dataType());
        assertEquals(
                DataTypes.createArrayType(DataTypes.DoubleType),
                df.schema().apply("rawPrediction").dataType());
        assertEquals(
                List.of(
                        "id",
                        "label",
                        "text",
                        "prediction",
                        "predicted",
                        "probability",
                        "rawPrediction"),
                List.of(df.columns()));
        // the toy model is right on its own vocabulary; names follow id2label
        for (Row row : df.filter("text is not null").collectAsList()) {
            assertEquals(row.getString(1), row.getString(4), row.toString());
            List<Double> p = row.getList(5);
            assertEquals(1.0, p.get(0) + p.get(1), 1e-9);
            assertEquals(row.getString(1).equals("pos") ? 1.0 : 0.0, row.getDouble(3));
        }
        Row nullRow = df.filter("id = 'r999'").first();
        assertTrue(nullRow.isNullAt(3) && nullRow.isNullAt(4) && nullRow.isNullAt(5));

        JsonNode m = json(out.resolve(ScoreJob.MANIFEST));
        assertEquals("overwrite", m.get("mode").asText());
        assertEquals(10, m.get("input_rows").asLong());
        assertEquals(10, m.get("output_rows").asLong());
        assertEquals(1, m.get("null_texts").asLong());
        assertEquals(model.toString(), m.get("model").asText());
        assertTrue(m.get("sentences_per_second").asDouble() > 0);
        assertTrue(m.get("start").asText().compareTo(m.get("end").asText()) <= 0);
        assertFalse(Files.exists(OutputLockPath.of(out)), "lock released");

        // a second run replaces the output as a whole
        Path in2 = JobFixtures.write(tmp.resolve("in2.jsonl"), JobFixtures.unlabelled(200, 3));
        job.run(spark, job.parse(modelInputOutput(in2, out, "--format", "csv")));
        Dataset<Row> csv = spark.read().option("header", "true").csv(out.toString());
        assertEquals(3, csv.count());
        String prob = csv.select("probability").as(Encoders.STRING()).first();
        assertTrue(prob.matches("\\[[0-9.Ee-]+,[0-9.Ee-]+\\]"), prob);
        try (var s = Files.list(tmp)) {
            assertTrue(s.noneMatch(p -> p.getFileName().toString().startsWith(".scores")));
        }
    }

    @Test
    void incrementalRetryAfterFailureGivesEachRowExactlyOnce() throws IOException {
        Path in = tmp.resolve("incoming");
        for (int f = 0; f < 4; f++) {
            JobFixtures.write(
                    in.resolve("batch-" + f + ".jsonl"), JobFixtures.unlabelled(f * 10, 10));
        }
        Path out = tmp.resolve("inc");
        String[] args = {
            "--model",
            model.toString(),
            "--input",
            in.toString(),
            "--output",
            out.toString(),
            "--mode",
            "incremental",
            "--format",
            "json"
        };
        ScoreJob failing = score();
        failing.beforeUnitCommit =
                unit -> {
                    if (unit.contains("batch-2")) {
                        throw new IllegalStateException(
                                "simulated crash before committing " + unit);
                    }
                };
        IllegalStateException crash =
                assertThrows(
                        IllegalStateException.class, () -> failing.run(spark, failing.parse(args)));
        assertTrue(crash.getMessage().contains("simulated"));
        assertEquals(20, spark.read().json(out.toString()).count(), "two units committed");
        assertFalse(Files.exists(out.resolve(ScoreJob.MANIFEST)));

        ScoreJob retry = score();
        List<String> scoredUnits = new ArrayList<>();
        retry.beforeUnitCommit = scoredUnits::add;
        JobResult r = retry.run(spark, retry.parse(args));
        assertEquals(
                List.of("source_file=batch-2.jsonl", "source_file=batch-3.jsonl"), scoredUnits);
        assertEquals(20, r.rows(), "only the missing units");
        Dataset<Row> all = spark.read().json(out.toString());
        List<String> ids = all.select("id").as(Encoders.STRING()).collectAsList();
        List<String> expected = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            expected.add(String.format("r%03d", i));
        }
        assertEquals(
                expected,
                ids.stream().sorted().collect(Collectors.toList()),
                "every row exactly once");

        // a new file arrives: only it is scored, the manifest covers all units
        JobFixtures.write(in.resolve("batch-4.jsonl"), JobFixtures.unlabelled(40, 5));
        ScoreJob next = score();
        JobResult r3 = next.run(spark, next.parse(args));
        assertEquals(5, r3.rows());
        JsonNode m = json(out.resolve(ScoreJob.MANIFEST));
        assertEquals("incremental", m.get("mode").asText());
        assertEquals(45, m.get("input_rows").asLong());
        assertEquals(45, m.get("output_rows").asLong());
        assertEquals(5, m.get("units").size());
        assertEquals(1, m.get("this_run").get("units").asInt());
        assertEquals(45, spark.read().json(out.toString()).count());
        assertFalse(Files.exists(out.resolve("_staging")));
    }

    /**
     * A file without records (zero bytes, only blank lines, only a CSV header) is a unit of 0 rows:
     * committed with its record, so the files after it are scored and a re-run skips it.
     */
    @Test
    void incrementalCommitsAnEmptyFileAsAUnitOfZeroRows() throws IOException {
        Path in = tmp.resolve("inc2");
        JobFixtures.write(in.resolve("a.jsonl"), JobFixtures.unlabelled(0, 3));
        JobFixtures.write(in.resolve("b.jsonl"), List.of());
        Files.writeString(in.resolve("c.jsonl"), "\n  \n\n");
        JobFixtures.write(in.resolve("d.jsonl"), JobFixtures.unlabelled(3, 2));
        Path out = tmp.resolve("inc2-out");
        String[] args = {
            "--model", model.toString(),
            "--input", in.toString(),
            "--output", out.toString(),
            "--mode", "incremental",
            "--format", "json"
        };
        ScoreJob job = score();
        List<String> committed = new ArrayList<>();
        job.beforeUnitCommit = committed::add;
        JobResult r = job.run(spark, job.parse(args));
        assertEquals(
                List.of(
                        "source_file=a.jsonl",
                        "source_file=b.jsonl",
                        "source_file=c.jsonl",
                        "source_file=d.jsonl"),
                committed);
        assertEquals(5, r.rows());
        assertTrue(r.note().contains("2 empty units"), r.note());
        for (String empty : List.of("b.jsonl", "c.jsonl")) {
            JsonNode rec = json(out.resolve("source_file=" + empty).resolve(ScoreJob.UNIT_RECORD));
            assertEquals(0, rec.get("input_rows").asLong(), rec.toString());
            assertEquals(0, rec.get("output_rows").asLong(), rec.toString());
            assertTrue(rec.get("empty").asBoolean(), rec.toString());
        }
        JsonNode m = json(out.resolve(ScoreJob.MANIFEST));
        assertEquals(4, m.get("units").size());
        assertEquals(5, m.get("input_rows").asLong());
        assertEquals(5, m.get("output_rows").asLong());
        assertEquals(2, m.get("empty_units").asInt());
        assertEquals(2, m.get("this_run").get("empty_units").asInt());
        List<String> ids =
                spark.read()
                        .json(out.toString())
                        .select("id")
                        .as(Encoders.STRING())
                        .collectAsList();
        assertEquals(
                List.of("r000", "r001", "r002", "r003", "r004"),
                ids.stream().sorted().collect(Collectors.toList()));

        // a re-run skips every unit, empty ones included; a new file after them is scored
        JobFixtures.write(in.resolve("e.jsonl"), JobFixtures.unlabelled(5, 1));
        ScoreJob again = score();
        List<String> second = new ArrayList<>();
        again.beforeUnitCommit = second::add;
        JobResult r2 = again.run(spark, again.parse(args));
        assertEquals(List.of("source_file=e.jsonl"), second);
        assertEquals(1, r2.rows());
        assertEquals(
                0, json(out.resolve(ScoreJob.MANIFEST)).get("this_run").get("empty_units").asInt());
        assertEquals(2, json(out.resolve(ScoreJob.MANIFEST)).get("empty_units").asInt());

        // CSV: a header alone and a zero-byte file hold no rows either
        Path csvIn = tmp.resolve("inc-csv");
        JobFixtures.write(csvIn.resolve("a.csv"), List.of("id,text", "x1,good thing", "x2,bad"));
        JobFixtures.write(csvIn.resolve("b.csv"), List.of("id,text"));
        JobFixtures.write(csvIn.resolve("c.csv"), List.of());
        JobFixtures.write(csvIn.resolve("d.csv"), List.of("id,text", "x3,fine"));
        Path csvOut = tmp.resolve("inc-csv-out");
        ScoreJob csvJob = score();
        JobResult rc =
                csvJob.run(
                        spark,
                        csvJob.parse(modelInputOutput(csvIn, csvOut, "--mode", "incremental")));
        assertEquals(3, rc.rows());
        JsonNode mc = json(csvOut.resolve(ScoreJob.MANIFEST));
        assertEquals(4, mc.get("units").size());
        assertEquals(2, mc.get("empty_units").asInt());
        assertEquals(3, spark.read().parquet(csvOut.toString()).count());
    }

    @Test
    void incrementalOverPartitionDirsKeepsPartitionColumns() throws IOException {
        Path in = tmp.resolve("parts");
        JobFixtures.write(in.resolve("day=1").resolve("a.jsonl"), JobFixtures.unlabelled(0, 4));
        JobFixtures.write(in.resolve("day=2").resolve("b.jsonl"), JobFixtures.unlabelled(4, 6));
        Path out = tmp.resolve("partsout");
        ScoreJob job = score();
        job.run(spark, job.parse(modelInputOutput(in, out, "--mode", "incremental")));
        assertTrue(Files.exists(out.resolve("day=1").resolve(ScoreJob.UNIT_RECORD)));
        Dataset<Row> df = spark.read().parquet(out.toString());
        assertEquals(6, df.filter("day = 2").count());
        assertEquals(4, df.filter("day = 1").count());
    }

    @Test
    void aSecondConcurrentRunFailsOnTheLock() throws Exception {
        Path in = tmp.resolve("lockin");
        for (int f = 0; f < 2; f++) {
            JobFixtures.write(in.resolve("b" + f + ".jsonl"), JobFixtures.unlabelled(f * 5, 5));
        }
        Path out = tmp.resolve("locked");
        String[] args = {
            "--model",
            model.toString(),
            "--input",
            in.toString(),
            "--output",
            out.toString(),
            "--mode",
            "incremental"
        };
        CountDownLatch inside = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        ScoreJob first = score();
        first.beforeUnitCommit =
                unit -> {
                    inside.countDown();
                    try {
                        release.await(60, TimeUnit.SECONDS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                };
        ExecutorService pool = Executors.newSingleThreadExecutor();
        try {
            Future<JobResult> f = pool.submit(() -> first.run(spark, first.parse(args)));
            assertTrue(inside.await(60, TimeUnit.SECONDS));
            ScoreJob second = score();
            IllegalStateException e =
                    assertThrows(
                            IllegalStateException.class,
                            () -> second.run(spark, second.parse(args)));
            assertTrue(e.getMessage().startsWith("Another run is writing '"), e.getMessage());
            assertTrue(e.getMessage().contains("locked.lock"), e.getMessage());
            release.countDown();
            assertEquals(10, f.get(120, TimeUnit.SECONDS).rows());
        } finally {
            release.countDown();
            pool.shutdownNow();
        }
        assertEquals(10, spark.read().parquet(out.toString()).count());
        assertFalse(Files.exists(OutputLockPath.of(out)));
    }

    @Test
    void aLockOfADeadProcessIsTakenOver() throws IOException {
        Path in = JobFixtures.write(tmp.resolve("s.jsonl"), JobFixtures.unlabelled(0, 3));
        Path out = tmp.resolve("stale");
        Process p = new ProcessBuilder("true").start();
        long deadPid = p.pid();
        try {
            p.waitFor();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        String host = java.net.InetAddress.getLocalHost().getHostName();
        Files.writeString(OutputLockPath.of(out), host + " " + deadPid + " 2020-01-01T00:00:00Z x");
        ScoreJob job = score();
        assertEquals(3, job.run(spark, job.parse(modelInputOutput(in, out))).rows());
        // a live holder (this JVM under another run id) is respected
        Files.writeString(
                OutputLockPath.of(out),
                host + " " + ProcessHandle.current().pid() + " 2020-01-01T00:00:00Z other-run");
        assertThrows(
                IllegalStateException.class,
                () -> job.run(spark, job.parse(modelInputOutput(in, out))));
    }

    @Test
    void trainTakesTheOutputLock() throws IOException {
        Path out = tmp.resolve("locked-model");
        String host = java.net.InetAddress.getLocalHost().getHostName();
        Files.writeString(
                OutputLockPath.of(out),
                host + " " + ProcessHandle.current().pid() + " 2020-01-01T00:00:00Z other-run");
        TrainJob job = new TrainJob(BACKEND);
        String[] args = {
            "--input", trainFile.toString(), "--output", out.toString(), "--epochs", "1"
        };
        IllegalStateException e =
                assertThrows(IllegalStateException.class, () -> job.run(spark, job.parse(args)));
        assertTrue(
                e.getMessage().contains(OutputLockPath.of(out).getFileName().toString()),
                e.getMessage());
        assertFalse(Files.exists(out), "nothing written under a lock held by another run");
        Files.delete(OutputLockPath.of(out));
        assertEquals(60, job.run(spark, job.parse(args)).rows());
        assertTrue(Files.isDirectory(out));
        assertFalse(Files.exists(OutputLockPath.of(out)), "lock released after the run");
    }

    /** A held-out file scores as is: its label column passes through beside predictedLabel. */
    @Test
    void aLabelledFileScoresWithoutFlags() throws IOException {
        Path in = JobFixtures.write(tmp.resolve("held-out.jsonl"), JobFixtures.lines(40, 8, true));
        Path out = tmp.resolve("held-out-scores");
        ScoreJob job = score();
        JobResult r = job.run(spark, job.parse(modelInputOutput(in, out, "--id-col", "id")));
        assertEquals(8, r.rows());
        Dataset<Row> df = spark.read().parquet(out.toString());
        assertEquals(
                List.of(
                        "id",
                        "label",
                        "text",
                        "prediction",
                        "predictedLabel",
                        "probability",
                        "rawPrediction"),
                List.of(df.columns()));
        List<Row> rows = df.orderBy("id").collectAsList();
        for (int i = 0; i < rows.size(); i++) {
            Row row = rows.get(i);
            // the input's label, untouched: even ids are "pos" in the fixture
            assertEquals((40 + i) % 2 == 0 ? "pos" : "neg", row.getString(1), row.toString());
            String predicted = row.getString(4);
            assertEquals(predicted.equals("pos") ? 1.0 : 0.0, row.getDouble(3), row.toString());
        }
    }

    /** The Spark jobs of a run carry a description naming the command, input and settings. */
    @Test
    void aRunSetsItsSparkJobDescription() throws Exception {
        Path dir = tmp.resolve("in-dir");
        JobFixtures.write(dir.resolve("a.jsonl"), JobFixtures.unlabelled(0, 3));
        JobFixtures.write(dir.resolve("b.jsonl"), JobFixtures.unlabelled(3, 3));
        JobFixtures.write(dir.resolve("_SUCCESS"), List.of());
        Path out = tmp.resolve("described");
        List<String> seen = new java.util.concurrent.CopyOnWriteArrayList<>();
        org.apache.spark.scheduler.SparkListener listener =
                new org.apache.spark.scheduler.SparkListener() {
                    @Override
                    public void onJobStart(org.apache.spark.scheduler.SparkListenerJobStart e) {
                        seen.add(
                                String.valueOf(
                                        e.properties().getProperty("spark.job.description")));
                    }
                };
        spark.sparkContext().addSparkListener(listener);
        String expected =
                "sparkbert score: 2 files from "
                        + dir
                        + ", model "
                        + model
                        + ", batch 32, mode overwrite -> "
                        + out;
        try {
            ScoreJob job = score();
            JobResult r =
                    job.runDescribed(
                            spark, job.parse(modelInputOutput(dir, out, "--batch-size", "32")));
            assertEquals(6, r.rows());
            spark.sparkContext().listenerBus().waitUntilEmpty();
        } finally {
            spark.sparkContext().removeSparkListener(listener);
        }
        assertFalse(seen.isEmpty());
        assertTrue(seen.contains(expected), seen.toString());
        assertEquals(
                List.of(),
                seen.stream().filter(d -> !d.equals(expected)).collect(Collectors.toList()),
                "every job of the run");
        assertEquals(null, spark.sparkContext().getLocalProperty("spark.job.description"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"default", "minilm-l6-v2"})
    void scoringABuiltInEncoderSaysWhatToDoInstead(String name) throws IOException {
        Path in = JobFixtures.write(tmp.resolve("d.jsonl"), JobFixtures.unlabelled(0, 2));
        IllegalArgumentException e =
                JobFixtures.refused(
                        spark,
                        score(),
                        "--model",
                        name,
                        "--input",
                        in.toString(),
                        "--output",
                        tmp.resolve("d-out").toString());
        String m = e.getMessage();
        assertTrue(m.startsWith("--model " + name + ": the built-in "), m);
        assertTrue(m.contains("without a trained classification head"), m);
        assertTrue(m.contains("sparkbert train --model " + name + " "), m);
        assertTrue(m.contains("sparkbert embed --model " + name + " "), m);
        assertFalse(m.contains("does not exist"), m);
        assertFalse(Files.exists(tmp.resolve("d-out")));
    }

    @Test
    void outputColumnClashesAndModelDirsAreChecked() throws IOException {
        List<String> scored = new ArrayList<>();
        for (String l : JobFixtures.lines(0, 3, true)) {
            scored.add(l.replace("\"label\"", "\"predictedLabel\":\"pos\",\"label\""));
        }
        Path in = JobFixtures.write(tmp.resolve("c.jsonl"), scored);
        ScoreJob job = score();
        IllegalArgumentException e =
                JobFixtures.refused(spark, job, modelInputOutput(in, tmp.resolve("o")));
        assertTrue(
                e.getMessage().contains("'predictedLabel'")
                        && e.getMessage().contains("--label-out-col"),
                e.getMessage());
        e =
                JobFixtures.refused(
                        spark,
                        job,
                        "--model",
                        tmp.toString(),
                        "--input",
                        in.toString(),
                        "--output",
                        tmp.resolve("o").toString());
        assertTrue(e.getMessage().contains("is neither a model dir"), e.getMessage());
        e =
                JobFixtures.refused(
                        spark,
                        job,
                        modelInputOutput(
                                in, tmp.resolve("o"), "--pair-col", "id", "--label-out-col", "x"));
        assertTrue(e.getMessage().contains("single texts"), e.getMessage());
        assertFalse(Files.exists(tmp.resolve("o")));
    }

    @Test
    void nullAndBlankTextsKeepTheirPlaceInTheOutput() throws IOException {
        List<String> lines = new ArrayList<>(JobFixtures.unlabelled(300, 6));
        lines.add(1, "{\"id\":\"n1\",\"text\":null}");
        lines.add(3, "{\"id\":\"n2\",\"text\":\"  \"}");
        lines.add(5, "{\"id\":\"n3\",\"text\":\"\"}");
        Path in = JobFixtures.write(tmp.resolve("ordered.jsonl"), lines);
        Path out = tmp.resolve("ordered-scores");
        ScoreJob job = score();
        job.run(spark, job.parse(modelInputOutput(in, out, "--format", "json")));
        List<String> expected = new ArrayList<>();
        for (String l : lines) {
            expected.add(JSON.readTree(l).get("id").asText());
        }
        Dataset<Row> df = spark.read().json(out.toString());
        assertEquals(expected, df.select("id").as(Encoders.STRING()).collectAsList());
        Row blank = df.filter("id = 'n2'").first();
        assertTrue(blank.isNullAt(blank.fieldIndex("prediction")), blank.toString());
        Row scored = df.filter("id = 'r300'").first();
        assertFalse(scored.isNullAt(scored.fieldIndex("prediction")), scored.toString());
    }

    /** Rows without a pair text are kept without outputs and counted in the manifest. */
    @Test
    void nullAndBlankPairTextsAreCountedInTheManifest() throws IOException {
        List<String> train = new ArrayList<>();
        for (String l : JobFixtures.lines(0, 20, true)) {
            train.add(l.replace("\"label\"", "\"second\":\"and so on\",\"label\""));
        }
        Path pairModel = tmp.resolve("pair-model");
        TrainJob t = new TrainJob(BACKEND);
        t.run(
                spark,
                t.parse(
                        "--input",
                        JobFixtures.write(tmp.resolve("pairs.jsonl"), train).toString(),
                        "--output",
                        pairModel.toString(),
                        "--pair-col",
                        "second",
                        "--epochs",
                        "1"));
        List<String> lines = new ArrayList<>();
        lines.add("{\"id\":\"ok1\",\"text\":\"good\",\"second\":\"fine\"}");
        lines.add("{\"id\":\"ok2\",\"text\":\"bad\",\"second\":\"awful\"}");
        lines.add("{\"id\":\"np\",\"text\":\"good\",\"second\":null}");
        lines.add("{\"id\":\"bp\",\"text\":\"good\",\"second\":\" \"}");
        lines.add("{\"id\":\"nt\",\"text\":null,\"second\":\"fine\"}");
        lines.add("{\"id\":\"nn\",\"text\":null,\"second\":null}");
        Path in = JobFixtures.write(tmp.resolve("pair-corpus.jsonl"), lines);
        Path out = tmp.resolve("pair-scores");
        ScoreJob job = score();
        JobResult r =
                job.run(
                        spark,
                        job.parse(
                                "--model", pairModel.toString(),
                                "--input", in.toString(),
                                "--output", out.toString(),
                                "--pair-col", "second",
                                "--label-out-col", "predicted"));
        assertEquals(6, r.rows());
        assertTrue(r.note().contains("3 null or blank pair texts"), r.note());
        JsonNode m = json(out.resolve(ScoreJob.MANIFEST));
        assertEquals(6, m.get("output_rows").asLong());
        assertEquals(2, m.get("null_texts").asLong());
        assertEquals(0, m.get("blank_texts").asLong());
        assertEquals(2, m.get("null_pairs").asLong());
        assertEquals(1, m.get("blank_pairs").asLong());
        assertEquals(4, m.get("unscored_rows").asLong());
        assertEquals(4, m.get("this_run").get("unscored_rows").asLong());
        Dataset<Row> df = spark.read().parquet(out.toString());
        assertEquals(
                4, df.filter("prediction is null").count(), "the unscored rows have no outputs");
        assertEquals(
                List.of("bp", "nn", "np", "nt"),
                df
                        .filter("prediction is null")
                        .select("id")
                        .as(Encoders.STRING())
                        .collectAsList()
                        .stream()
                        .sorted()
                        .collect(Collectors.toList()));
    }

    @Test
    void csvOutputKeepsMultiLineTextsAndTheirSpaces() throws IOException {
        List<String> lines = new ArrayList<>(JobFixtures.unlabelled(400, 3));
        lines.add("{\"id\":\"m1\",\"text\":\"great thing\\nsecond \\\"line\\\", ok\"}");
        lines.add("{\"id\":\"m2\",\"text\":\"  bad thing  \"}");
        Path in = JobFixtures.write(tmp.resolve("multiline.jsonl"), lines);
        Path out = tmp.resolve("multiline-scores");
        ScoreJob job = score();
        JobResult r = job.run(spark, job.parse(modelInputOutput(in, out, "--format", "csv")));
        assertEquals(5, r.rows());
        Dataset<Row> csv =
                spark.read()
                        .option("header", "true")
                        .option("multiLine", "true")
                        .option("escape", "\"")
                        .csv(out.toString());
        assertEquals(5, csv.count());
        assertEquals(
                "great thing\nsecond \"line\", ok",
                csv.filter("id = 'm1'").select("text").as(Encoders.STRING()).first());
        assertEquals(
                "  bad thing  ",
                csv.filter("id = 'm2'").select("text").as(Encoders.STRING()).first());
    }

    @Test
    void anOutputThatIsNotAnEarlierOutputOrHoldsTheInputOrModelIsNeverReplaced()
            throws IOException {
        Path dir = tmp.resolve("precious");
        Path keep = JobFixtures.write(dir.resolve("notes.txt"), List.of("keep me"));
        Path in = JobFixtures.write(dir.resolve("corpus.jsonl"), JobFixtures.unlabelled(0, 3));
        ScoreJob job = score();
        // the input's own directory (and its parent) as --output
        for (Path output : List.of(dir, tmp)) {
            IllegalArgumentException e =
                    JobFixtures.refused(spark, job, modelInputOutput(in, output));
            assertTrue(e.getMessage().startsWith("--output:"), e.getMessage());
        }
        // an unrelated directory with files in it
        Path other = JobFixtures.write(tmp.resolve("other/data.csv"), List.of("a,b"));
        Path otherIn = JobFixtures.write(tmp.resolve("in.jsonl"), JobFixtures.unlabelled(0, 3));
        IllegalArgumentException e =
                JobFixtures.refused(spark, job, modelInputOutput(otherIn, other.getParent()));
        assertTrue(
                e.getMessage().contains("not the output of an earlier score run"), e.getMessage());
        // evaluate into the model dir, embed into the input's dir
        EvaluateJob ev = new EvaluateJob(BACKEND);
        e = JobFixtures.refused(spark, ev, modelInputOutput(trainFile, model));
        assertTrue(e.getMessage().startsWith("--output:"), e.getMessage());
        EmbedJob embed = new EmbedJob();
        e = JobFixtures.refused(spark, embed, "--input", in.toString(), "--output", dir.toString());
        assertTrue(e.getMessage().startsWith("--output:"), e.getMessage());
        assertTrue(Files.exists(keep) && Files.exists(in) && Files.exists(other));
        assertTrue(Files.exists(model.resolve(ModelDir.META)));
        // an empty directory and an earlier score output may be replaced
        Path empty = Files.createDirectories(tmp.resolve("empty"));
        for (int run = 0; run < 2; run++) {
            job.run(spark, job.parse(modelInputOutput(otherIn, empty)));
        }
        assertEquals(3, spark.read().parquet(empty.toString()).count());
    }

    @Test
    void trainTakesColumnNamesWithDotsLiterally() throws IOException {
        List<String> lines = new ArrayList<>();
        lines.add("review.text,y.label");
        for (String l : JobFixtures.lines(0, 20, true)) {
            JsonNode n = JSON.readTree(l);
            lines.add("\"" + n.get("text").asText() + "\"," + n.get("label").asText());
        }
        Path in = JobFixtures.write(tmp.resolve("dotted.csv"), lines);
        Path out = tmp.resolve("dotted-model");
        TrainJob job = new TrainJob(BACKEND);
        JobResult r =
                job.run(
                        spark,
                        job.parse(
                                "--input",
                                in.toString(),
                                "--output",
                                out.toString(),
                                "--text-col",
                                "review.text",
                                "--label-col",
                                "y.label",
                                "--epochs",
                                "1"));
        assertEquals(20, r.rows());
        assertTrue(Files.exists(out.resolve(ModelDir.META)));
    }

    /** The lock path of an output, as {@link OutputLock} names it. */
    static final class OutputLockPath {
        static Path of(Path out) {
            return out.resolveSibling(out.getFileName() + ".lock");
        }
    }
}
