package io.sparkbert.jobs;

import java.util.List;
import org.apache.spark.SparkContext;
import org.apache.spark.sql.SparkSession;

/**
 * One spark-submit job: its name (which names its {@code conf/<name>.conf}), its options and its
 * body. Library code: never calls {@code System.exit}; bad input surfaces as {@link
 * IllegalArgumentException}. {@link JobRunner} turns a job into a {@code main}.
 *
 * <p>Jobs hold only their backend and are thread-safe; a run uses the given session.
 */
public abstract class SparkJob {
    /** The model family the job builds or loads. */
    protected final ModelBackend backend;

    /** A job over {@code backend}. */
    protected SparkJob(ModelBackend backend) {
        this.backend = backend;
    }

    /** The job name, e.g. {@code train}. */
    public abstract String name();

    /** The options the job accepts (their defaults live in {@code conf/<name>.conf}). */
    public abstract List<JobOption> options();

    /**
     * Runs the job.
     *
     * @throws IllegalArgumentException for bad options or input
     */
    public abstract JobResult run(SparkSession spark, JobOptions options);

    /**
     * Work worth starting while the Spark session starts, when the driver JVM also runs the tasks
     * (a {@code local} master), such as loading the model the tasks will share. {@link JobRunner}
     * calls it on a daemon thread; a failure there is only logged, since the tasks load what they
     * need themselves and report errors properly. Default: nothing.
     */
    protected void preload(JobOptions options) {}

    /** The local property behind {@code SparkContext.setJobDescription}. */
    static final String JOB_DESCRIPTION = "spark.job.description";

    /**
     * {@link #run} under a Spark job description ({@link #description}), so that the run's stages
     * are recognisable in the Spark UI; the caller's description is restored afterwards.
     */
    public final JobResult runDescribed(SparkSession spark, JobOptions options) {
        SparkContext sc = spark.sparkContext();
        String before = sc.getLocalProperty(JOB_DESCRIPTION);
        sc.setJobDescription(description(spark, options));
        try {
            return run(spark, options);
        } finally {
            sc.setJobDescription(before);
        }
    }

    /**
     * The Spark job description of a run, e.g. {@code sparkbert score: 12 files from /data/in,
     * model /models/m, batch 32 -> /out}. Built from the options the job has; never fails.
     */
    protected String description(SparkSession spark, JobOptions options) {
        return JobDescriptions.of(name(), options.asMap(), spark);
    }

    /** Parses {@code args} against this job's options and the defaults found from the env. */
    public JobOptions parse(String... args) {
        return JobOptions.parse(name(), options(), args);
    }
}
