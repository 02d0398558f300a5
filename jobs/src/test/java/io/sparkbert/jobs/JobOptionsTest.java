package io.sparkbert.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class JobOptionsTest {
    private static final List<SparkJob> JOBS =
            List.of(
                    new TrainJob(new MllibBackend()),
                    new ScoreJob(new MllibBackend()),
                    new EvaluateJob(new MllibBackend()),
                    new DemoJob(new MllibBackend()),
                    new EmbedJob());

    @TempDir Path tmp;

    private static Path projectConf() {
        return Path.of(System.getProperty("user.dir")).getParent().resolve("conf");
    }

    private JobOptions train(Path confDir, String... args) {
        TrainJob job = new TrainJob(new MllibBackend());
        return JobOptions.parse(job.name(), job.options(), args, confDir);
    }

    @Test
    void defaultsThenConfFileThenFlags() throws IOException {
        Path extra = tmp.resolve("mine.conf");
        Files.writeString(extra, "# mine\nepochs = 5\nbatch-size = 8\n\nlearning-rate = 1e-4\n");
        JobOptions o =
                train(
                        projectConf(),
                        "--conf",
                        extra.toString(),
                        "--epochs",
                        "7",
                        "--input=in.jsonl",
                        "--shuffle",
                        "FALSE");
        assertEquals(7, o.getInt("epochs"), "flag beats --conf");
        assertEquals("command line", o.origin("epochs"));
        assertEquals(8, o.getInt("batch-size"), "--conf beats the defaults");
        assertEquals(extra + ":3", o.origin("batch-size"));
        assertEquals(1e-4, o.getDouble("learning-rate"));
        assertEquals(0.01, o.getDouble("weight-decay"), "default from conf/train.conf");
        assertTrue(
                o.origin("weight-decay").endsWith("train.conf:" + lineOf("train", "weight-decay")));
        assertFalse(o.getBoolean("shuffle"), "booleans are case-insensitive");
        assertEquals("in.jsonl", o.require("input"));
        assertTrue(o.get("pair-col").isEmpty(), "empty value = unset");
    }

    @Test
    void compiledInDefaultsEqualTheProjectFiles() {
        for (SparkJob job : JOBS) {
            JobOptions fromJar = JobOptions.parse(job.name(), job.options(), new String[0], null);
            JobOptions fromDir =
                    JobOptions.parse(job.name(), job.options(), new String[0], projectConf());
            assertEquals(fromDir.asMap(), fromJar.asMap(), job.name());
            assertTrue(fromJar.origin(job.options().get(0).key()).startsWith("jar:"));
        }
    }

    @Test
    void everyOptionIsInItsConfFileWithAComment() throws IOException {
        for (SparkJob job : JOBS) {
            List<String> lines = Files.readAllLines(projectConf().resolve(job.name() + ".conf"));
            Set<String> keys = new LinkedHashSet<>();
            for (int i = 0; i < lines.size(); i++) {
                String t = lines.get(i).strip();
                if (t.isEmpty() || t.startsWith("#")) {
                    continue;
                }
                String key = t.substring(0, t.indexOf('=')).strip();
                keys.add(key);
                assertTrue(
                        i > 0 && lines.get(i - 1).strip().startsWith("#"),
                        job.name() + ".conf: key " + key + " has no comment above it");
            }
            List<String> declared = new ArrayList<>();
            job.options().forEach(op -> declared.add(op.key()));
            assertEquals(declared, new ArrayList<>(keys), job.name() + ".conf keys");
        }
    }

    @Test
    void unknownFlagNamesItAndTheKnownOnes() {
        IllegalArgumentException e =
                assertThrows(
                        IllegalArgumentException.class, () -> train(projectConf(), "--epoch", "3"));
        assertTrue(e.getMessage().contains("--epoch "), e.getMessage());
        assertTrue(e.getMessage().contains("--epochs"), e.getMessage());
    }

    @Test
    void badValuesNameFlagValueAndAllowed() {
        IllegalArgumentException e =
                assertThrows(
                        IllegalArgumentException.class,
                        () -> train(projectConf(), "--epochs", "three"));
        assertEquals(
                "--epochs: invalid value 'three' (command line); expected a whole number.",
                e.getMessage());
        e =
                assertThrows(
                        IllegalArgumentException.class,
                        () -> train(projectConf(), "--device", "tpu"));
        assertEquals(
                "--device: invalid value 'tpu' (command line); expected one of [auto, cpu, gpu].",
                e.getMessage());
        e =
                assertThrows(
                        IllegalArgumentException.class,
                        () -> train(projectConf(), "--shuffle", "yes"));
        assertTrue(e.getMessage().contains("[true, false]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> train(projectConf(), "--epochs"));
        assertEquals("--epochs needs a value.", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> train(projectConf(), "train.jsonl"));
        assertTrue(e.getMessage().contains("'train.jsonl'"), e.getMessage());
        JobOptions o = train(projectConf(), "--validation-fraction", "0.9");
        e =
                assertThrows(
                        IllegalArgumentException.class,
                        () -> o.checkRange("validation-fraction", 0, 0.5));
        assertEquals(
                "--validation-fraction: invalid value 0.9 (command line); expected a number in [0,"
                        + " 0.5].",
                e.getMessage());
        JobOptions zero = train(projectConf(), "--learning-rate", "0");
        e =
                assertThrows(
                        IllegalArgumentException.class,
                        () -> zero.checkRange("learning-rate", Double.MIN_VALUE, 1));
        assertEquals(
                "--learning-rate: invalid value 0 (command line); expected a number in (0, 1].",
                e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> o.require("output"));
        assertTrue(e.getMessage().startsWith("--output is required"), e.getMessage());
    }

    @Test
    void badConfFileLinesNameFileAndLine() throws IOException {
        Path bad = tmp.resolve("bad.conf");
        Files.writeString(bad, "epochs = 2\nbogus = 1\n");
        IllegalArgumentException e =
                assertThrows(
                        IllegalArgumentException.class,
                        () -> train(projectConf(), "--conf", bad.toString()));
        assertTrue(
                e.getMessage().contains("'bogus'") && e.getMessage().contains(bad + ":2"),
                e.getMessage());
        Files.writeString(bad, "epochs: 2\n");
        e =
                assertThrows(
                        IllegalArgumentException.class,
                        () -> train(projectConf(), "--conf", bad.toString()));
        assertTrue(e.getMessage().contains(bad + ":1: expected 'key = value'"), e.getMessage());
        e =
                assertThrows(
                        IllegalArgumentException.class,
                        () ->
                                train(
                                        projectConf(),
                                        "--conf",
                                        tmp.resolve("missing.conf").toString()));
        assertTrue(e.getMessage().startsWith("--conf: cannot read"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> train(tmp));
        assertTrue(e.getMessage().contains("train.conf does not exist"), e.getMessage());
    }

    @Test
    void helpSkipsValidationAndListsEveryOptionWithDefault() {
        JobOptions o = train(projectConf(), "--epochs", "bad", "--help");
        assertTrue(o.helpRequested());
        String usage = o.usage();
        for (JobOption op : new TrainJob(new MllibBackend()).options()) {
            assertTrue(usage.contains("--" + op.key() + " "), op.key());
        }
        assertTrue(usage.contains("(default: 3)"), usage);
    }

    @Test
    void runnerExitCodes() {
        var out = new java.io.ByteArrayOutputStream();
        var err = new java.io.ByteArrayOutputStream();
        int code =
                JobRunner.run(
                        new TrainJob(new MllibBackend()),
                        new String[] {"--epochs", "x"},
                        new java.io.PrintStream(out),
                        new java.io.PrintStream(err));
        assertEquals(2, code);
        assertTrue(err.toString().contains("--epochs: invalid value 'x'"), err.toString());
        code =
                JobRunner.run(
                        new TrainJob(new MllibBackend()),
                        new String[] {"--help"},
                        new java.io.PrintStream(out),
                        new java.io.PrintStream(err));
        assertEquals(0, code);
        assertTrue(out.toString().startsWith("usage: scripts/sparkbert train"), out.toString());
    }

    private static int lineOf(String job, String key) throws IOException {
        List<String> lines = Files.readAllLines(projectConf().resolve(job + ".conf"));
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).startsWith(key + " =")) {
                return i + 1;
            }
        }
        throw new AssertionError(key);
    }
}
