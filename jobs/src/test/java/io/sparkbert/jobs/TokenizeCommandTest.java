package io.sparkbert.jobs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sparkbert.testing.Fixtures;
import io.sparkbert.testing.TokenizerGolden;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class TokenizeCommandTest {
    private static final class Result {
        int code;
        String out;
        String err;
    }

    private static Result run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        Result r = new Result();
        r.code =
                TokenizeCommand.run(
                        args,
                        new PrintStream(out, true, StandardCharsets.UTF_8),
                        new PrintStream(err, true, StandardCharsets.UTF_8));
        r.out = out.toString(StandardCharsets.UTF_8);
        r.err = err.toString(StandardCharsets.UTF_8);
        return r;
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    private static JsonNode parse(String line) {
        try {
            return JSON.readTree(line);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static List<String> keys(JsonNode o) {
        List<String> out = new ArrayList<>();
        o.fieldNames().forEachRemaining(out::add);
        return out;
    }

    private static long[] longs(JsonNode a) {
        long[] out = new long[a.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = a.get(i).asLong();
        }
        return out;
    }

    @Test
    void jsonLinesMatchTheGoldenFixture() {
        TokenizerGolden golden = TokenizerGolden.load();
        List<String> args = new ArrayList<>(List.of("--json", "--"));
        List<TokenizerGolden.Single> cases = new ArrayList<>();
        for (TokenizerGolden.Single c : golden.single) {
            if (!c.text.isEmpty()) {
                args.add(c.text);
                cases.add(c);
            }
        }
        for (String model : new String[] {"default", Fixtures.tinyBert().toString()}) {
            List<String> withModel = new ArrayList<>(List.of("--model", model));
            withModel.addAll(args);
            Result r = run(withModel.toArray(new String[0]));
            assertEquals(0, r.code, r.err);
            String[] lines = r.out.split("\n");
            assertEquals(cases.size(), lines.length);
            for (int i = 0; i < lines.length; i++) {
                TokenizerGolden.Single c = cases.get(i);
                JsonNode o = parse(lines[i]);
                assertEquals(
                        List.of(
                                "text",
                                "tokens",
                                "ids",
                                "input_ids",
                                "token_type_ids",
                                "attention_mask",
                                "decoded"),
                        keys(o));
                assertEquals(c.text, o.get("text").asText());
                List<String> tokens = new ArrayList<>();
                o.get("tokens").forEach(t -> tokens.add(t.asText()));
                assertEquals(c.tokens, tokens);
                assertArrayEquals(c.ids, longs(o.get("ids")));
                assertArrayEquals(c.encoding.inputIds, longs(o.get("input_ids")));
                assertArrayEquals(c.encoding.tokenTypeIds, longs(o.get("token_type_ids")));
                assertArrayEquals(c.encoding.attentionMask, longs(o.get("attention_mask")));
                assertEquals(c.decodeSkipSpecial, o.get("decoded").asText());
            }
        }
    }

    @Test
    void pairWithTruncationAndPadding() {
        // pair[1] of the fixture: longest_first, max_length 12.
        Result r =
                run(
                        "--json",
                        "--pair",
                        "Let's fo for a work",
                        "--max-length",
                        "12",
                        "--truncation",
                        "longest_first",
                        "The weather is nice");
        assertEquals(0, r.code, r.err);
        JsonNode o = parse(r.out.trim());
        assertArrayEquals(
                new long[] {101, 1996, 4633, 2003, 3835, 102, 2292, 1005, 1055, 1042, 2080, 102},
                longs(o.get("input_ids")));
        assertArrayEquals(
                new long[] {0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1}, longs(o.get("token_type_ids")));

        r = run("--json", "--padding", "longest", "short sentence", "COVID-19 pandemic");
        String[] lines = r.out.split("\n");
        assertArrayEquals(
                new long[] {101, 2460, 6251, 102, 0, 0, 0, 0, 0},
                longs(parse(lines[0]).get("input_ids")));
    }

    @Test
    void readableOutput() {
        Result r = run("COVID-19 pandemic");
        assertEquals(0, r.code, r.err);
        assertTrue(r.out.contains("tokens:         co ##vid - 19 pan ##de ##mic"), r.out);
        assertTrue(
                r.out.contains("ids:            [2522, 17258, 1011, 2539, 6090, 3207, 7712]"),
                r.out);
        assertTrue(r.out.contains("decoded:        covid - 19 pandemic"), r.out);
        assertTrue(r.out.contains("encoded tokens: [CLS] co ##vid"), r.out);
    }

    @Test
    void errorsGoToStderrWithNonZeroExit() {
        Result r = run("--json");
        assertEquals(2, r.code);
        assertEquals("", r.out);
        assertTrue(r.err.contains("No TEXT given"), r.err);

        r = run("--truncation", "sometimes", "x");
        assertEquals(2, r.code);
        assertTrue(r.err.contains("[longest_first|only_first|only_second|none]"), r.err);

        r = run("--max-length", "zero", "x");
        assertEquals(2, r.code);
        assertTrue(r.err.contains("--max-length needs a positive integer"), r.err);

        r = run("--bogus", "x");
        assertEquals(2, r.code);

        r = run("--model", "/no/such/model", "x");
        assertEquals(1, r.code);
        assertEquals("", r.out);
        assertTrue(r.err.contains("/no/such/model"), r.err);

        r =
                run(
                        "--json",
                        "--pair",
                        "Someone performs music.",
                        "--truncation",
                        "only_second",
                        "--max-length",
                        "14",
                        "A man is playing a guitar on stage in front of a large crowd of people.");
        assertEquals(1, r.code);
        assertEquals("", r.out);
        assertTrue(r.err.contains("Sequence to truncate too short"), r.err);
    }

    @Test
    void mainPrintsOnlyJsonOnStdout() throws Exception {
        String java =
                System.getProperty("java.home") + File.separator + "bin" + File.separator + "java";
        ProcessBuilder pb =
                new ProcessBuilder(
                        java,
                        "-Dai.djl.offline=true",
                        "-cp",
                        System.getProperty("java.class.path"),
                        TokenizeCommand.class.getName(),
                        "--json",
                        "--max-length",
                        "100000",
                        "Hello, world!",
                        "emoji \ud83d\ude00");
        pb.environment().put("OPT_OUT_TRACKING", "true");
        Process p = pb.start();
        byte[] stdout = p.getInputStream().readAllBytes();
        byte[] stderr = p.getErrorStream().readAllBytes();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), new String(stderr, StandardCharsets.UTF_8));
        String[] lines = new String(stdout, StandardCharsets.UTF_8).split("\n");
        assertEquals(2, lines.length, new String(stdout, StandardCharsets.UTF_8));
        assertArrayEquals(
                new long[] {101, 7592, 1010, 2088, 999, 102},
                longs(parse(lines[0]).get("input_ids")));
        JsonNode emoji = parse(lines[1]);
        assertEquals("[\"em\",\"##oj\",\"##i\",\"[UNK]\"]", emoji.get("tokens").toString());
        assertEquals("emoji", emoji.get("decoded").asText());
    }
}
