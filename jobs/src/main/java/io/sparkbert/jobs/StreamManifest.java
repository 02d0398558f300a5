package io.sparkbert.jobs;

import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.when;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sparkbert.persistence.HadoopFiles;
import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.AnalysisException;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/**
 * The {@code <output>/_manifest.json} of stream mode: one record per run, totals over them, and
 * {@code last_batch}, the newest micro-batch the records cover.
 *
 * <p>The manifest is rewritten after each micro-batch's commit, so a run killed between the two
 * leaves committed rows that no record counts. The next run finds them by comparing {@code
 * last_batch} with the checkpoint's newest commit and, when they differ, counts the committed
 * output (read through the sink's own log, so committed files only) and adds the difference as a
 * record marked {@code recovered}.
 */
final class StreamManifest {
    /** Integral fields of a run record that are not counts (not summed into the totals). */
    private static final List<String> NOT_COUNTS = List.of("batches", "last_batch");

    private StreamManifest() {}

    /** The manifest now in {@code s}'s output, or null. */
    static ObjectNode read(Configuration conf, StreamRun.Settings s) {
        Path p = new Path(s.output(), ScoreJob.MANIFEST);
        return HadoopFiles.exists(conf, p) ? (ObjectNode) StreamRun.readJson(conf, p) : null;
    }

    /**
     * Adds a {@code recovered} record for committed micro-batches that no record counts (see the
     * class comment) and writes the manifest at once.
     *
     * @param previous the manifest as read, or null
     * @param counts the per-row counts of the run records, evaluated on the output where its
     *     columns allow (parquet, json); rows in and out are always recovered
     * @return the manifest to build on: {@code previous}, or a new one with the record
     */
    static ObjectNode recover(
            SparkSession spark,
            StreamRun.Settings s,
            ObjectNode previous,
            ObjectNode base,
            Map<String, Column> counts,
            String unscoredCount) {
        Configuration conf = spark.sparkContext().hadoopConfiguration();
        long committed = lastCommit(conf, s.checkpoint());
        long recorded = previous == null ? -1 : previous.path("last_batch").asLong(-1);
        if (committed <= recorded) {
            return previous;
        }
        Map<String, Long> inOutput = committedCounts(spark, s, counts);
        Map<String, Long> totals = previous == null ? Map.of() : totals(previous.path("runs"));
        ObjectNode r = StreamRun.JSON.createObjectNode();
        r.put("recovered", true);
        r.put("start", Instant.now().toString());
        r.put(
                "note",
                "micro-batches "
                        + (recorded + 1)
                        + "-"
                        + committed
                        + " were committed by a run that stopped before recording them; counted"
                        + " from the committed output");
        r.put("batches", 0);
        inOutput.forEach((k, v) -> r.put(k, v - totals.getOrDefault(k, 0L)));
        r.put("last_batch", committed);
        List<JsonNode> runs = new ArrayList<>();
        if (previous != null) {
            previous.path("runs").forEach(runs::add);
        }
        if (r.path("output_rows").asLong() > 0) {
            runs.add(r);
        }
        return write(conf, s, base, runs, unscoredCount);
    }

    /**
     * Writes the manifest: {@code base}, the runs' records and their totals; replaced in one
     * rename.
     *
     * @return what was written
     */
    static ObjectNode write(
            Configuration conf,
            StreamRun.Settings s,
            ObjectNode base,
            List<JsonNode> runs,
            String unscoredCount) {
        ObjectNode m = base.deepCopy();
        m.put("mode", "stream");
        m.put("checkpoint", s.checkpoint().toString());
        ArrayNode list = m.putArray("runs");
        runs.forEach(list::add);
        double sec = 0;
        long last = -1;
        for (JsonNode r : runs) {
            sec += r.path("seconds").asDouble();
            last = Math.max(last, r.path("last_batch").asLong(-1));
        }
        Map<String, Long> totals = totals(list);
        totals.forEach(m::put);
        m.put("scoring_seconds", sec);
        long scored =
                totals.getOrDefault("output_rows", 0L) - totals.getOrDefault(unscoredCount, 0L);
        m.put("sentences_per_second", sec > 0 ? scored / sec : 0.0);
        m.put("last_batch", last);
        if (!runs.isEmpty()) {
            m.set("this_run", runs.get(runs.size() - 1));
        }
        Path target = new Path(s.output(), ScoreJob.MANIFEST);
        Path tmp = new Path(s.output(), "_manifest.json.tmp-" + UUID.randomUUID());
        HadoopFiles.writeString(conf, tmp, m.toPrettyString());
        HadoopFiles.delete(conf, target);
        HadoopFiles.rename(conf, tmp, target);
        return m;
    }

    private static Map<String, Long> totals(JsonNode runs) {
        Map<String, Long> totals = new LinkedHashMap<>();
        for (JsonNode r : runs) {
            r.fields()
                    .forEachRemaining(
                            e -> {
                                if (e.getValue().isIntegralNumber()
                                        && !NOT_COUNTS.contains(e.getKey())) {
                                    totals.merge(e.getKey(), e.getValue().asLong(), Long::sum);
                                }
                            });
        }
        return totals;
    }

    /** The newest micro-batch in the checkpoint's commit log, or -1. */
    static long lastCommit(Configuration conf, Path checkpoint) {
        Path commits = new Path(checkpoint, "commits");
        long last = -1;
        try {
            if (!HadoopFiles.exists(conf, commits)) {
                return -1;
            }
            for (FileStatus f : HadoopFiles.fs(conf, commits).listStatus(commits)) {
                String n = f.getPath().getName();
                if (n.matches("[0-9]+")) {
                    last = Math.max(last, Long.parseLong(n));
                }
            }
        } catch (IOException e) {
            throw new IllegalStateException("Cannot list " + commits + ": " + e.getMessage(), e);
        }
        return last;
    }

    /** Rows (in = out: a row is never dropped) and the counts the output's columns allow. */
    private static Map<String, Long> committedCounts(
            SparkSession spark, StreamRun.Settings s, Map<String, Column> counts) {
        String out = s.output().toString();
        Dataset<Row> d =
                switch (s.outputFormat()) {
                    case "parquet" -> spark.read().parquet(out);
                    case "json" -> spark.read().json(out);
                    default ->
                            spark.read()
                                    .option("header", "true")
                                    .option("multiLine", "true")
                                    .option("escape", "\"")
                                    .csv(out);
                };
        Map<String, Long> m = new LinkedHashMap<>();
        long rows = d.count();
        m.put("input_rows", rows);
        m.put("output_rows", rows);
        if (s.outputFormat().equals("csv")) {
            return m; // CSV cannot tell a null text from an empty one
        }
        for (Map.Entry<String, Column> c : counts.entrySet()) {
            try {
                Row r = d.agg(count(when(c.getValue(), lit(1)))).first();
                m.put(c.getKey(), r.getLong(0));
            } catch (Exception e) { // Scala's AnalysisException is checked in Java's eyes
                if (e instanceof RuntimeException re) {
                    throw re;
                }
                if (!(e instanceof AnalysisException)) {
                    throw new IllegalStateException(e);
                }
                // the output lacks a column the count needs: that count stays as recorded
            }
        }
        return m;
    }
}
