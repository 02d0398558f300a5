package io.sparkbert.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;

/**
 * Runs {@code org.apache.spark.deploy.SparkSubmit} in a child JVM, as {@code spark-submit} would,
 * without a Spark installation: {@code java <sparkbert.jvm.flags> -cp <test classpath>
 * org.apache.spark.deploy.SparkSubmit --master URL --class C --conf k=v ... appJar args...}.
 *
 * <p>The driver runs in that JVM (client mode). Defaults added before the caller's settings: driver
 * and executor Java options carrying the pom's JVM flags (with {@code -Dai.djl.offline=true}), the
 * test classpath for executors, driver bound to 127.0.0.1, no UI. Stdout and stderr go to files
 * under {@code target/} and are returned as text.
 *
 * <p>Stateless; {@link #run} may be called from several threads.
 */
public final class SparkSubmitRunner {
    private SparkSubmitRunner() {}

    /**
     * The outcome of one SparkSubmit run.
     *
     * @param exitCode the JVM's exit code, or -1 when it was killed on timeout
     * @param stdout everything it printed to stdout
     * @param stderr everything it printed to stderr (Spark's log goes here)
     * @param timedOut whether the run was killed because it exceeded its timeout
     * @param elapsed wall time of the run
     */
    public record Result(
            int exitCode, String stdout, String stderr, boolean timedOut, Duration elapsed) {
        /** The last {@code lines} lines of stderr, for assertion messages. */
        public String stderrTail(int lines) {
            String[] all = stderr.split("\n");
            return String.join(
                    "\n", List.of(all).subList(Math.max(0, all.length - lines), all.length));
        }
    }

    /**
     * Submits {@code mainClass} from {@code appJar} to {@code master} and waits for it.
     *
     * @param master a Spark master URL, e.g. {@link StandaloneCluster#masterUrl()}
     * @param mainClass the application's main class
     * @param appJar the application jar (see {@link #appJar})
     * @param conf extra {@code --conf} settings, applied after the defaults
     * @param args the application's arguments
     * @param timeout how long to wait before killing the JVM and its children
     */
    public static Result run(
            String master,
            String mainClass,
            Path appJar,
            Map<String, String> conf,
            List<String> args,
            Duration timeout) {
        return start(master, mainClass, appJar, conf, args).await(timeout);
    }

    /**
     * A SparkSubmit JVM started by {@link #start} and not yet awaited (fault tests kill it or look
     * at its output while it runs).
     *
     * @param process the SparkSubmit JVM (the driver, in client mode)
     * @param stdoutFile where its stdout goes
     * @param stderrFile where its stderr goes
     * @param startNanos {@link System#nanoTime()} at start
     */
    public record Running(Process process, Path stdoutFile, Path stderrFile, long startNanos) {
        /**
         * Waits up to {@code timeout} for the JVM to exit (then kills it and its children) and
         * returns the outcome.
         */
        public Result await(Duration timeout) {
            boolean finished;
            try {
                finished = process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                ClusterSupport.destroyTree(process.toHandle(), Duration.ofSeconds(5));
                throw new IllegalStateException("Interrupted while SparkSubmit ran", e);
            }
            if (!finished) {
                ClusterSupport.destroyTree(process.toHandle(), Duration.ofSeconds(5));
            }
            Duration elapsed = Duration.ofNanos(System.nanoTime() - startNanos);
            return new Result(
                    finished ? process.exitValue() : -1,
                    read(stdoutFile),
                    read(stderrFile),
                    !finished,
                    elapsed);
        }

        /** What the JVM printed to stdout and stderr so far. */
        public String outputSoFar() {
            return read(stdoutFile) + read(stderrFile);
        }
    }

    /**
     * Starts SparkSubmit like {@link #run} but returns at once; the caller must {@link
     * Running#await} (or kill) it.
     */
    public static Running start(
            String master,
            String mainClass,
            Path appJar,
            Map<String, String> conf,
            List<String> args) {
        String flags = ClusterSupport.jvmFlagsString();
        String classPath = ClusterSupport.testClassPath();
        Map<String, String> settings = new LinkedHashMap<>();
        settings.put("spark.driver.extraJavaOptions", flags);
        settings.put("spark.executor.extraJavaOptions", flags);
        settings.put("spark.executor.extraClassPath", classPath);
        settings.put("spark.executorEnv.OPT_OUT_TRACKING", "true");
        settings.put("spark.driver.host", ClusterSupport.LOOPBACK);
        settings.put("spark.driver.bindAddress", ClusterSupport.LOOPBACK);
        settings.put("spark.ui.enabled", "false");
        settings.putAll(conf);

        List<String> command = new ArrayList<>();
        command.add(ClusterSupport.javaBinary());
        command.add("-Xmx1g");
        command.addAll(ClusterSupport.jvmFlags());
        command.add("-cp");
        command.add(classPath);
        command.add("org.apache.spark.deploy.SparkSubmit");
        command.add("--master");
        command.add(master);
        command.add("--deploy-mode");
        command.add("client");
        command.add("--class");
        command.add(mainClass);
        settings.forEach(
                (k, v) -> {
                    command.add("--conf");
                    command.add(k + "=" + v);
                });
        command.add(appJar.toAbsolutePath().toString());
        command.addAll(args);

        Path logDir = ClusterSupport.logDir("submit");
        Path out = logDir.resolve("stdout.log");
        Path err = logDir.resolve("stderr.log");
        ProcessBuilder builder = new ProcessBuilder(command);
        builder.environment().put("OPT_OUT_TRACKING", "true");
        builder.environment().put("SPARK_LOCAL_IP", ClusterSupport.LOOPBACK);
        builder.environment().put("SPARK_SCALA_VERSION", "2.12");
        builder.environment().remove("SPARK_CONF_DIR");
        builder.redirectOutput(out.toFile());
        builder.redirectError(err.toFile());
        builder.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        long start = System.nanoTime();
        try {
            return new Running(builder.start(), out, err, start);
        } catch (IOException e) {
            throw new IllegalStateException("Cannot start the SparkSubmit JVM", e);
        }
    }

    /**
     * Writes a jar at {@code jar} holding the compiled {@code classes} (with their nested classes)
     * from this JVM's classpath: a minimal application jar for {@link #run}.
     */
    public static Path appJar(Path jar, Class<?>... classes) {
        Manifest manifest = new Manifest();
        manifest.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
        try {
            Files.createDirectories(jar.toAbsolutePath().getParent());
            try (OutputStream file = Files.newOutputStream(jar);
                    JarOutputStream out = new JarOutputStream(file, manifest)) {
                for (Class<?> c : classes) {
                    List<Class<?>> all = new ArrayList<>();
                    all.add(c);
                    all.addAll(List.of(c.getDeclaredClasses()));
                    for (Class<?> k : all) {
                        String entry = k.getName().replace('.', '/') + ".class";
                        try (InputStream in = k.getClassLoader().getResourceAsStream(entry)) {
                            if (in == null) {
                                throw new IllegalArgumentException(
                                        "Class file " + entry + " not found on the classpath.");
                            }
                            out.putNextEntry(new JarEntry(entry));
                            in.transferTo(out);
                            out.closeEntry();
                        }
                    }
                }
            }
            return jar;
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot write the application jar " + jar, e);
        }
    }

    private static String read(Path file) {
        try {
            return Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "(cannot read " + file + ": " + e.getMessage() + ")";
        }
    }
}
