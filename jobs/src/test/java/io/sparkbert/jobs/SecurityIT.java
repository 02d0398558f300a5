package io.sparkbert.jobs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sparkbert.testing.Fixtures;
import io.sparkbert.testing.SparkTestSession;
import io.sparkbert.testing.TokenizerGolden;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Run-time isolation: the tokenize command and a local-mode score job work in a network namespace
 * with loopback only ({@code unshare -n}), and incremental unit names made from input file names
 * never leave the output directory.
 */
class SecurityIT {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir Path tmp;

    /** Runs {@code java <flags> args...} inside a fresh network namespace with loopback up. */
    private static Proc isolated(Path dir, List<String> javaArgs) throws Exception {
        List<String> java = new ArrayList<>();
        java.add(Paths.get(System.getProperty("java.home"), "bin", "java").toString());
        java.add("-Xmx1g");
        java.addAll(Arrays.asList(System.getProperty("sparkbert.jvm.flags").trim().split("\\s+")));
        java.add("-cp");
        String cp = System.getProperty("surefire.test.class.path");
        java.add(cp == null || cp.isBlank() ? System.getProperty("java.class.path") : cp);
        java.addAll(javaArgs);
        StringBuilder script = new StringBuilder("ip link set lo up && exec");
        for (String a : java) {
            script.append(" '").append(a.replace("'", "'\\''")).append('\'');
        }
        return run(dir, List.of("unshare", "-n", "--", "bash", "-c", script.toString()));
    }

    private record Proc(int code, String out, String err) {}

    private static Proc run(Path dir, List<String> command) throws Exception {
        Path out = Files.createTempFile(dir, "out", ".log");
        Path err = Files.createTempFile(dir, "err", ".log");
        ProcessBuilder b = new ProcessBuilder(command);
        b.environment().put("OPT_OUT_TRACKING", "true");
        b.environment().put("SPARK_LOCAL_IP", "127.0.0.1");
        b.redirectOutput(out.toFile()).redirectError(err.toFile());
        Process p = b.start();
        if (!p.waitFor(5, TimeUnit.MINUTES)) {
            p.destroyForcibly();
            throw new AssertionError("timed out: " + command);
        }
        return new Proc(
                p.exitValue(),
                Files.readString(out, StandardCharsets.UTF_8),
                Files.readString(err, StandardCharsets.UTF_8));
    }

    private static void assumeNamespaces(Path dir) throws Exception {
        Proc probe =
                run(
                        dir,
                        List.of(
                                "unshare",
                                "-n",
                                "--",
                                "bash",
                                "-c",
                                "ip link set lo up && ((exec 3<>/dev/tcp/1.1.1.1/443)"
                                        + " 2>/dev/null && echo NET || echo NONET)"));
        assumeTrue(
                probe.code() == 0,
                "unshare -n is not permitted here (needs root or user namespaces): " + probe.err());
        // the sandbox is real: nothing but loopback is reachable
        assertEquals("NONET", probe.out().strip());
    }

    @Test
    void tokenizeWorksWithoutANetwork() throws Exception {
        assumeNamespaces(tmp);
        List<TokenizerGolden.Single> cases =
                TokenizerGolden.load().single.stream()
                        .filter(c -> !c.text.isEmpty())
                        .limit(8)
                        .toList();
        List<String> args = new ArrayList<>(List.of(TokenizeCommand.class.getName(), "--json"));
        args.add("--");
        cases.forEach(c -> args.add(c.text));
        Proc p = isolated(tmp, args);
        assertEquals(0, p.code(), p.err());
        String[] got = p.out().strip().split("\n");
        assertEquals(cases.size(), got.length, p.out());
        for (int i = 0; i < cases.size(); i++) {
            JsonNode line = JSON.readTree(got[i]);
            TokenizerGolden.Single c = cases.get(i);
            assertEquals(c.text, line.get("text").asText());
            List<String> tokens = new ArrayList<>();
            line.get("tokens").forEach(t -> tokens.add(t.asText()));
            assertEquals(c.tokens, tokens, c.text);
            long[] ids = new long[line.get("input_ids").size()];
            for (int k = 0; k < ids.length; k++) {
                ids[k] = line.get("input_ids").get(k).asLong();
            }
            assertArrayEquals(c.encoding.inputIds, ids, c.text);
        }
    }

    @Test
    void aLocalScoreJobWorksWithoutANetwork() throws Exception {
        assumeNamespaces(tmp);
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
            lines.add("{\"id\":" + i + ",\"text\":\"offline review " + i + " was fine\"}");
        }
        Path in = JobFixtures.write(tmp.resolve("in.jsonl"), lines);
        Path out = tmp.resolve("isolated");
        Proc p =
                isolated(
                        tmp,
                        List.of(
                                "-Dspark.master=local[2]",
                                "-Dspark.driver.host=127.0.0.1",
                                "-Dspark.ui.enabled=false",
                                ScoreJob.class.getName(),
                                "--model",
                                Fixtures.tinyBert().toString(),
                                "--input",
                                in.toString(),
                                "--output",
                                out.toString()));
        assertEquals(0, p.code(), p.err());
        assertTrue(p.out().contains("score: 30 rows in "), p.out());

        // the same scores as this (networked) JVM computes, with the input split the way the
        // job's main splits it (same partitions, same batches, so bit-identical scores)
        SparkSession spark = SparkTestSession.get();
        Path ref = tmp.resolve("reference");
        ScoreJob job = new ScoreJob(new BertBackend());
        try {
            JobRunner.splitSmallInputs(spark);
            job.run(
                    spark,
                    job.parse(
                            "--model",
                            Fixtures.tinyBert().toString(),
                            "--input",
                            in.toString(),
                            "--output",
                            ref.toString()));
        } finally {
            spark.conf().unset(JobRunner.OPEN_COST);
        }
        Map<Long, List<Double>> want = new HashMap<>();
        for (Row r : spark.read().parquet(ref.toString()).collectAsList()) {
            want.put(r.getAs("id"), r.getList(r.fieldIndex("probability")));
        }
        Map<Long, List<Double>> got = new HashMap<>();
        for (Row r : spark.read().parquet(out.toString()).collectAsList()) {
            got.put(r.getAs("id"), r.getList(r.fieldIndex("probability")));
        }
        assertEquals(30, got.size());
        assertEquals(want, got);
    }

    @Test
    void unitNamesFromFileNamesStayOneSegmentInsideTheOutput() {
        org.apache.hadoop.fs.Path out = new org.apache.hadoop.fs.Path("/data/scores");
        for (String name :
                List.of(
                        "../../etc/passwd",
                        "/etc/passwd",
                        "..",
                        "a/../../b",
                        "C:\\windows\\x",
                        "x:y",
                        "100%.jsonl",
                        "tab\tand\nnewline")) {
            String unit = InputUnits.fileUnitName(name);
            assertFalse(unit.contains("/"), unit);
            assertFalse(unit.contains("\\"), unit);
            assertFalse(unit.contains(":"), unit);
            org.apache.hadoop.fs.Path target = InputUnits.target(out, unit);
            assertEquals(out, target.getParent(), unit);
        }
        assertEquals(
                "source_file=..%2F..%2Fetc%2Fpasswd", InputUnits.fileUnitName("../../etc/passwd"));
        assertEquals("source_file=%2Fetc%2Fpasswd", InputUnits.fileUnitName("/etc/passwd"));
        assertEquals("source_file=part-0.jsonl", InputUnits.fileUnitName("part-0.jsonl"));
        for (String bad : List.of("../x", "a/../../x", "/abs", "k=v/..", "", "a//b")) {
            assertThrows(IllegalStateException.class, () -> InputUnits.target(out, bad), bad);
        }
    }

    @Test
    void oddInputFileNamesAreScoredIntoTheirOwnUnitsInsideTheOutput() throws IOException {
        Path in = Files.createDirectories(tmp.resolve("in"));
        List<String> names =
                List.of("plain.jsonl", "with space.jsonl", "100%.jsonl", "a..b.jsonl", "ünï.jsonl");
        int id = 0;
        for (String n : names) {
            JobFixtures.write(
                    in.resolve(n),
                    List.of(
                            "{\"id\":" + id++ + ",\"text\":\"one\"}",
                            "{\"id\":" + id++ + ",\"text\":\"two\"}"));
        }
        Path out = tmp.resolve("nested/out");
        ScoreJob job = new ScoreJob(new BertBackend());
        SparkSession spark = SparkTestSession.get();
        job.run(
                spark,
                job.parse(
                        "--model",
                        Fixtures.tinyBert().toString(),
                        "--input",
                        in.toString(),
                        "--output",
                        out.toString(),
                        "--mode",
                        "incremental"));
        Set<String> units = new TreeSet<>();
        try (Stream<Path> s = Files.list(out)) {
            s.filter(Files::isDirectory).forEach(p -> units.add(p.getFileName().toString()));
        }
        Set<String> want = new TreeSet<>();
        names.forEach(n -> want.add(InputUnits.fileUnitName(n)));
        assertEquals(want, units, "one unit dir per file, directly in the output");
        // nothing written next to or above the output
        try (Stream<Path> s = Files.list(tmp.resolve("nested"))) {
            assertEquals(List.of(out), s.toList());
        }
        List<Row> rows = spark.read().parquet(out.toString()).collectAsList();
        assertEquals(2 * names.size(), rows.size());
        Set<String> sources = new TreeSet<>();
        rows.forEach(r -> sources.add(r.getAs("source_file")));
        assertEquals(new TreeSet<>(names), sources, "Spark reads the file names back");
    }
}
