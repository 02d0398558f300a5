package io.sparkbert.testing;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.SparkSession;

/**
 * A SparkSession on {@code local-cluster[N,C,M]}: a master and workers inside this JVM, executors
 * in separate JVMs, with no Spark installation. Use it in {@code *IT} tests:
 *
 * <pre>{@code
 * try (LocalCluster cluster = LocalCluster.start("my-test")) {
 *     SparkSession spark = cluster.spark();
 *     ...
 * }
 * }</pre>
 *
 * <p>While running it sets the system properties {@code spark.testing=true} and {@code
 * spark.test.home} (a folder under {@code target/spark-clusters/} with an empty {@code jars/});
 * {@link #close()} stops the session, waits for the executor JVMs to exit and restores both
 * properties. Executors get this JVM's test classpath, {@code SPARK_SCALA_VERSION=2.12} and the
 * pom's {@code sparkbert.jvm.flags} (Spark add-opens, {@code -Dai.djl.offline=true}). Everything
 * binds to 127.0.0.1.
 *
 * <p>Not thread-safe; one instance per JVM at a time (Spark allows one SparkContext per JVM).
 */
public final class LocalCluster implements AutoCloseable {
    private static final String TESTING = "spark.testing";
    private static final String TEST_HOME = "spark.test.home";

    private final SparkSession spark;
    private final Path sparkHome;
    private final String previousTesting;
    private final String previousTestHome;
    private boolean closed;

    private LocalCluster(
            SparkSession spark, Path sparkHome, String previousTesting, String previousTestHome) {
        this.spark = spark;
        this.sparkHome = sparkHome;
        this.previousTesting = previousTesting;
        this.previousTestHome = previousTestHome;
    }

    /** Starts {@code local-cluster[2,1,2048]}: two executor JVMs with one core and 2 GiB each. */
    public static LocalCluster start(String appName) {
        return start(appName, 2, 1, 2048, Map.of());
    }

    /**
     * Starts {@code local-cluster[executors,coresPerExecutor,memoryMb]} and waits until every
     * executor has registered.
     *
     * @param extraConf further Spark settings, applied last
     * @throws IllegalStateException when a SparkContext is already running in this JVM or the
     *     executors do not register within 60 s
     */
    public static LocalCluster start(
            String appName,
            int executors,
            int coresPerExecutor,
            int memoryMb,
            Map<String, String> extraConf) {
        if (executors < 1 || coresPerExecutor < 1 || memoryMb < 512) {
            throw new IllegalArgumentException(
                    "local-cluster needs executors >= 1, coresPerExecutor >= 1 and memoryMb >= 512,"
                            + " got ["
                            + executors
                            + ","
                            + coresPerExecutor
                            + ","
                            + memoryMb
                            + "].");
        }
        if (SparkSession.getDefaultSession().isDefined()
                || SparkSession.getActiveSession().isDefined()) {
            throw new IllegalStateException(
                    "A SparkSession already runs in this JVM: stop it before starting a"
                            + " LocalCluster (run multi-JVM tests as *IT in failsafe, not next to"
                            + " SparkTestSession).");
        }
        if (!ClusterSupport.LOOPBACK.equals(System.getenv("SPARK_LOCAL_IP"))) {
            // The in-process master and workers take their address from SPARK_LOCAL_IP (the
            // poms set it for failsafe); without it, pin Spark's host name to loopback.
            org.apache.spark.util.Utils.setCustomHostname(ClusterSupport.LOOPBACK);
        }
        String previousTesting = System.getProperty(TESTING);
        String previousTestHome = System.getProperty(TEST_HOME);
        Path sparkHome = ClusterSupport.fakeSparkHome(ClusterSupport.logDir("local-cluster"));
        System.setProperty(TESTING, "true");
        System.setProperty(TEST_HOME, sparkHome.toString());
        LocalCluster cluster = null;
        try {
            SparkSession.Builder builder =
                    SparkSession.builder()
                            .master(
                                    "local-cluster["
                                            + executors
                                            + ","
                                            + coresPerExecutor
                                            + ","
                                            + memoryMb
                                            + "]")
                            .appName(appName)
                            .config("spark.ui.enabled", "false")
                            .config("spark.sql.shuffle.partitions", "4")
                            .config("spark.driver.host", ClusterSupport.LOOPBACK)
                            .config("spark.driver.bindAddress", ClusterSupport.LOOPBACK)
                            .config("spark.executorEnv.SPARK_SCALA_VERSION", "2.12")
                            .config("spark.executorEnv.SPARK_LOCAL_IP", ClusterSupport.LOOPBACK)
                            .config("spark.executorEnv.OPT_OUT_TRACKING", "true")
                            .config("spark.executor.extraClassPath", ClusterSupport.testClassPath())
                            .config(
                                    "spark.executor.extraJavaOptions",
                                    ClusterSupport.jvmFlagsString());
            extraConf.forEach(builder::config);
            SparkSession spark = builder.getOrCreate();
            cluster = new LocalCluster(spark, sparkHome, previousTesting, previousTestHome);
            cluster.awaitExecutors(executors, Duration.ofSeconds(60));
            return cluster;
        } catch (RuntimeException | Error e) {
            if (cluster != null) {
                cluster.close();
            } else {
                restore(TESTING, previousTesting);
                restore(TEST_HOME, previousTestHome);
            }
            throw e;
        }
    }

    /** The session; valid until {@link #close()}. */
    public SparkSession spark() {
        return spark;
    }

    /**
     * The fake Spark home of this cluster. In testing mode Spark gives each in-process worker a
     * temporary work folder, which it deletes on stop; executor output is therefore only kept while
     * the cluster runs.
     */
    public Path sparkHome() {
        return sparkHome;
    }

    /** Executor JVMs (children of this JVM) that are alive now, ordered by pid. */
    public List<ProcessHandle> executorProcesses() {
        return ClusterSupport.liveDescendants(
                ProcessHandle.current(), "CoarseGrainedExecutorBackend");
    }

    private void awaitExecutors(int expected, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (registeredExecutors() < expected) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException(
                        "Only "
                                + registeredExecutors()
                                + " of "
                                + expected
                                + " local-cluster executors registered within "
                                + timeout.toSeconds()
                                + " s; see the driver log above for the executors' exit"
                                + " codes.");
            }
            sleep(200);
        }
    }

    private int registeredExecutors() {
        // The driver's own block manager is listed too.
        return spark.sparkContext().statusTracker().getExecutorInfos().length - 1;
    }

    /**
     * Stops the session, waits up to 30 s for the executor JVMs to exit (then kills them), and
     * restores the two system properties. Idempotent.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        List<ProcessHandle> executors = executorProcesses();
        try {
            spark.stop();
        } finally {
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (executors.stream().anyMatch(ProcessHandle::isAlive)
                    && System.nanoTime() < deadline) {
                sleep(100);
            }
            executors.forEach(p -> ClusterSupport.destroyTree(p, Duration.ofSeconds(5)));
            restore(TESTING, previousTesting);
            restore(TEST_HOME, previousTestHome);
        }
    }

    private static void restore(String key, String previous) {
        if (previous == null) {
            System.clearProperty(key);
        } else {
            System.setProperty(key, previous);
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("Interrupted while waiting for Spark", e);
        }
    }
}
