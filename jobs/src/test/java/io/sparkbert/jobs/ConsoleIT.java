package io.sparkbert.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkbert.bert.Devices;
import io.sparkbert.data.SentimentCorpus;
import io.sparkbert.testing.Fixtures;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a user's console shows: scripts/sparkbert (no Spark install, a local master) prints the
 * project's own lines, warnings and the summary, not Spark's, Hadoop's or DJL's INFO log. Runs
 * after {@code package}, which the launcher needs.
 */
class ConsoleIT {
    private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
    private static final Path LAUNCHER = ROOT.resolve("scripts/sparkbert");

    /** {@code HH:mm:ss LEVEL Logger: message}, the layout of conf/log4j2.properties. */
    private static final Pattern LOG_LINE =
            Pattern.compile("^\\d\\d:\\d\\d:\\d\\d (TRACE|DEBUG|INFO|WARN|ERROR) (\\S+): ");

    @TempDir Path tmp;

    private record Run(int exit, List<String> stdout, List<String> stderr) {
        List<String> all() {
            List<String> a = new ArrayList<>(stdout);
            a.addAll(stderr);
            return a;
        }
    }

    private Run launch(String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("bash", LAUNCHER.toString()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(tmp.toFile());
        pb.environment().remove("SPARK_HOME");
        pb.environment().remove("SPARK_LOCAL_IP"); // the launcher's own choice, as for a user
        pb.environment().remove("SPARKBERT_LOG");
        pb.environment().put("SPARKBERT_CDS", "off");
        pb.environment().put("SPARKBERT_DRIVER_MEMORY", "2g");
        pb.environment().put("SPARKBERT_DATA_DIR", SentimentCorpus.defaultDir().toString());
        Path out = tmp.resolve("stdout-" + System.nanoTime() + ".txt");
        Path err = tmp.resolve("stderr-" + System.nanoTime() + ".txt");
        pb.redirectOutput(out.toFile()).redirectError(err.toFile());
        Process p = pb.start();
        if (!p.waitFor(20, TimeUnit.MINUTES)) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
            throw new AssertionError("launcher did not finish: " + String.join(" ", args));
        }
        return new Run(
                p.exitValue(),
                Files.readAllLines(out, StandardCharsets.UTF_8),
                Files.readAllLines(err, StandardCharsets.UTF_8));
    }

    /** Simple names of the project's classes, the only loggers allowed to print INFO. */
    private static Set<String> projectClassNames() throws IOException {
        Set<String> names = new HashSet<>();
        for (String module : List.of("transformers", "udfs", "jobs")) {
            Path classes = ROOT.resolve(module).resolve("target/classes/io/sparkbert");
            try (Stream<Path> s = Files.walk(classes)) {
                s.map(f -> f.getFileName().toString())
                        .filter(n -> n.endsWith(".class") && !n.contains("$"))
                        .forEach(n -> names.add(n.substring(0, n.length() - 6)));
            }
        }
        return names;
    }

    /** The INFO lines whose logger is not one of the project's classes. */
    private static List<String> foreignInfoLines(List<String> lines) throws IOException {
        Set<String> ours = projectClassNames();
        List<String> bad = new ArrayList<>();
        for (String l : lines) {
            Matcher m = LOG_LINE.matcher(l);
            if (m.find()
                    && (m.group(1).equals("INFO")
                            || m.group(1).equals("DEBUG")
                            || m.group(1).equals("TRACE"))
                    && !ours.contains(m.group(2))) {
                bad.add(l);
            }
        }
        return bad;
    }

    @Test
    void scoreAndAShortDemoPrintOnlyWhatMatters() throws Exception {
        String device = Devices.name(Devices.resolve("auto"));
        Path corpus = tmp.resolve("corpus.jsonl");
        Files.write(
                corpus,
                List.of(
                        "{\"id\":1,\"text\":\"the movie was great\",\"label\":\"x\"}",
                        "{\"id\":2,\"text\":\"never again\",\"label\":\"y\"}",
                        "{\"id\":3,\"text\":\"battery works fine\",\"label\":\"x\"}"));
        Run score =
                launch(
                        "score",
                        "--master",
                        "local[2]",
                        "--model",
                        Fixtures.tinyBert().toAbsolutePath().toString(),
                        "--input",
                        corpus.toString(),
                        "--output",
                        tmp.resolve("scores").toString());
        String shown = String.join("\n", score.all());
        assertEquals(0, score.exit(), shown);
        assertEquals(1, score.stdout().size(), shown);
        assertTrue(score.stdout().get(0).startsWith("score: 3 rows in "), shown);
        assertTrue(score.stdout().get(0).endsWith(" on " + device), shown);
        assertEquals(List.of(), foreignInfoLines(score.all()), shown);
        for (String noise :
                List.of("CudaUtils", "DAGScheduler", "BlockManager", "NativeCodeLoader")) {
            assertTrue(!shown.contains(noise), noise + " in\n" + shown);
        }
        assertTrue(
                !shown.contains("resolves to a loopback address"),
                "a local master binds to loopback without a warning:\n" + shown);

        // --verbose brings Spark's INFO back
        Run verbose =
                launch(
                        "score",
                        "--verbose",
                        "--master",
                        "local[2]",
                        "--model",
                        Fixtures.tinyBert().toAbsolutePath().toString(),
                        "--input",
                        corpus.toString(),
                        "--output",
                        tmp.resolve("scores-verbose").toString());
        assertEquals(0, verbose.exit(), String.join("\n", verbose.stderr()));
        assertTrue(
                verbose.stderr().stream().anyMatch(l -> l.contains(" INFO DAGScheduler: ")),
                "no Spark INFO with --verbose");

        // A short demo on the tiny checkpoint: training, evaluation and scoring in one run.
        Run demo =
                launch(
                        "demo",
                        "--master",
                        "local[2]",
                        "--model",
                        Fixtures.tinyBert().toAbsolutePath().toString(),
                        "--limit",
                        "48",
                        "--epochs",
                        "1",
                        "--output",
                        tmp.resolve("demo").toString());
        String demoShown = String.join("\n", demo.all());
        assertEquals(0, demo.exit(), demoShown);
        assertEquals(List.of(), foreignInfoLines(demo.all()), demoShown);
        assertTrue(demo.all().size() <= 60, demo.all().size() + " lines:\n" + demoShown);
        List<String> summaries =
                demo.stdout().stream()
                        .filter(l -> l.matches("^(train|evaluate|score|demo): \\d+ rows in .*"))
                        .collect(Collectors.toList());
        assertEquals(4, summaries.size(), demoShown);
        assertTrue(summaries.get(3).endsWith(" on " + device), demoShown);
        assertTrue(
                demo.stdout().stream().anyMatch(l -> l.startsWith("Held-out accuracy: ")),
                demoShown);
        assertTrue(
                demo.stderr().stream().anyMatch(l -> l.matches(".* INFO Trainer: epoch 1/1: .*")),
                "the trainer's per-epoch line stays:\n" + demoShown);
    }
}
