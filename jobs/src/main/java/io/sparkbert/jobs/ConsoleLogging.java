package io.sparkbert.jobs;

import java.net.URISyntaxException;
import java.net.URL;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.LoggerContext;
import org.apache.logging.log4j.core.config.ConfigurationSource;

/**
 * The jobs' console logging: the project's {@code conf/log4j2.properties} (Spark, Hadoop, Parquet
 * and DJL at WARN, spark-bert's progress at INFO; {@code SPARKBERT_LOG=info} brings Spark's INFO
 * back). {@code scripts/sparkbert} passes the file with {@code -Dlog4j2.configurationFile}; a job
 * main started by a plain {@code spark-submit} loads the copy in the application jar instead, but
 * only when Spark is about to log with its own built-in defaults (root at INFO): a log4j2 file the
 * user chose (a system property, {@code $SPARK_CONF_DIR/log4j2.properties}) is left alone.
 *
 * <p>Stateless and thread-safe.
 */
final class ConsoleLogging {
    /** The copy of {@code conf/log4j2.properties} in the jobs jar. */
    static final String RESOURCE = "/" + JobOptions.CONF_RESOURCE + "/log4j2.properties";

    /** The configuration Spark falls back to when log4j2 found none. */
    private static final String SPARK_DEFAULTS = "org/apache/spark/log4j2-defaults.properties";

    private ConsoleLogging() {}

    /**
     * Switches log4j2 to the project's configuration unless the user chose one.
     *
     * @return whether it switched
     */
    static boolean configure() {
        if (System.getProperty("log4j2.configurationFile") != null
                || System.getProperty("log4j.configurationFile") != null) {
            return false;
        }
        if (!(LogManager.getContext(false) instanceof LoggerContext)) {
            return false; // another logging backend: not ours to configure
        }
        LoggerContext context = (LoggerContext) LogManager.getContext(false);
        ConfigurationSource source = context.getConfiguration().getConfigurationSource();
        String location = source == null ? null : source.getLocation();
        boolean defaults =
                location == null || location.isEmpty() || location.endsWith(SPARK_DEFAULTS);
        URL ours = ConsoleLogging.class.getResource(RESOURCE);
        if (!defaults || ours == null) {
            return false;
        }
        try {
            context.setConfigLocation(ours.toURI());
            return true;
        } catch (URISyntaxException e) {
            return false;
        }
    }
}
