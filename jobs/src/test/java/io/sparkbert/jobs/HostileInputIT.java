package io.sparkbert.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sparkbert.testing.Fixtures;
import io.sparkbert.testing.SparkTestSession;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Nasty rows and broken model dirs through ScoreJob (local mode, the tiny reference checkpoint):
 * every input row comes out exactly once, or the job stops with a clear error before it writes
 * anything.
 */
class HostileInputIT {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final SparkSession spark = SparkTestSession.get();

    @TempDir Path tmp;

    /** id -> expected number of occurrences in the output. */
    private final Map<String, Integer> expected = new HashMap<>();

    private final ByteArrayOutputStream file = new ByteArrayOutputStream();

    private void row(String id, String text) {
        ObjectNode n = JSON.createObjectNode().put("id", id);
        if (text == null) {
            n.putNull("text");
        } else {
            n.put("text", text);
        }
        raw(n.toString().getBytes(StandardCharsets.UTF_8), id);
    }

    private void raw(byte[] line, String id) {
        file.writeBytes(line);
        file.write('\n');
        expected.merge(id, 1, Integer::sum);
    }

    private Path corpus() throws IOException {
        row("null", null);
        row("empty", "");
        row("blank", " \t\n\r\u2003\u3000 ");
        // NBSP is not whitespace to Java (String.isBlank): the model gets it, and scores it
        row("nbsp", "\u00a0\u00a0");
        StringBuilder big = new StringBuilder();
        Random rnd = new Random(1);
        while (big.length() < 5 * 1024 * 1024) {
            big.append("word").append(rnd.nextInt(1000)).append(' ');
        }
        row("five-mb", big.toString());
        StringBuilder garbage = new StringBuilder();
        for (int i = 0; i < 512; i++) {
            garbage.append((char) rnd.nextInt(0x3000));
        }
        row("binary", garbage.toString());
        row("controls", "\u0000\u0001\u0007\u001b[31m\u007f\ufeff\ufffe\uffff");
        row("lone-high", "before \ud800 after");
        row("lone-low", "\udc00\udfff at the start");
        row("pair-split", "emoji \ud83d\ude00 and a cut one \ud83d");
        row("rtl", "\u05e9\u05dc\u05d5\u05dd \u202eevil\u202c \u0645\u0631\u062d\u0628\u0627");
        row("combining", "e\u0301\u0301\u0301\u0301\u0301\u0301 Z\u0351\u0352\u0353\u0354");
        row("dup", "the first of two rows with one id");
        row("dup", "the second of two rows with one id");
        for (int i = 0; i < 20; i++) {
            row("plain-" + i, "an ordinary review number " + i);
        }
        Path in = tmp.resolve("hostile.jsonl");
        Files.write(in, file.toByteArray());
        return in;
    }

    /** A JSON line whose text holds bytes that are not UTF-8 (0xC3 0x28, 0xFF, a cut sequence). */
    private static byte[] badUtf8Line() {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.writeBytes("{\"id\":\"bad-utf8\",\"text\":\"caf".getBytes(StandardCharsets.US_ASCII));
        b.writeBytes(new byte[] {(byte) 0xC3, 0x28, (byte) 0xFF, (byte) 0xE2, (byte) 0x82});
        b.writeBytes(" ok\"}".getBytes(StandardCharsets.US_ASCII));
        return b.toByteArray();
    }

    @Test
    void invalidUtf8InJsonLinesStopsTheJobBeforeWritingAndNamesTheLine() throws IOException {
        row("a", "fine");
        row("b", "also fine");
        raw(badUtf8Line(), "bad-utf8");
        row("c", "fine again");
        Path in = tmp.resolve("bad.jsonl");
        Files.write(in, file.toByteArray());
        Path out = tmp.resolve("bad-out");
        IllegalArgumentException e =
                assertThrows(
                        IllegalArgumentException.class, () -> score(Fixtures.tinyBert(), in, out));
        assertTrue(
                e.getMessage().contains("line 3 is not valid UTF-8 (byte 0xC3 at byte 29)"),
                e.getMessage());
        assertTrue(e.getMessage().contains("nothing was written"), e.getMessage());
        assertNothingWritten(out);
    }

    @Test
    void invalidUtf8InATextFileBecomesReplacementCharactersAndIsScored() throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.writeBytes("first line\n".getBytes(StandardCharsets.UTF_8));
        b.writeBytes(badUtf8Line());
        b.writeBytes("\nlast line\n".getBytes(StandardCharsets.UTF_8));
        Path in = tmp.resolve("bad.txt");
        Files.write(in, b.toByteArray());
        Path out = tmp.resolve("txt-out");
        JobResult r = score(Fixtures.tinyBert(), in, out);
        assertEquals(3, r.rows());
        List<Row> rows = spark.read().parquet(out.toString()).collectAsList();
        assertEquals(3, rows.size());
        long replaced =
                rows.stream()
                        .filter(x -> ((String) x.getAs("text")).contains("\ufffd"))
                        .peek(x -> assertNotNull(x.getAs("prediction")))
                        .count();
        assertEquals(1, replaced, "the bad bytes read as U+FFFD, the row scored");
    }

    private ScoreJob job() {
        return new ScoreJob(new BertBackend());
    }

    private JobResult score(Path model, Path in, Path out, String... extra) {
        List<String> a =
                new ArrayList<>(
                        List.of(
                                "--model", model.toString(),
                                "--input", in.toString(),
                                "--output", out.toString(),
                                "--batch-size", "4",
                                "--max-length", "32"));
        a.addAll(List.of(extra));
        ScoreJob j = job();
        return j.run(spark, j.parse(a.toArray(new String[0])));
    }

    @ParameterizedTest
    @ValueSource(strings = {"parquet", "json", "csv"})
    void everyNastyRowComesOutExactlyOnce(String format) throws IOException {
        Path in = corpus();
        Path out = tmp.resolve("out-" + format);
        JobResult r = score(Fixtures.tinyBert(), in, out, "--format", format);
        int total = expected.values().stream().mapToInt(Integer::intValue).sum();
        assertEquals(total, r.rows());

        var reader = spark.read().format(format);
        if (format.equals("csv")) {
            reader = reader.option("header", "true").option("multiLine", "true");
            reader = reader.option("escape", "\"");
        }
        List<Row> rows = reader.load(out.toString()).collectAsList();
        assertEquals(total, rows.size(), "no row lost or added");
        Map<String, Integer> seen = new HashMap<>();
        for (Row row : rows) {
            String id = row.getAs("id");
            seen.merge(id, 1, Integer::sum);
            Object prediction = row.getAs("prediction");
            if (id.equals("null") || id.equals("empty") || id.equals("blank")) {
                assertNull(prediction, id + ": no text, null outputs");
                assertNull(row.getAs("probability"), id);
                continue;
            }
            assertNotNull(prediction, id);
            double p0;
            double p1;
            if (format.equals("csv")) {
                var probs = JSON.readTree((String) row.getAs("probability"));
                p0 = probs.get(0).asDouble();
                p1 = probs.get(1).asDouble();
            } else {
                List<Double> p = row.getList(row.fieldIndex("probability"));
                p0 = p.get(0);
                p1 = p.get(1);
            }
            assertTrue(Double.isFinite(p0) && Double.isFinite(p1), id);
            assertEquals(1.0, p0 + p1, 1e-9, id);
            double pred =
                    format.equals("csv")
                            ? Double.parseDouble(row.getAs("prediction"))
                            : (double) row.getAs("prediction");
            assertEquals(p1 > p0 ? 1.0 : 0.0, pred, id);
        }
        assertEquals(expected, seen, "each input id as often as in the input");
        var manifest = JSON.readTree(out.resolve(ScoreJob.MANIFEST).toFile());
        assertEquals(total, manifest.get("output_rows").asLong());
        assertEquals(1, manifest.get("null_texts").asLong());
        assertEquals(2, manifest.get("blank_texts").asLong());
    }

    @Test
    void blankTextsInAPairColumnAreKeptWithNullOutputsToo() throws IOException {
        // the checkpoint reads pairs as well; a blank second text must not stop the job either
        Path in =
                JobFixtures.write(
                        tmp.resolve("pairs.jsonl"),
                        List.of(
                                "{\"id\":\"ok\",\"text\":\"a question\",\"b\":\"an answer\"}",
                                "{\"id\":\"blank-b\",\"text\":\"a question\",\"b\":\"\\t \"}",
                                "{\"id\":\"null-b\",\"text\":\"a question\",\"b\":null}"));
        Path out = tmp.resolve("pairs-out");
        JobResult r = score(Fixtures.tinyBert(), in, out, "--pair-col", "b");
        assertEquals(3, r.rows());
        Map<String, Object> byId = new HashMap<>();
        for (Row row : spark.read().parquet(out.toString()).collectAsList()) {
            byId.put(row.getAs("id"), row.getAs("prediction"));
        }
        assertEquals(3, byId.size());
        assertNotNull(byId.get("ok"));
        assertNull(byId.get("blank-b"));
        assertNull(byId.get("null-b"));
    }

    @Test
    void aTextColumnOfTheWrongTypeFailsBeforeWritingAnything() throws IOException {
        Path in =
                JobFixtures.write(
                        tmp.resolve("numbers.jsonl"),
                        List.of("{\"id\":\"a\",\"text\":12}", "{\"id\":\"b\",\"text\":13}"));
        Path out = tmp.resolve("never");
        IllegalArgumentException e =
                assertThrows(
                        IllegalArgumentException.class, () -> score(Fixtures.tinyBert(), in, out));
        assertTrue(
                e.getMessage().contains("--text-col: column 'text' must hold strings but is"),
                e.getMessage());
        assertNothingWritten(out);
    }

    private void assertNothingWritten(Path out) throws IOException {
        try (Stream<Path> s = Files.list(out.getParent())) {
            List<String> left =
                    s.map(p -> p.getFileName().toString())
                            .filter(n -> n.contains(out.getFileName().toString()))
                            .toList();
            assertEquals(List.of(), left, "no output, staging or lock left");
        }
    }

    private Path copyOfTinyBert(String name) throws IOException {
        Path dir = Files.createDirectories(tmp.resolve(name));
        try (Stream<Path> s = Files.list(Fixtures.tinyBert())) {
            for (Path p : s.toList()) {
                if (!p.getFileName().toString().equals("golden.json")) {
                    Files.copy(p, dir.resolve(p.getFileName()));
                }
            }
        }
        return dir;
    }

    private IllegalArgumentException refused(Path model) throws IOException {
        Path in =
                JobFixtures.write(
                        tmp.resolve("small.jsonl"), List.of("{\"id\":\"a\",\"text\":\"fine\"}"));
        Path out = tmp.resolve("refused-" + model.getFileName());
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> score(model, in, out));
        assertNothingWritten(out);
        return e;
    }

    @Test
    void aTruncatedCheckpointIsRefused() throws IOException {
        Path dir = copyOfTinyBert("truncated");
        Path weights = dir.resolve("model.safetensors");
        byte[] all = Files.readAllBytes(weights);
        Files.write(weights, java.util.Arrays.copyOf(all, all.length / 2));
        IllegalArgumentException e = refused(dir);
        assertTrue(e.getMessage().contains("model.safetensors"), e.getMessage());
    }

    @Test
    void aCheckpointWhoseConfigDoesNotMatchItsWeightsIsRefused() throws IOException {
        Path dir = copyOfTinyBert("mismatched");
        Path config = dir.resolve("config.json");
        ObjectNode c = (ObjectNode) JSON.readTree(config.toFile());
        c.put("intermediate_size", c.get("intermediate_size").asInt() * 2);
        Files.writeString(config, c.toString());
        IllegalArgumentException e = refused(dir);
        assertTrue(e.getMessage().contains("intermediate"), e.getMessage());
    }

    @Test
    void aPickleOnlyCheckpointIsRefusedWithoutReadingThePickle() throws Exception {
        Path dir = copyOfTinyBert("pickled");
        Files.delete(dir.resolve("model.safetensors"));
        // A FIFO with no writer: any attempt to read it blocks forever, so finishing in time
        // proves the pickle was never opened for reading.
        Path pickle = dir.resolve("pytorch_model.bin");
        Process mk = new ProcessBuilder("mkfifo", pickle.toString()).inheritIO().start();
        assertEquals(0, mk.waitFor());
        IllegalArgumentException e =
                assertTimeoutPreemptively(Duration.ofSeconds(90), () -> refused(dir));
        assertTrue(e.getMessage().contains("pytorch_model.bin (a pickle"), e.getMessage());
        assertTrue(e.getMessage().contains("safetensors"), e.getMessage());
        assertFalse(Files.isRegularFile(dir.resolve("model.safetensors")));
    }

    @Test
    void aStagingDirLeftByAnUnfinishedRunIsNotAModel() throws IOException {
        Path model = tmp.resolve("model");
        Path staging = tmp.resolve(".model.staging-" + java.util.UUID.randomUUID());
        Files.move(copyOfTinyBert("complete-looking"), staging);
        IllegalArgumentException e = refused(staging);
        assertTrue(e.getMessage().contains("is the staging dir of"), e.getMessage());
        e = refused(model);
        assertTrue(
                e.getMessage()
                        .equals(
                                "--model: '"
                                        + model
                                        + "' does not exist (a train run into it did not finish"
                                        + " and left a hidden staging dir next to it; rerun"
                                        + " train)."),
                e.getMessage());
    }
}
