package io.sparkbert.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * scripts/sparkbert's own flags: a bare {@code --master} or {@code --spark-conf} fails with exit
 * code 2 and a message before any build or JVM start.
 */
class LauncherArgsTest {
    private static final Path LAUNCHER = Path.of("..", "scripts", "sparkbert");

    private static String[] run(String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("bash", LAUNCHER.toString()));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "launcher did not finish");
        return new String[] {Integer.toString(p.exitValue()), err};
    }

    @Test
    void aLauncherFlagWithoutItsValueFailsWithAMessage() throws Exception {
        assertTrue(Files.isRegularFile(LAUNCHER), LAUNCHER.toAbsolutePath().toString());
        for (String flag : List.of("--master", "--spark-conf")) {
            String[] r = run("score", "--input", "x.jsonl", flag);
            assertEquals("2", r[0], r[1]);
            assertTrue(r[1].contains(flag + " needs a value"), r[1]);
            assertTrue(!r[1].contains("unbound variable"), r[1]);
        }
    }
}
