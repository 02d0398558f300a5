package io.sparkbert.testing;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import org.apache.spark.sql.SparkSession;

/**
 * A tiny spark-submit application for the harness tests: counts the multiples of 3 in {@code [0,
 * n)} over 4 partitions and writes {@code count=<c>}, {@code executors=<e>} and {@code
 * master=<url>} lines to the output file. Arguments: {@code <output file> <n>}.
 */
public final class RangeCountApp {
    private RangeCountApp() {}

    /** Entry point for SparkSubmit. */
    public static void main(String[] args) throws Exception {
        if (args.length != 2) {
            throw new IllegalArgumentException(
                    "RangeCountApp needs <output file> <n>, got " + args.length + " arguments.");
        }
        Path output = Paths.get(args[0]);
        long n = Long.parseLong(args[1]);
        SparkSession spark = SparkSession.builder().appName("range-count").getOrCreate();
        try {
            long count = spark.range(0, n, 1, 4).filter("id % 3 = 0").count();
            int executors = spark.sparkContext().statusTracker().getExecutorInfos().length - 1;
            String text =
                    "count="
                            + count
                            + "\nexecutors="
                            + executors
                            + "\nmaster="
                            + spark.sparkContext().master()
                            + "\n";
            Files.writeString(output, text, StandardCharsets.UTF_8);
        } finally {
            spark.stop();
        }
    }
}
