package io.sparkbert.jobs;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.SparkSession;

/** Small labelled corpora for the job tests (the MLlib stand-in learns them in seconds). */
final class JobFixtures {
    private static final String[] GOOD = {"great", "good", "lovely", "excellent", "fine"};
    private static final String[] BAD = {"awful", "bad", "terrible", "poor", "broken"};

    private JobFixtures() {}

    /** The error {@code job} fails with, before or while running, on {@code args}. */
    static IllegalArgumentException refused(SparkSession spark, SparkJob job, String... args) {
        return org.junit.jupiter.api.Assertions.assertThrows(
                IllegalArgumentException.class, () -> job.run(spark, job.parse(args)));
    }

    /** {@code n} JSON lines: id, text, label ("pos"/"neg" when {@code names}, else 1/0). */
    static List<String> lines(int from, int n, boolean names) {
        List<String> out = new ArrayList<>();
        for (int i = from; i < from + n; i++) {
            boolean pos = i % 2 == 0;
            String word = (pos ? GOOD : BAD)[i % 5];
            String label = names ? (pos ? "\"pos\"" : "\"neg\"") : (pos ? "1" : "0");
            out.add(
                    String.format(
                            "{\"id\":\"r%03d\",\"text\":\"this thing is %s number %d\",\"label\":%s}",
                            i, word, i, label));
        }
        return out;
    }

    /** Like {@link #lines} without the label field (a corpus to score). */
    static List<String> unlabelled(int from, int n) {
        List<String> out = new ArrayList<>();
        for (String l : lines(from, n, false)) {
            out.add(l.substring(0, l.lastIndexOf(",\"label\"")) + "}");
        }
        return out;
    }

    static Path write(Path file, List<String> lines) throws IOException {
        Files.createDirectories(file.getParent());
        Files.write(file, lines);
        return file;
    }
}
