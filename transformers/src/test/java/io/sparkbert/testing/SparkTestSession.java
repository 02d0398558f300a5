package io.sparkbert.testing;

import org.apache.spark.sql.SparkSession;

/**
 * One shared {@code local[2]} SparkSession for the tests of a JVM. Tests call {@link #get()}; the
 * session stops when the JVM exits.
 */
public final class SparkTestSession {
    private static SparkSession session;

    private SparkTestSession() {}

    /** The shared local[2] session, created on first use. */
    public static synchronized SparkSession get() {
        if (session == null) {
            session =
                    SparkSession.builder()
                            .master("local[2]")
                            .appName("spark-bert-tests")
                            .config("spark.ui.enabled", "false")
                            .config("spark.sql.shuffle.partitions", "2")
                            .config("spark.driver.host", "127.0.0.1")
                            .config("spark.driver.bindAddress", "127.0.0.1")
                            .getOrCreate();
            Runtime.getRuntime().addShutdownHook(new Thread(() -> session.stop()));
        }
        return session;
    }
}
