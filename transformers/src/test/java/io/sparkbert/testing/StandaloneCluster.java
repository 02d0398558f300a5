package io.sparkbert.testing;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A Spark standalone cluster of child JVMs on 127.0.0.1: one {@code Master} and one {@code Worker},
 * started from this JVM's test classpath with the pom's {@code sparkbert.jvm.flags}, on free ports.
 * {@link #start} returns once the worker has registered with the master (polled through the
 * master's web UI JSON). Logs go to {@link #logDir()} under {@code target/}.
 *
 * <p>Executors that applications start on the worker are grandchildren of this JVM: {@link
 * #executorProcesses()} lists them and {@link #killExecutors()} kills them (for fault tests).
 * Applications must give executors the classpath, e.g. through {@link SparkSubmitRunner}, since the
 * worker's Spark home has no jars.
 *
 * <p>{@link #close()} stops the worker, then the master (destroy, then destroyForcibly), with every
 * descendant process; it is idempotent. Not thread-safe: use from one test thread.
 */
public final class StandaloneCluster implements AutoCloseable {
    private static final String MASTER_CLASS = "org.apache.spark.deploy.master.Master";
    private static final String WORKER_CLASS = "org.apache.spark.deploy.worker.Worker";
    private static final String EXECUTOR_MARKER = "CoarseGrainedExecutorBackend";

    private final Path logDir;
    private final Path sparkHome;
    private final int masterPort;
    private final int masterWebPort;
    private final List<Process> processes = new ArrayList<>();
    private Process master;
    private Process worker;
    private boolean closed;

    private StandaloneCluster(Path logDir, Path sparkHome) {
        this.logDir = logDir;
        this.sparkHome = sparkHome;
        this.masterPort = ClusterSupport.freePort();
        this.masterWebPort = ClusterSupport.freePort();
    }

    /** Starts a master and a worker with 2 cores and 4 GiB for executors. */
    public static StandaloneCluster start() {
        return start(2, 4096);
    }

    /**
     * Starts a master and one worker offering {@code workerCores} cores and {@code workerMemoryMb}
     * MiB, and waits up to 60 s for the worker to register.
     *
     * @throws IllegalStateException when a JVM exits early or the worker does not register; the
     *     message carries the log tails. Everything started so far is stopped first.
     */
    public static StandaloneCluster start(int workerCores, int workerMemoryMb) {
        if (workerCores < 1 || workerMemoryMb < 512) {
            throw new IllegalArgumentException(
                    "StandaloneCluster needs workerCores >= 1 and workerMemoryMb >= 512, got "
                            + workerCores
                            + " and "
                            + workerMemoryMb
                            + ".");
        }
        Path logDir = ClusterSupport.logDir("standalone");
        StandaloneCluster cluster =
                new StandaloneCluster(
                        logDir, ClusterSupport.fakeSparkHome(logDir.resolve("spark-home")));
        try {
            cluster.master =
                    cluster.launch(
                            "master",
                            MASTER_CLASS,
                            List.of(
                                    "--host",
                                    ClusterSupport.LOOPBACK,
                                    "--port",
                                    Integer.toString(cluster.masterPort),
                                    "--webui-port",
                                    Integer.toString(cluster.masterWebPort)));
            cluster.worker =
                    cluster.launch(
                            "worker",
                            WORKER_CLASS,
                            List.of(
                                    "--host",
                                    ClusterSupport.LOOPBACK,
                                    "--port",
                                    Integer.toString(ClusterSupport.freePort()),
                                    "--webui-port",
                                    Integer.toString(ClusterSupport.freePort()),
                                    "--cores",
                                    Integer.toString(workerCores),
                                    "--memory",
                                    workerMemoryMb + "m",
                                    "--work-dir",
                                    cluster.logDir.resolve("work").toString(),
                                    cluster.masterUrl()));
            cluster.awaitWorker(Duration.ofSeconds(60));
            return cluster;
        } catch (RuntimeException | Error e) {
            cluster.close();
            throw e;
        }
    }

    /** The master URL for applications, {@code spark://127.0.0.1:PORT}. */
    public String masterUrl() {
        return "spark://" + ClusterSupport.LOOPBACK + ":" + masterPort;
    }

    /** The master's web UI, {@code http://127.0.0.1:PORT}. */
    public String masterWebUrl() {
        return "http://" + ClusterSupport.LOOPBACK + ":" + masterWebPort;
    }

    /** Where the master, worker and executor logs go. */
    public Path logDir() {
        return logDir;
    }

    /** The master JVM's pid. */
    public long masterPid() {
        return master.pid();
    }

    /** The worker JVM's pid. */
    public long workerPid() {
        return worker.pid();
    }

    /** Executor JVMs that the worker runs now, ordered by pid. */
    public List<ProcessHandle> executorProcesses() {
        return ClusterSupport.liveDescendants(worker.toHandle(), EXECUTOR_MARKER);
    }

    /**
     * Kills every executor JVM of the worker at once (SIGKILL), as a crash would, and waits for
     * them to exit. The worker stays up and the master may grant new executors.
     *
     * @return the number of executors killed
     */
    public int killExecutors() {
        List<ProcessHandle> executors = executorProcesses();
        for (ProcessHandle p : executors) {
            p.destroyForcibly();
        }
        for (ProcessHandle p : executors) {
            p.onExit().join();
        }
        return executors.size();
    }

    /** Every process of the cluster that is still alive: master, worker and descendants. */
    public List<ProcessHandle> liveProcesses() {
        List<ProcessHandle> live = new ArrayList<>();
        for (Process p : processes) {
            p.toHandle().descendants().filter(ProcessHandle::isAlive).forEach(live::add);
            if (p.isAlive()) {
                live.add(p.toHandle());
            }
        }
        return live;
    }

    private Process launch(String name, String mainClass, List<String> args) {
        List<String> command = new ArrayList<>();
        command.add(ClusterSupport.javaBinary());
        command.add("-Xmx512m");
        command.addAll(ClusterSupport.jvmFlags());
        command.add("-cp");
        command.add(ClusterSupport.testClassPath());
        command.add(mainClass);
        command.addAll(args);
        ProcessBuilder builder = new ProcessBuilder(command);
        Map<String, String> env = builder.environment();
        env.put("SPARK_HOME", sparkHome.toString());
        env.put("SPARK_SCALA_VERSION", "2.12");
        env.put("SPARK_LOCAL_IP", ClusterSupport.LOOPBACK);
        env.put("SPARK_LOG_DIR", logDir.toString());
        env.put("OPT_OUT_TRACKING", "true");
        env.remove("SPARK_CONF_DIR");
        builder.redirectErrorStream(true);
        builder.redirectOutput(logDir.resolve(name + ".log").toFile());
        builder.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        try {
            Process process = builder.start();
            processes.add(process);
            return process;
        } catch (IOException e) {
            throw new IllegalStateException("Cannot start the Spark " + name + " JVM", e);
        }
    }

    private void awaitWorker(Duration timeout) {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
        HttpRequest request =
                HttpRequest.newBuilder(URI.create(masterWebUrl() + "/json/"))
                        .timeout(Duration.ofSeconds(5))
                        .build();
        long deadline = System.nanoTime() + timeout.toNanos();
        String last = "(no answer yet)";
        while (System.nanoTime() < deadline) {
            if (!master.isAlive() || !worker.isAlive()) {
                throw failure((master.isAlive() ? "worker" : "master") + " JVM exited early");
            }
            try {
                HttpResponse<String> response =
                        http.send(request, HttpResponse.BodyHandlers.ofString());
                last = response.body();
                if (response.statusCode() == 200 && aliveWorkers(last) >= 1) {
                    return;
                }
            } catch (IOException notUpYet) {
                last = notUpYet.toString();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("Interrupted while waiting for the worker", e);
            }
            try {
                Thread.sleep(250);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("Interrupted while waiting for the worker", e);
            }
        }
        throw failure(
                "the worker did not register within "
                        + timeout.toSeconds()
                        + " s (last master JSON: "
                        + last
                        + ")");
    }

    static int aliveWorkers(String json) {
        JsonElement root;
        try {
            root = JsonParser.parseString(json);
        } catch (JsonParseException notJsonYet) {
            // A UI still starting (or a page that is not the master's JSON) counts as no worker;
            // the caller keeps polling and reports the last body if the wait runs out.
            return 0;
        }
        if (!root.isJsonObject()) {
            return 0;
        }
        JsonObject obj = root.getAsJsonObject();
        JsonElement alive = obj.get("aliveworkers");
        return alive != null && alive.isJsonPrimitive() ? alive.getAsInt() : 0;
    }

    private IllegalStateException failure(String what) {
        return new IllegalStateException(
                "Standalone cluster failed: "
                        + what
                        + ". Logs in "
                        + logDir
                        + "\n--- master.log ---\n"
                        + ClusterSupport.tail(logDir.resolve("master.log"), 20)
                        + "\n--- worker.log ---\n"
                        + ClusterSupport.tail(logDir.resolve("worker.log"), 20));
    }

    /**
     * Stops the worker (with its executors) and then the master: destroy, and destroyForcibly after
     * 10 s. Idempotent; never throws.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (int i = processes.size() - 1; i >= 0; i--) {
            ClusterSupport.destroyTree(processes.get(i).toHandle(), Duration.ofSeconds(10));
        }
    }
}
