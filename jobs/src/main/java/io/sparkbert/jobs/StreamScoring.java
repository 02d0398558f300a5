package io.sparkbert.jobs;

import static org.apache.spark.sql.functions.not;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sparkbert.inference.TextColumns;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.streaming.DataStreamWriter;

/**
 * The score and embed jobs' {@code --mode stream} (see {@link StreamRun}): their transforms, counts
 * and summaries on a streaming input.
 *
 * <p>Stateless and thread-safe.
 */
final class StreamScoring {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** The options only {@code --mode stream} reads. */
    static final List<String> STREAM_OPTIONS =
            List.of("checkpoint", "trigger", "max-files-per-trigger", "schema");

    private StreamScoring() {}

    /** The stream options' declarations, shared by the score and embed jobs. */
    static List<JobOption> options() {
        return List.of(
                JobOption.string("checkpoint", "stream mode: the query's checkpoint dir"),
                JobOption.string(
                        "trigger",
                        "stream mode: available-now (new files, then stop) or"
                                + " processing-time=INTERVAL"),
                JobOption.integer(
                        "max-files-per-trigger",
                        "stream mode: input files per micro-batch, 0 = all new"),
                JobOption.string(
                        "schema", "stream mode: input schema as DDL (else from the first files)"));
    }

    /**
     * Refuses stream options in another mode, where they would be silently ignored.
     *
     * @throws IllegalArgumentException naming the option
     */
    static void checkNotStream(JobOptions o, String mode) {
        for (String k : STREAM_OPTIONS) {
            boolean set =
                    switch (k) {
                        case "trigger" -> false; // has a default; harmless elsewhere
                        case "max-files-per-trigger" -> o.getInt(k) != 0;
                        default -> o.get(k).isPresent();
                    };
            if (set) {
                throw new IllegalArgumentException(
                        "--"
                                + k
                                + ": only read with --mode stream (this run is --mode "
                                + mode
                                + "); drop it or add --mode stream.");
            }
        }
    }

    /** {@code score --mode stream}. */
    static JobResult score(
            SparkSession spark, ModelBackend backend, JobOptions o, String job, long start) {
        StreamRun.Settings s = StreamRun.Settings.of(job, o);
        if (o.get("id-col").isPresent()) {
            throw new IllegalArgumentException(
                    "--id-col: a stream appends each micro-batch's files, so its output cannot be"
                            + " sorted; drop --id-col and sort when reading the output.");
        }
        String textCol = o.require("text-col");
        String pairCol = o.get("pair-col").orElse(null);
        String labelOut = o.require("label-out-col");
        String fmt = o.require("format");
        Dataset<Row> input = StreamRun.read(spark, s);
        Inputs.requireStringColumn(input, textCol, "text-col");
        if (pairCol != null) {
            Inputs.requireStringColumn(input, pairCol, "pair-col");
        }
        Scorer scorer = Scorer.load(spark, backend, o.require("model"), pairCol != null, o);
        scorer.checkOutputColumns(input.columns(), labelOut);
        Column text = TextColumns.named(textCol);
        Map<String, Column> counts = new LinkedHashMap<>();
        counts.put("null_texts", text.isNull());
        counts.put("blank_texts", blank(text));
        if (pairCol != null) {
            Column pair = TextColumns.named(pairCol);
            counts.put("null_pairs", pair.isNull());
            counts.put("blank_pairs", blank(pair));
        }
        counts.put("unscored_rows", not(TextColumns.scorable(textCol, pairCol)));
        ObjectNode base = JSON.createObjectNode();
        base.put("input", s.input());
        base.put("model", scorer.source());
        ArrayNode labels = base.putArray("id2label");
        scorer.labels().forEach(labels::add);
        base.put("format", fmt);
        o.asMap().forEach(base.putObject("options")::put);
        ObjectNode run =
                StreamRun.run(
                        spark,
                        s,
                        input,
                        new StreamRun.Counts(counts),
                        d -> {
                            Dataset<Row> scored = scorer.score(d, textCol, pairCol, labelOut);
                            if (fmt.equals("csv")) {
                                scored = Scorer.forCsv(scored);
                            }
                            return scored;
                        },
                        w -> csvOptions(w, fmt),
                        base,
                        "unscored_rows");
        return result(job, s, run, start);
    }

    /** {@code embed --mode stream}. */
    static JobResult embed(SparkSession spark, JobOptions o, String job, long start) {
        StreamRun.Settings s = StreamRun.Settings.of(job, o);
        String textCol = o.require("text-col");
        String fmt = o.require("format");
        Dataset<Row> input = StreamRun.read(spark, s);
        EmbedJob.checkColumns(input, o);
        Column text = TextColumns.named(textCol);
        Map<String, Column> counts = new LinkedHashMap<>();
        counts.put("null_texts", text.isNull());
        counts.put(
                "unscored_rows",
                not(TextColumns.scorable(textCol, o.get("pair-col").orElse(null))));
        ObjectNode base = JSON.createObjectNode();
        base.put("input", s.input());
        base.put("model", o.require("model"));
        base.put("format", fmt);
        o.asMap().forEach(base.putObject("options")::put);
        ObjectNode run =
                StreamRun.run(
                        spark,
                        s,
                        input,
                        new StreamRun.Counts(counts),
                        d -> EmbedJob.embedded(spark, o, d),
                        w -> csvOptions(w, fmt),
                        base,
                        "unscored_rows");
        return result(job, s, run, start);
    }

    private static DataStreamWriter<Row> csvOptions(DataStreamWriter<Row> w, String format) {
        if (!format.equals("csv")) {
            return w;
        }
        // as the batch writer: a header, quotes doubled, texts written as read (not trimmed)
        return w.option("header", "true")
                .option("escape", "\"")
                .option("ignoreLeadingWhiteSpace", "false")
                .option("ignoreTrailingWhiteSpace", "false");
    }

    private static JobResult result(String job, StreamRun.Settings s, ObjectNode run, long start) {
        int batches = run.get("batches").asInt();
        String note =
                batches == 0
                        ? "nothing new in " + s.input() + "; nothing written"
                        : String.format(
                                Locale.ROOT,
                                "%d micro-batches, %.1f sentences/s, %d null texts",
                                batches,
                                run.get("sentences_per_second").asDouble(),
                                run.path("null_texts").asLong());
        return new JobResult(
                job,
                run.get("output_rows").asLong(),
                (System.nanoTime() - start) / 1e9,
                s.output().toString(),
                note);
    }

    /** A non-null text of white space only. */
    private static Column blank(Column c) {
        return c.isNotNull().and(not(TextColumns.hasText(c)));
    }
}
