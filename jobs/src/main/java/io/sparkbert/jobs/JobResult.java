package io.sparkbert.jobs;

import java.util.Locale;

/**
 * What a job run did, for its one-line summary.
 *
 * @param job job name
 * @param rows rows processed
 * @param seconds wall time of the run
 * @param output where the result was written
 * @param note extra facts for the summary line (may be empty)
 */
public record JobResult(String job, long rows, double seconds, String output, String note) {
    /** E.g. {@code score: 600 rows in 12.3 s (48.8 rows/s) -> /out [accuracy 0.94]}. */
    public String summaryLine() {
        return String.format(
                Locale.ROOT,
                "%s: %d rows in %.1f s (%.1f rows/s) -> %s%s",
                job,
                rows,
                seconds,
                seconds > 0 ? rows / seconds : 0.0,
                output,
                note == null || note.isEmpty() ? "" : " [" + note + "]");
    }
}
