package io.sparkbert.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * Shared plumbing of the multi-JVM harness: the test classpath, the JVM flags from the pom, a fake
 * Spark home, free loopback ports, log folders and process clean-up. Stateless and thread-safe.
 */
final class ClusterSupport {
    static final String LOOPBACK = "127.0.0.1";

    private ClusterSupport() {}

    /**
     * The classpath of this test JVM as a {@code :}-separated list. Surefire and failsafe start the
     * JVM from a manifest-only jar but publish the real list in {@code surefire.test.class.path}.
     */
    static String testClassPath() {
        String cp = System.getProperty("surefire.test.class.path");
        if (cp == null || cp.isBlank()) {
            cp = System.getProperty("java.class.path");
        }
        return cp;
    }

    /**
     * The JVM flags of the parent pom property {@code sparkbert.jvm.flags} (Spark's add-opens and
     * {@code -Dai.djl.offline=true}), passed to tests as the system property of the same name.
     */
    static List<String> jvmFlags() {
        String flags = System.getProperty("sparkbert.jvm.flags");
        if (flags == null || flags.isBlank()) {
            throw new IllegalStateException(
                    "System property sparkbert.jvm.flags is not set: run the test through Maven"
                            + " (the parent pom passes it to surefire and failsafe) or pass"
                            + " -Dsparkbert.jvm.flags=\"...\" with the flags of the parent pom.");
        }
        return Arrays.asList(flags.trim().split("\\s+"));
    }

    /** {@link #jvmFlags()} as one space-separated string (for Spark's extraJavaOptions). */
    static String jvmFlagsString() {
        return String.join(" ", jvmFlags());
    }

    /** The {@code java} executable of this JVM. */
    static String javaBinary() {
        return Paths.get(System.getProperty("java.home"), "bin", "java").toString();
    }

    /**
     * Makes {@code dir} enough of a Spark home for Spark's launcher (an empty {@code jars/}) and
     * returns it.
     */
    static Path fakeSparkHome(Path dir) {
        try {
            Files.createDirectories(dir.resolve("jars"));
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot create a Spark home in " + dir, e);
        }
    }

    /** A new folder for logs below {@code target/} of the module under test. */
    static Path logDir(String prefix) {
        try {
            Path base = Paths.get(System.getProperty("user.dir"), "target", "spark-clusters");
            Files.createDirectories(base);
            return Files.createTempDirectory(base, prefix + "-");
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot create a log folder under target/", e);
        }
    }

    /** A port that was free on 127.0.0.1 a moment ago. */
    static int freePort() {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getByName(LOOPBACK))) {
            socket.setReuseAddress(true);
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException("No free port on " + LOOPBACK, e);
        }
    }

    /** The last {@code lines} lines of a text file, or a note that it cannot be read. */
    static String tail(Path file, int lines) {
        try {
            List<String> all = Files.readAllLines(file, StandardCharsets.UTF_8);
            return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
        } catch (IOException | UncheckedIOException e) {
            return "(cannot read " + file + ": " + e.getMessage() + ")";
        }
    }

    /**
     * Stops a process and everything below it: a polite destroy, then after {@code grace} a forced
     * one; waits for each to exit.
     */
    static void destroyTree(ProcessHandle root, Duration grace) {
        List<ProcessHandle> all = new ArrayList<>();
        root.descendants().forEach(all::add);
        all.add(root);
        all.forEach(ProcessHandle::destroy);
        long deadline = System.nanoTime() + grace.toNanos();
        for (ProcessHandle p : all) {
            long left = deadline - System.nanoTime();
            if (left > 0) {
                try {
                    p.onExit().get(left, java.util.concurrent.TimeUnit.NANOSECONDS);
                } catch (Exception timeoutOrInterrupt) {
                    // Falls through to the forced kill below.
                }
            }
        }
        for (ProcessHandle p : all) {
            if (p.isAlive()) {
                p.destroyForcibly();
                try {
                    p.onExit().get(10, java.util.concurrent.TimeUnit.SECONDS);
                } catch (Exception ignored) {
                    // Nothing more can be done; the caller's leak check will report it.
                }
            }
        }
    }

    /** Live descendant JVMs of this JVM whose command line mentions {@code marker}. */
    static List<ProcessHandle> liveDescendants(ProcessHandle root, String marker) {
        try (Stream<ProcessHandle> s = root.descendants()) {
            return s.filter(ProcessHandle::isAlive)
                    .filter(p -> marker == null || commandLine(p).contains(marker))
                    .sorted(Comparator.comparingLong(ProcessHandle::pid))
                    .toList();
        }
    }

    /**
     * The command line of a process. Reads {@code /proc/<pid>/cmdline} first, since {@code
     * ProcessHandle.Info} gives up on the very long command lines of Spark JVMs.
     */
    static String commandLine(ProcessHandle p) {
        Path proc = Paths.get("/proc", Long.toString(p.pid()), "cmdline");
        try {
            byte[] raw = Files.readAllBytes(proc);
            if (raw.length > 0) {
                return new String(raw, StandardCharsets.UTF_8).replace('\0', ' ');
            }
        } catch (IOException | SecurityException notLinuxOrGone) {
            // Fall back to what the JDK can tell.
        }
        ProcessHandle.Info info = p.info();
        return info.commandLine().or(info::command).orElse("");
    }
}
