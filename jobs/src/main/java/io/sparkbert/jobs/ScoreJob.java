package io.sparkbert.jobs;

import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.when;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sparkbert.inference.TextColumns;
import io.sparkbert.persistence.HadoopFiles;
import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;

/**
 * Scores a corpus with a trained model (a {@link TrainJob} dir or a HF checkpoint with a
 * classification head). The output keeps the input columns and adds {@code prediction} (double),
 * the class name ({@code predictedLabel}, renamable with {@code --label-out-col}; an input {@code
 * label} column passes through untouched), {@code probability} and {@code rawPrediction} (arrays of
 * doubles; in CSV a JSON array string such as {@code "[0.1,0.9]"}, since CSV has no array type). A
 * multi-label model gives {@code prediction} and the class name column as arrays (the classes over
 * 0.5); a regression model gives {@code prediction} (the value) alone. Rows with a null or blank
 * (whitespace-only) text are kept with null outputs and counted ({@code null_texts}, {@code
 * blank_texts}); with {@code --pair-col}, so are rows whose pair text is null or blank ({@code
 * null_pairs}, {@code blank_pairs}, counted whatever the first text is). {@code unscored_rows}
 * counts the rows kept without outputs, each once, and the throughput counts the other rows only.
 *
 * <p>Commit protocol: an exclusive lock file {@code <output>.lock} for the whole run (a second
 * concurrent run fails at once).
 *
 * <ul>
 *   <li>{@code --mode overwrite}: everything is written into a hidden staging dir next to the
 *       output, then renamed into place (an older output is moved aside first and deleted after).
 *   <li>{@code --mode incremental}: the input is a directory of files, or of Hive-style partition
 *       dirs ({@code k=v/...}); each such unit is scored on its own into {@code
 *       <output>/_staging/}, gets its record {@value #UNIT_RECORD} and is renamed to {@code
 *       <output>/<partition path>} (or {@code <output>/source_file=<file name>}) in one step. Units
 *       already committed are skipped, so a retried run neither duplicates nor loses rows. A unit
 *       without records (a zero-byte file, blank lines only, a CSV header only; see {@link
 *       Inputs#readIfAny}) is committed the same way with its record alone ({@code "empty": true},
 *       0 rows), so re-runs skip it and the units after it are scored. Refused on object stores
 *       (s3a://, gs://, ...), where a rename is not atomic.
 *   <li>{@code --mode stream}: the input directory as a Structured Streaming file source, Spark's
 *       file sink as the commit protocol, no lock ({@link StreamRun}, {@link StreamScoring}).
 * </ul>
 *
 * In both modes {@code <output>/_manifest.json} holds the row counts, null texts, throughput, model
 * and times; in incremental mode it is rebuilt from all committed units at the end of each run and
 * also counts the empty units ({@code empty_units}, overall and in {@code this_run}).
 *
 * <p>Thread-safe (stateless between runs); see {@link #beforeUnitCommit} for the test hook.
 */
public final class ScoreJob extends SparkJob {
    /** Name of the per-unit record inside each committed unit dir of an incremental output. */
    public static final String UNIT_RECORD = "_sparkbert_unit.json";

    /** Name of the manifest. */
    public static final String MANIFEST = "_manifest.json";

    private static final ObjectMapper JSON = new ObjectMapper();

    /** Called with each unit's name just before its commit rename (tests inject failures). */
    volatile java.util.function.Consumer<String> beforeUnitCommit = unit -> {};

    /** The score job over the default backend. */
    public ScoreJob() {
        this(JobRunner.defaultBackend());
    }

    /** The score job over {@code backend}. */
    public ScoreJob(ModelBackend backend) {
        super(backend);
    }

    /** spark-submit entry point. */
    public static void main(String[] args) {
        System.exit(JobRunner.run(new ScoreJob(), args, System.out, System.err));
    }

    @Override
    public String name() {
        return "score";
    }

    @Override
    public List<JobOption> options() {
        List<JobOption> all = new ArrayList<>();
        all.addAll(
                Inputs.textsInAndOut(
                        "model dir from the train job, or a HF checkpoint dir",
                        "texts to score (file or directory)"));
        all.addAll(
                List.of(
                        JobOption.string("id-col", "column identifying rows; output sorted by it"),
                        JobOption.string("label-out-col", "output column of the class names"),
                        JobOption.integer("batch-size", "texts per forward pass"),
                        JobOption.integer(
                                "window-size", "rows length-sorted together before batching"),
                        JobOption.integer("max-length", "max tokens per text"),
                        JobOption.choice(
                                "overflow", "texts longer than max-length", "truncate", "window"),
                        JobOption.choice("device", "where to run the model", "auto", "cpu", "gpu"),
                        JobOption.choice(
                                "mode",
                                "replace the output, add new input units, or stream new files",
                                "overwrite",
                                "incremental",
                                "stream")));
        all.addAll(StreamScoring.options());
        return all;
    }

    @Override
    public JobResult run(SparkSession spark, JobOptions o) {
        long start = System.nanoTime();
        Instant startedAt = Instant.now();
        o.checkRange("batch-size", 1, 1 << 16);
        o.checkRange("window-size", 1, 1 << 20);
        o.checkRange("max-length", 2, 512);
        String output = o.require("output");
        String input = o.require("input");
        String textCol = o.require("text-col");
        String pairCol = o.get("pair-col").orElse(null);
        String labelOut = o.require("label-out-col");
        Inputs.Format format = Inputs.format(o.require("input-format"));
        if (o.require("mode").equals("stream")) {
            return StreamScoring.score(spark, backend, o, name(), start);
        }
        StreamScoring.checkNotStream(o, o.require("mode"));
        Configuration conf = spark.sparkContext().hadoopConfiguration();
        Path out = new Path(output);
        if (o.require("mode").equals("overwrite")) {
            OutputDirs.checkReplaceable(conf, out, "score", MANIFEST, input, o.require("model"));
        } else {
            refuseObjectStore(conf, out);
        }
        // The lock comes first: a second run into the same output fails at once instead of
        // after loading the model (and its Spark jobs) for nothing.
        try (OutputLock lock = OutputLock.acquire(conf, out)) {
            Scorer scorer = Scorer.load(spark, backend, o.require("model"), pairCol != null, o);
            ObjectNode manifest;
            if (o.require("mode").equals("overwrite")) {
                manifest = overwrite(spark, o, scorer, input, format, out, startedAt);
            } else {
                manifest = incremental(spark, o, scorer, input, format, out, startedAt);
            }
            ObjectNode run = (ObjectNode) manifest.get("this_run");
            int empty = run.path("empty_units").asInt();
            long noPair = run.path("null_pairs").asLong() + run.path("blank_pairs").asLong();
            return new JobResult(
                    name(),
                    run.get("output_rows").asLong(),
                    (System.nanoTime() - start) / 1e9,
                    output,
                    String.format(
                                    java.util.Locale.ROOT,
                                    "%.1f sentences/s scoring, %d null texts",
                                    run.get("sentences_per_second").asDouble(),
                                    run.get("null_texts").asLong())
                            + (noPair == 0 ? "" : ", " + noPair + " null or blank pair texts")
                            + (empty == 0
                                    ? ""
                                    : ", "
                                            + empty
                                            + (empty == 1 ? " empty unit" : " empty units")
                                            + " committed with 0 rows"));
        }
    }

    /**
     * Incremental mode commits each unit by a directory rename and guards the output with a lock
     * file; on an object store the rename is a copy and delete (not atomic) and the lock's
     * create-if-absent is no lock, so it is refused there (docs/design.md).
     */
    private static void refuseObjectStore(Configuration conf, Path out) {
        String store = OutputDirs.objectStoreScheme(conf, out);
        if (store != null) {
            throw new IllegalArgumentException(
                    "--mode incremental: the output '"
                            + out
                            + "' is on an object store ("
                            + store
                            + "://), where its commit by directory rename is neither atomic nor"
                            + " safe; use --mode stream (with --checkpoint), whose commit log works"
                            + " there, or an HDFS or local output.");
        }
    }

    private ObjectNode overwrite(
            SparkSession spark,
            JobOptions o,
            Scorer scorer,
            String input,
            Inputs.Format format,
            Path out,
            Instant startedAt) {
        Configuration conf = spark.sparkContext().hadoopConfiguration();
        Path staging = OutputDirs.stagingFor(out);
        try {
            Dataset<Row> df = Inputs.read(spark, input, format, null);
            ObjectNode unit = scoreUnit(spark, o, scorer, df, input, staging, List.of());
            ObjectNode manifest = manifest(o, scorer, input, "overwrite", startedAt, List.of(unit));
            manifest.set("this_run", thisRun(List.of(unit)));
            HadoopFiles.writeString(conf, new Path(staging, MANIFEST), manifest.toPrettyString());
            OutputDirs.replaceDir(conf, staging, out);
            return manifest;
        } finally {
            if (HadoopFiles.exists(conf, staging)) {
                HadoopFiles.delete(conf, staging);
            }
        }
    }

    private ObjectNode incremental(
            SparkSession spark,
            JobOptions o,
            Scorer scorer,
            String input,
            Inputs.Format format,
            Path out,
            Instant startedAt) {
        Configuration conf = spark.sparkContext().hadoopConfiguration();
        if (HadoopFiles.exists(conf, new Path(out, MANIFEST))) {
            JsonNode m = readJson(conf, new Path(out, MANIFEST));
            if (!"incremental".equals(m.path("mode").asText())) {
                throw new IllegalArgumentException(
                        "--mode incremental: '"
                                + out
                                + "' was written in "
                                + m.path("mode").asText()
                                + " mode; use a new --output or --mode overwrite.");
            }
        }
        List<InputUnits.Unit> units = InputUnits.list(conf, new Path(input));
        Path stagingRoot = new Path(out, "_staging");
        HadoopFiles.delete(conf, stagingRoot); // leftovers of a failed run are never committed
        HadoopFiles.mkdirs(conf, stagingRoot);
        List<ObjectNode> scoredNow = new ArrayList<>();
        try {
            for (InputUnits.Unit u : units) {
                Path target = InputUnits.target(out, u.outputName());
                if (HadoopFiles.exists(conf, new Path(target, UNIT_RECORD))) {
                    continue;
                }
                if (HadoopFiles.exists(conf, target)) {
                    HadoopFiles.delete(conf, target);
                }
                java.util.Optional<Dataset<Row>> df =
                        Inputs.readIfAny(
                                spark,
                                u.path().toString(),
                                format,
                                u.partitionColumns().isEmpty() ? null : input);
                Path staging = new Path(stagingRoot, UUID.randomUUID().toString());
                ObjectNode record;
                if (df.isPresent()) {
                    record =
                            scoreUnit(
                                    spark,
                                    o,
                                    scorer,
                                    df.get(),
                                    u.path().toString(),
                                    staging,
                                    u.partitionColumns());
                } else {
                    // No records: committed like any unit (its record alone), so that re-runs
                    // skip it and the units after it are scored.
                    HadoopFiles.mkdirs(conf, staging);
                    record = emptyUnit(u.path().toString());
                }
                record.put("unit", u.outputName());
                record.put("committed", Instant.now().toString());
                HadoopFiles.writeString(
                        conf, new Path(staging, UNIT_RECORD), record.toPrettyString());
                beforeUnitCommit.accept(u.outputName());
                HadoopFiles.rename(conf, staging, target);
                scoredNow.add(record);
            }
        } finally {
            HadoopFiles.delete(conf, stagingRoot);
        }
        List<ObjectNode> all = new ArrayList<>();
        for (InputUnits.Unit u : units) {
            Path rec = new Path(InputUnits.target(out, u.outputName()), UNIT_RECORD);
            if (HadoopFiles.exists(conf, rec)) {
                all.add((ObjectNode) readJson(conf, rec));
            }
        }
        ObjectNode manifest = manifest(o, scorer, input, "incremental", startedAt, all);
        manifest.set("this_run", thisRun(scoredNow));
        Path tmp = new Path(out, "_manifest.json.tmp-" + UUID.randomUUID());
        HadoopFiles.writeString(conf, tmp, manifest.toPrettyString());
        HadoopFiles.delete(conf, new Path(out, MANIFEST));
        HadoopFiles.rename(conf, tmp, new Path(out, MANIFEST));
        return manifest;
    }

    /**
     * Scores one Dataset into {@code dir} and returns its record: input rows, output rows, null
     * texts, seconds.
     */
    private ObjectNode scoreUnit(
            SparkSession spark,
            JobOptions o,
            Scorer scorer,
            Dataset<Row> df,
            String source,
            Path dir,
            List<String> dropColumns) {
        String textCol = o.require("text-col");
        String pairCol = o.get("pair-col").orElse(null);
        String idCol = o.get("id-col").orElse(null);
        if (idCol != null) {
            Inputs.field(df.schema(), idCol, "id-col");
        }
        Inputs.requireStringColumn(df, textCol, "text-col");
        if (pairCol != null) {
            Inputs.requireStringColumn(df, pairCol, "pair-col");
        }
        org.apache.spark.sql.Column text = TextColumns.named(textCol);
        org.apache.spark.sql.Column pair =
                pairCol == null ? lit(null).cast("string") : TextColumns.named(pairCol);
        org.apache.spark.sql.Column hasInput = TextColumns.scorable(textCol, pairCol);
        // count(when(c, 1)) counts the rows where c is true (a null condition counts as false).
        Row counts =
                df.agg(
                                count(lit(1)),
                                count(when(text.isNull(), 1)),
                                count(when(blank(text), 1)),
                                count(when(pair.isNull(), 1)),
                                count(when(blank(pair), 1)),
                                count(when(org.apache.spark.sql.functions.not(hasInput), 1)))
                        .first();
        long inputRows = counts.getLong(0);
        long nullTexts = counts.getLong(1);
        long blankTexts = counts.getLong(2);
        long nullPairs = pairCol == null ? 0 : counts.getLong(3);
        long blankPairs = pairCol == null ? 0 : counts.getLong(4);
        long unscored = counts.getLong(5);
        long t0 = System.nanoTime();
        Dataset<Row> scored = scorer.score(df, textCol, pairCol, o.require("label-out-col"));
        for (String c : dropColumns) {
            scored = scored.drop(c);
        }
        if (idCol != null) {
            scored = scored.orderBy(TextColumns.named(idCol));
        }
        String fmt = o.require("format");
        if (fmt.equals("csv")) {
            scored = Scorer.forCsv(scored);
        }
        Written w = writeChecked(spark, scored, fmt, dir, inputRows, "Scoring " + source, t0);
        long outputRows = w.rows();
        double seconds = w.seconds();
        ObjectNode r = JSON.createObjectNode();
        r.put("source", source);
        r.put("input_rows", inputRows);
        r.put("output_rows", outputRows);
        r.put("null_texts", nullTexts);
        r.put("blank_texts", blankTexts);
        r.put("null_pairs", nullPairs);
        r.put("blank_pairs", blankPairs);
        r.put("unscored_rows", unscored);
        r.put("seconds", seconds);
        return r;
    }

    /** The record of a unit without records: 0 rows in and out, marked {@code empty}. */
    private static ObjectNode emptyUnit(String source) {
        ObjectNode r = JSON.createObjectNode();
        r.put("source", source);
        r.put("input_rows", 0L);
        r.put("output_rows", 0L);
        r.put("null_texts", 0L);
        r.put("blank_texts", 0L);
        r.put("null_pairs", 0L);
        r.put("blank_pairs", 0L);
        r.put("unscored_rows", 0L);
        r.put("seconds", 0.0);
        r.put("empty", true);
        return r;
    }

    /**
     * Writes {@code df} to {@code dir} in {@code format} (CSV with a header), reads the row count
     * back and refuses a mismatch with the input, so that nothing short is ever committed.
     *
     * @param what what was written, for the message (e.g. {@code "Scoring <path>"})
     * @param startNanos when the work being timed started ({@link System#nanoTime()})
     * @return the rows written and the seconds from {@code startNanos} to the end of the write (the
     *     read-back check is not timed)
     * @throws IllegalStateException when the written rows differ from {@code inputRows}
     */
    static Written writeChecked(
            SparkSession spark,
            Dataset<Row> df,
            String format,
            Path dir,
            long inputRows,
            String what,
            long startNanos) {
        var writer = df.write().mode(SaveMode.ErrorIfExists).format(format);
        if (format.equals("csv")) {
            // Spark's CSV writer trims texts by default; the input columns are written as read.
            writer =
                    writer.option("header", "true")
                            .option("escape", "\"")
                            .option("ignoreLeadingWhiteSpace", "false")
                            .option("ignoreTrailingWhiteSpace", "false");
        }
        writer.save(dir.toString());
        double seconds = (System.nanoTime() - startNanos) / 1e9;
        var reader = spark.read().format(format);
        if (format.equals("csv")) {
            // Read CSV back as it was written: a quoted text may span lines (multiLine), and
            // quotes inside it are doubled (escape). Only for CSV: JSON's multiLine would read
            // each file as one document.
            reader =
                    reader.option("header", "true")
                            .option("multiLine", "true")
                            .option("escape", "\"");
        }
        long outputRows = reader.load(dir.toString()).count();
        if (outputRows != inputRows) {
            throw new IllegalStateException(
                    what
                            + " wrote "
                            + outputRows
                            + " rows for "
                            + inputRows
                            + " input rows; nothing was committed.");
        }
        return new Written(outputRows, seconds);
    }

    /** Rows written and seconds taken by {@link #writeChecked}. */
    record Written(long rows, double seconds) {}

    /**
     * Sums of unit records. A record written before a count existed counts it as 0, and its
     * unscored rows as its null and blank texts (what scoring skipped then, pairs aside).
     */
    private record Totals(
            long inputRows,
            long outputRows,
            long nullTexts,
            long blankTexts,
            long nullPairs,
            long blankPairs,
            long unscoredRows,
            int emptyUnits,
            double seconds) {
        static Totals of(List<ObjectNode> units) {
            long in = 0;
            long out = 0;
            long nulls = 0;
            long blanks = 0;
            long nullPairs = 0;
            long blankPairs = 0;
            long unscored = 0;
            int empty = 0;
            double seconds = 0;
            for (ObjectNode u : units) {
                in += u.get("input_rows").asLong();
                out += u.get("output_rows").asLong();
                long n = u.get("null_texts").asLong();
                long b = u.path("blank_texts").asLong();
                nulls += n;
                blanks += b;
                nullPairs += u.path("null_pairs").asLong();
                blankPairs += u.path("blank_pairs").asLong();
                unscored += u.has("unscored_rows") ? u.get("unscored_rows").asLong() : n + b;
                empty += u.path("empty").asBoolean() ? 1 : 0;
                seconds += u.get("seconds").asDouble();
            }
            return new Totals(
                    in, out, nulls, blanks, nullPairs, blankPairs, unscored, empty, seconds);
        }

        /** Rows per second that went through the model. */
        double sentencesPerSecond() {
            return seconds > 0 ? (outputRows - unscoredRows) / seconds : 0.0;
        }

        void putCounts(ObjectNode n) {
            n.put("null_texts", nullTexts);
            n.put("blank_texts", blankTexts);
            n.put("null_pairs", nullPairs);
            n.put("blank_pairs", blankPairs);
            n.put("unscored_rows", unscoredRows);
        }
    }

    private static ObjectNode thisRun(List<ObjectNode> units) {
        Totals t = Totals.of(units);
        ObjectNode n = JSON.createObjectNode();
        n.put("units", units.size());
        n.put("empty_units", t.emptyUnits());
        n.put("output_rows", t.outputRows());
        t.putCounts(n);
        n.put("seconds", t.seconds());
        n.put("sentences_per_second", t.sentencesPerSecond());
        return n;
    }

    private static ObjectNode manifest(
            JobOptions o,
            Scorer scorer,
            String input,
            String mode,
            Instant startedAt,
            List<ObjectNode> units) {
        Totals t = Totals.of(units);
        ObjectNode m = JSON.createObjectNode();
        m.put("mode", mode);
        m.put("input", input);
        m.put("model", scorer.source());
        ArrayNode labels = m.putArray("id2label");
        scorer.labels().forEach(labels::add);
        m.put("format", o.require("format"));
        m.put("input_rows", t.inputRows());
        m.put("output_rows", t.outputRows());
        t.putCounts(m);
        m.put("scoring_seconds", t.seconds());
        m.put("sentences_per_second", t.sentencesPerSecond());
        m.put("start", startedAt.toString());
        m.put("end", Instant.now().toString());
        if (mode.equals("incremental")) {
            m.put("empty_units", t.emptyUnits());
            ArrayNode a = m.putArray("units");
            units.forEach(a::add);
        }
        ObjectNode opts = m.putObject("options");
        o.asMap().forEach(opts::put);
        return m;
    }

    private static JsonNode readJson(Configuration conf, Path p) {
        try {
            return JSON.readTree(HadoopFiles.readString(conf, p));
        } catch (IOException e) {
            throw new IllegalStateException("Cannot parse " + p + ": " + e.getMessage(), e);
        }
    }

    /** A non-null text of white space only (what {@link TextColumns#hasText} refuses but null). */
    private static org.apache.spark.sql.Column blank(org.apache.spark.sql.Column c) {
        return c.isNotNull().and(org.apache.spark.sql.functions.not(TextColumns.hasText(c)));
    }
}
