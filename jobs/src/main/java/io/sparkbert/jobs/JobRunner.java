package io.sparkbert.jobs;

import io.sparkbert.bert.Devices;
import java.io.PrintStream;
import org.apache.spark.sql.SparkSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns a {@link SparkJob} into a thin {@code main}: parse, run, print the summary line, stop the
 * session in {@code finally}; bad options or input end with exit code 2 and a message, a broken
 * state (such as an output locked by another run) with 1 and a message; other failures propagate.
 *
 * <p>Stateless and thread-safe.
 */
public final class JobRunner {
    private static final Logger LOG = LoggerFactory.getLogger(JobRunner.class);

    private JobRunner() {}

    /**
     * Runs {@code job} with {@code args} in the session of spark-submit.
     *
     * @return the process exit code
     */
    public static int run(SparkJob job, String[] args, PrintStream out, PrintStream err) {
        JobOptions options;
        try {
            options = job.parse(args);
        } catch (IllegalArgumentException e) {
            err.println("sparkbert " + job.name() + ": " + e.getMessage());
            err.println("Run 'scripts/sparkbert " + job.name() + " --help' for the options.");
            return 2;
        }
        if (options.helpRequested()) {
            out.print(options.usage());
            return 0;
        }
        ConsoleLogging.configure();
        String master = System.getProperty("spark.master");
        startPreload(job, options, master);
        SparkSession spark =
                SparkSession.builder().appName("sparkbert-" + job.name()).getOrCreate();
        splitSmallInputs(spark);
        try {
            JobResult result = job.runDescribed(spark, options);
            out.println(result.summaryLine() + deviceNote(options, master));
            return 0;
        } catch (IllegalArgumentException e) {
            err.println("sparkbert " + job.name() + ": " + e.getMessage());
            return 2;
        } catch (IllegalStateException e) {
            // e.g. another run holds the output lock: the message says what to do
            err.println("sparkbert " + job.name() + ": " + e.getMessage());
            return 1;
        } finally {
            spark.stop();
        }
    }

    /**
     * Starts {@link SparkJob#preload} on a daemon thread when {@code master} runs the tasks in this
     * JVM ({@code local} or {@code local[...]}; not {@code local-cluster}, whose executors are
     * other processes). On the 30,000-row {@code embed} benchmark this overlaps the ~1.3 s cold
     * model load with Spark's start-up.
     *
     * @return the thread, or null when nothing was started
     */
    static Thread startPreload(SparkJob job, JobOptions options, String master) {
        if (!isLocal(master)) {
            return null;
        }
        Thread t =
                new Thread(
                        () -> {
                            try {
                                job.preload(options);
                            } catch (RuntimeException | LinkageError e) {
                                LOG.info(
                                        "Preloading for {} failed; the tasks will load on their"
                                                + " own: {}",
                                        job.name(),
                                        e.toString());
                            }
                        },
                        "sparkbert-preload");
        t.setDaemon(true);
        t.start();
        return t;
    }

    /**
     * {@code " on cpu"} (or {@code " on gpu:0"}): the device the job's {@code --device} resolves to
     * in this JVM, when the tasks run here too (a {@code local} master); empty for other masters,
     * whose executors choose their own, and for jobs without a model.
     */
    static String deviceNote(JobOptions options, String master) {
        if (!isLocal(master) || !options.asMap().containsKey("device")) {
            return "";
        }
        try {
            return " on " + Devices.name(Devices.resolve(options.get("device").orElse("auto")));
        } catch (IllegalArgumentException | IllegalStateException | LinkageError e) {
            return ""; // the run is over; the summary line must not fail on its note
        }
    }

    private static boolean isLocal(String master) {
        return master != null && (master.equals("local") || master.startsWith("local["));
    }

    /** Spark's cost of opening a file, which also keeps small files in a single partition. */
    static final String OPEN_COST = "spark.sql.files.openCostInBytes";

    /**
     * Lets Spark cut small splittable inputs (JSON lines, CSV, text) into one partition per core.
     * Spark's default open cost (4 MB) keeps any input under 4 MB in one partition, so a 30,000-row
     * JSON-lines file was scored by one task on one core while the others idled
     * (docs/lab-notes.md). A BERT forward costs thousands of times more per byte than reading it,
     * so the jobs lower the open cost to 1 KB; the file order within each partition is kept. It
     * must be small against the input: Spark sizes splits as (bytes + open cost) / cores, so the
     * first split of a file is larger than the last by the open cost. At 64 KB (the value until
     * 2026-11-25) the first of two tasks of a 2.6 MB file got 5% more rows and ended ~2 s after the
     * other on a 30,000-row job. A value set by the user (--spark-conf) is left alone.
     */
    static void splitSmallInputs(SparkSession spark) {
        if (!spark.conf().contains(OPEN_COST)) {
            spark.conf().set(OPEN_COST, "1024");
        }
    }

    /** The backend the mains use: the BERT stages. */
    public static ModelBackend defaultBackend() {
        return new BertBackend();
    }
}
