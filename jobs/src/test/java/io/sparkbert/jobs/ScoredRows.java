package io.sparkbert.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkbert.testing.SparkSubmitRunner;
import io.sparkbert.testing.SparkTestSession;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import org.apache.spark.sql.Row;

/** What the fault tests compare: a scored output's rows by id, and the waits between kills. */
final class ScoredRows {
    private ScoredRows() {}

    /** id -> [prediction, p0, p1] of a scored parquet output as Spark reads it; no id twice. */
    static Map<String, double[]> read(Path out) {
        Map<String, double[]> m = new HashMap<>();
        for (Row r :
                SparkTestSession.get()
                        .read()
                        .parquet(out.toString())
                        .select("id", "prediction", "probability")
                        .collectAsList()) {
            List<Double> p = r.getList(2);
            double[] v = {r.getDouble(1), p.get(0), p.get(1)};
            assertTrue(m.put(r.getString(0), v) == null, "id " + r.getString(0) + " twice");
        }
        return m;
    }

    /** Every baseline id exactly once, same prediction, probabilities within {@code tol}. */
    static void assertSame(Map<String, double[]> baseline, Path out, double tol) {
        Map<String, double[]> got = read(out);
        assertEquals(baseline.keySet(), got.keySet(), "every input id exactly once");
        for (var e : baseline.entrySet()) {
            double[] b = e.getValue();
            double[] g = got.get(e.getKey());
            assertEquals(b[0], g[0], e.getKey());
            assertEquals(b[1], g[1], tol, e.getKey());
            assertEquals(b[2], g[2], tol, e.getKey());
        }
    }

    /** Polls until {@code done}, failing if the run ends first or {@code limit} passes. */
    static void waitFor(
            String what, BooleanSupplier done, SparkSubmitRunner.Running r, Duration limit) {
        long deadline = System.nanoTime() + limit.toNanos();
        while (!done.getAsBoolean()) {
            assertTrue(
                    r.process().isAlive(),
                    "the run ended before " + what + ":\n" + r.outputSoFar());
            assertTrue(System.nanoTime() < deadline, "timed out waiting for " + what);
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }
    }
}
