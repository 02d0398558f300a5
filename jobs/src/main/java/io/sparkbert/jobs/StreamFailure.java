package io.sparkbert.jobs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sparkbert.persistence.HadoopFiles;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.streaming.StreamingQueryException;

/**
 * Turns a failed micro-batch into a message a user can act on: the batch, its input files (from the
 * checkpoint's file source log), for JSON lines the first bad line, and what to do. A failed
 * micro-batch is never committed; the next run of the same command replays it with the same files,
 * so fixing a file in place (same name) lets the stream go on from there.
 *
 * <p>Stateless and thread-safe.
 */
final class StreamFailure {
    private static final ObjectMapper JSON = new ObjectMapper();

    private StreamFailure() {}

    /**
     * The exception to throw for {@code e}: an {@link IllegalArgumentException} naming the bad file
     * when one of the batch's files can be blamed or the failure is a read error, else an {@link
     * IllegalStateException} with Spark's message.
     */
    static RuntimeException explain(
            Configuration conf, StreamRun.Settings s, StreamingQueryException e) {
        String cause = rootMessage(e);
        long batch = lastPlannedBatch(conf, s.checkpoint());
        List<Path> files = batch < 0 ? List.of() : filesOf(conf, s.checkpoint(), batch);
        String where = null;
        boolean lineFound = false;
        if (!files.isEmpty()) {
            FileSystem fs = HadoopFiles.fs(conf, files.get(0));
            List<FileStatus> st = new ArrayList<>();
            for (Path p : files) {
                try {
                    st.add(fs.getFileStatus(p));
                } catch (IOException ignored) {
                    // a file that vanished: Spark's message names it
                }
            }
            String format = formatOf(conf, s);
            if (format.equals("jsonl") || format.equals("json")) {
                where = Inputs.firstBadJsonLine(fs, st);
                lineFound = where != null;
            }
            if (where == null) {
                for (Path p : files) {
                    if (cause.contains(p.toUri().getPath())) {
                        where = "'" + p + "'";
                    }
                }
            }
        }
        String what =
                "--input: micro-batch "
                        + batch
                        + " of the stream failed"
                        + (where != null
                                ? " on " + where
                                : files.isEmpty() ? "" : " reading one of " + files)
                        + (lineFound ? "" : ": " + cause)
                        + ". Nothing of that batch was committed. Fix the file in place (same"
                        + " name) and run the same command again: it goes on from that batch.";
        return where != null || isReadError(e)
                ? new IllegalArgumentException(what, e)
                : new IllegalStateException(what, e);
    }

    private static boolean isReadError(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            String n = t.getClass().getName();
            if (n.contains("SchemaColumnConvertNotSupported")
                    || n.contains("JsonParseException")
                    || n.contains("BadRecordException")
                    || n.contains("CharacterCodingException")) {
                return true;
            }
        }
        return false;
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        String m = StreamRun.firstLine(t.getMessage());
        return m.isEmpty() ? t.toString() : m;
    }

    private static String formatOf(Configuration conf, StreamRun.Settings s) {
        Path rec = new Path(s.checkpoint(), StreamRun.SOURCE_RECORD);
        return HadoopFiles.exists(conf, rec)
                ? StreamRun.readJson(conf, rec).path("format").asText()
                : "";
    }

    /** The highest batch id in {@code <checkpoint>/offsets}, or -1. */
    static long lastPlannedBatch(Configuration conf, Path checkpoint) {
        Path offsets = new Path(checkpoint, "offsets");
        long max = -1;
        try {
            FileSystem fs = HadoopFiles.fs(conf, offsets);
            if (!fs.exists(offsets)) {
                return -1;
            }
            for (FileStatus st : fs.listStatus(offsets)) {
                String n = st.getPath().getName();
                if (n.matches("[0-9]+")) {
                    max = Math.max(max, Long.parseLong(n));
                }
            }
        } catch (IOException e) {
            return -1;
        }
        return max;
    }

    /**
     * The input files of {@code batch} in the file source's log ({@code sources/0/<batch>}, or the
     * compacted {@code <batch>.compact}): a version line, then one JSON entry per file with its
     * {@code path} and {@code batchId}.
     */
    static List<Path> filesOf(Configuration conf, Path checkpoint, long batch) {
        Path dir = new Path(checkpoint, "sources/0");
        List<Path> out = new ArrayList<>();
        for (String name : List.of(Long.toString(batch), batch + ".compact")) {
            Path log = new Path(dir, name);
            if (!HadoopFiles.exists(conf, log)) {
                continue;
            }
            try (BufferedReader r =
                    new BufferedReader(
                            new InputStreamReader(
                                    HadoopFiles.fs(conf, log).open(log), StandardCharsets.UTF_8))) {
                String line = r.readLine(); // version
                while ((line = r.readLine()) != null) {
                    JsonNode n = JSON.readTree(line);
                    if (n.path("batchId").asLong() == batch) {
                        out.add(new Path(java.net.URI.create(n.path("path").asText())));
                    }
                }
            } catch (IOException e) {
                return out;
            }
        }
        return out;
    }
}
