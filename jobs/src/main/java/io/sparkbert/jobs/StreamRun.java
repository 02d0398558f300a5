package io.sparkbert.jobs;

import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.when;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sparkbert.persistence.HadoopFiles;
import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.UnaryOperator;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.streaming.DataStreamReader;
import org.apache.spark.sql.streaming.DataStreamWriter;
import org.apache.spark.sql.streaming.StreamingQuery;
import org.apache.spark.sql.streaming.StreamingQueryException;
import org.apache.spark.sql.streaming.StreamingQueryListener;
import org.apache.spark.sql.streaming.StreamingQueryProgress;
import org.apache.spark.sql.streaming.Trigger;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.StructType;

/**
 * {@code --mode stream} of the score and embed jobs: the input directory read as a Spark file
 * stream, transformed, and written by Spark's file sink, whose {@code <output>/_spark_metadata} log
 * is the commit protocol (a reader of the output directory sees committed micro-batches only, each
 * once). {@code <checkpoint>} holds the query's offsets, commits and the files seen, so a run picks
 * up the files that arrived since the last one, and a failed or killed run is replayed from its
 * last uncommitted micro-batch by the next run of the same command.
 *
 * <p>The source format and schema are fixed by the first run ({@code --schema}, or inferred from
 * the files present then) and kept in {@code <checkpoint>/}{@value #SOURCE_RECORD}, so that later
 * files are read the same way. Counts come from {@link Dataset#observe} (rows in, null texts, rows
 * out per micro-batch) through a query listener, which rewrites {@code <output>/_manifest.json}
 * after every micro-batch: totals over all runs and one record per run.
 *
 * <p>Thread-safe: each {@link #run} uses its own query and listener.
 */
final class StreamRun {
    /** The source record inside the checkpoint dir: format, reader options, schema. */
    static final String SOURCE_RECORD = "sparkbert-source.json";

    static final ObjectMapper JSON = new ObjectMapper();
    private static final String IN = "sparkbert_in";
    private static final String OUT = "sparkbert_out";

    /**
     * What a stream run reads, writes and how.
     *
     * @param job job name ({@code score}, {@code embed}); the query is named {@code
     *     sparkbert-<job>}
     * @param input the input directory
     * @param format {@code --input-format}
     * @param schemaDdl {@code --schema} or null
     * @param output the output directory (the file sink's path)
     * @param outputFormat parquet, json or csv
     * @param checkpoint the query's checkpoint dir
     * @param trigger {@code available-now} or {@code processing-time=INTERVAL}
     * @param maxFilesPerTrigger files per micro-batch, or null for all new files
     */
    record Settings(
            String job,
            String input,
            Inputs.Format format,
            String schemaDdl,
            Path output,
            String outputFormat,
            Path checkpoint,
            String trigger,
            Integer maxFilesPerTrigger) {

        /** The settings of the common stream options of {@code o}. */
        static Settings of(String job, JobOptions o) {
            String checkpoint =
                    o.get("checkpoint")
                            .orElseThrow(
                                    () ->
                                            new IllegalArgumentException(
                                                    "--checkpoint: --mode stream needs a"
                                                            + " checkpoint dir, where the query"
                                                            + " keeps the files it has processed;"
                                                            + " give the same dir to every run"
                                                            + " over this input and output."));
            o.checkRange("max-files-per-trigger", 0, Integer.MAX_VALUE);
            int n = o.getInt("max-files-per-trigger");
            Integer maxFiles = n == 0 ? null : n;
            String trigger = o.require("trigger");
            parseTrigger(trigger); // fail before any work
            return new Settings(
                    job,
                    o.require("input"),
                    Inputs.format(o.require("input-format")),
                    o.get("schema").orElse(null),
                    new Path(o.require("output")),
                    o.require("format"),
                    new Path(checkpoint),
                    trigger,
                    maxFiles);
        }

        String queryName() {
            return "sparkbert-" + job;
        }
    }

    /**
     * Counts of one micro-batch's input, each a boolean column: rows where it is true are counted
     * under its name (e.g. {@code null_texts}).
     */
    record Counts(Map<String, Column> conditions) {}

    private StreamRun() {}

    /** {@code available-now} or {@code processing-time=INTERVAL} as a Spark trigger. */
    static Trigger parseTrigger(String value) {
        if (value.equals("available-now")) {
            return Trigger.AvailableNow();
        }
        if (value.startsWith("processing-time=")) {
            String interval = value.substring("processing-time=".length()).trim();
            try {
                return Trigger.ProcessingTime(interval);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(
                        "--trigger: cannot read the interval '"
                                + interval
                                + "'; write it as e.g. processing-time=30 seconds or"
                                + " processing-time=5 minutes.",
                        e);
            }
        }
        throw new IllegalArgumentException(
                "--trigger: invalid value '"
                        + value
                        + "'; expected available-now (process what is new, then stop) or"
                        + " processing-time=INTERVAL (keep running, a micro-batch every INTERVAL,"
                        + " e.g. processing-time=1 minute).");
    }

    /**
     * The input as a streaming DataFrame: the format and schema recorded in the checkpoint, else
     * those of {@code --schema} or of the files present now (then recorded).
     */
    static Dataset<Row> read(SparkSession spark, Settings s) {
        Configuration conf = spark.sparkContext().hadoopConfiguration();
        ObjectNode source = sourceRecord(spark, s);
        StructType schema = (StructType) DataType.fromJson(source.get("schema").asText());
        Inputs.Format f = Inputs.format(source.get("format").asText());
        DataStreamReader r = spark.readStream().schema(schema);
        if (s.maxFilesPerTrigger() != null) {
            r = r.option("maxFilesPerTrigger", s.maxFilesPerTrigger().longValue());
        }
        Dataset<Row> df =
                switch (f) {
                    case JSONL, JSON ->
                            r.option("mode", "FAILFAST")
                                    .option(
                                            "multiLine",
                                            Boolean.toString(source.path("multiLine").asBoolean()))
                                    .json(s.input());
                    case CSV ->
                            r.option("header", "true")
                                    .option("mode", "FAILFAST")
                                    .option("multiLine", "true")
                                    .option("escape", "\"")
                                    .csv(s.input());
                    case PARQUET -> r.parquet(s.input());
                    case TXT -> r.text(s.input()).withColumnRenamed("value", "text");
                    case AUTO -> throw new IllegalStateException("format not resolved");
                };
        if (!HadoopFiles.exists(conf, new Path(s.input()))) {
            throw new IllegalArgumentException(
                    "--input: '" + s.input() + "' does not exist; give the input directory.");
        }
        return df;
    }

    /** Reads, or makes and writes, the checkpoint's source record. */
    private static ObjectNode sourceRecord(SparkSession spark, Settings s) {
        Configuration conf = spark.sparkContext().hadoopConfiguration();
        Path record = new Path(s.checkpoint(), SOURCE_RECORD);
        StructType given = s.schemaDdl() == null ? null : parseSchema(s.schemaDdl());
        if (HadoopFiles.exists(conf, record)) {
            ObjectNode r = (ObjectNode) readJson(conf, record);
            if (given != null && !given.json().equals(r.get("schema").asText())) {
                throw new IllegalArgumentException(
                        "--schema: the stream in checkpoint '"
                                + s.checkpoint()
                                + "' reads the schema "
                                + DataType.fromJson(r.get("schema").asText()).simpleString()
                                + ", not "
                                + given.simpleString()
                                + "; a stream keeps the schema it started with. Drop --schema"
                                + " or start a new stream (new --checkpoint and --output).");
            }
            return r;
        }
        Path in = new Path(s.input());
        FileSystem fs = HadoopFiles.fs(conf, in);
        List<FileStatus> files;
        try {
            if (!fs.exists(in) || !fs.getFileStatus(in).isDirectory()) {
                throw new IllegalArgumentException(
                        "--input: '"
                                + s.input()
                                + "' is not a directory; --mode stream reads the files that"
                                + " arrive in a directory.");
            }
            files = Inputs.dataFiles(fs, in);
        } catch (IOException e) {
            throw new IllegalArgumentException(
                    "--input: cannot list '" + s.input() + "': " + e.getMessage(), e);
        }
        Inputs.Format f = s.format();
        if (f == Inputs.Format.AUTO) {
            if (files.isEmpty()) {
                throw new IllegalArgumentException(
                        "--input-format: the first stream run takes the format from the files in"
                                + " '"
                                + s.input()
                                + "', which has none yet; set --input-format (and --schema).");
            }
            f = Inputs.Format.ofExtension(files.get(0).getPath().getName());
            if (f == null) {
                throw new IllegalArgumentException(
                        "--input-format: cannot tell the format of '"
                                + files.get(0).getPath()
                                + "' from its extension; set --input-format.");
            }
        }
        StructType schema = given;
        if (schema == null) {
            if (files.isEmpty()) {
                throw new IllegalArgumentException(
                        "--schema: the first stream run takes the schema from the files in '"
                                + s.input()
                                + "', which has none yet; add files or give --schema, e.g."
                                + " --schema 'id STRING, text STRING'.");
            }
            schema =
                    Inputs.read(spark, s.input(), f, null)
                            .schema(); // the batch reader's inference and checks
        }
        ObjectNode r = JSON.createObjectNode();
        r.put("format", f.name().toLowerCase(Locale.ROOT));
        r.put("multiLine", f == Inputs.Format.JSON && firstIsArray(fs, files));
        r.put("schema", schema.json());
        HadoopFiles.mkdirs(conf, s.checkpoint());
        HadoopFiles.writeString(conf, record, r.toPrettyString());
        return r;
    }

    private static StructType parseSchema(String ddl) {
        try {
            return StructType.fromDDL(ddl);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException(
                    "--schema: cannot parse '"
                            + ddl
                            + "' ("
                            + firstLine(e.getMessage())
                            + "); write it as column definitions, e.g. 'id STRING, text STRING'.",
                    e);
        }
    }

    private static boolean firstIsArray(FileSystem fs, List<FileStatus> files) {
        if (files.isEmpty()) {
            return false;
        }
        try (java.io.InputStream in = fs.open(files.get(0).getPath())) {
            return new String(in.readNBytes(4096), java.nio.charset.StandardCharsets.UTF_8)
                    .strip()
                    .startsWith("[");
        } catch (IOException e) {
            return false;
        }
    }

    /**
     * Runs the query: {@code input} (from {@link #read}) through {@code transform} into the file
     * sink, counting {@code counts} per micro-batch; waits for an available-now run to finish.
     *
     * @param manifestBase the manifest fields that do not change between runs (model, labels...)
     * @return this run's record: batches, rows in and out, the counts, seconds, sentences/s
     * @throws IllegalArgumentException when a micro-batch fails on bad input (naming the file)
     */
    static ObjectNode run(
            SparkSession spark,
            Settings s,
            Dataset<Row> input,
            Counts counts,
            UnaryOperator<Dataset<Row>> transform,
            DataStreamWriterOptions writerOptions,
            ObjectNode manifestBase,
            String unscoredCount) {
        Configuration conf = spark.sparkContext().hadoopConfiguration();
        checkOutput(conf, s);
        List<Column> in = new ArrayList<>();
        for (Map.Entry<String, Column> c : counts.conditions().entrySet()) {
            in.add(count(when(c.getValue(), 1)).as(c.getKey()));
        }
        Dataset<Row> observed =
                input.observe(IN, count(lit(1)).as("input_rows"), in.toArray(new Column[0]));
        Dataset<Row> out = transform.apply(observed).observe(OUT, count(lit(1)).as("output_rows"));
        DataStreamWriter<Row> w =
                out.writeStream()
                        .format(s.outputFormat())
                        .outputMode("append")
                        .queryName(s.queryName())
                        .option("path", s.output().toString())
                        .option("checkpointLocation", s.checkpoint().toString())
                        .trigger(parseTrigger(s.trigger()));
        w = writerOptions.apply(w);
        Instant started = Instant.now();
        long t0 = System.nanoTime();
        ObjectNode previous =
                StreamManifest.recover(
                        spark,
                        s,
                        StreamManifest.read(conf, s),
                        manifestBase,
                        counts.conditions(),
                        unscoredCount);
        RunListener listener =
                new RunListener(conf, s, manifestBase, previous, started, unscoredCount);
        spark.streams().addListener(listener);
        StreamingQuery q;
        try {
            try {
                q = w.start();
            } catch (TimeoutException e) {
                throw new IllegalStateException("The stream did not start: " + e, e);
            }
            listener.queryId = q.id();
            try {
                q.awaitTermination();
            } catch (StreamingQueryException e) {
                throw StreamFailure.explain(conf, s, e);
            }
            listener.awaitTerminated();
        } finally {
            spark.streams().removeListener(listener);
        }
        ObjectNode run = listener.run();
        run.put("wall_seconds", (System.nanoTime() - t0) / 1e9);
        return run;
    }

    /** Writer options beyond the path and checkpoint (CSV's header and quoting). */
    @FunctionalInterface
    interface DataStreamWriterOptions {
        DataStreamWriter<Row> apply(DataStreamWriter<Row> w);
    }

    /** Refuses an output written by another mode, or a checkpoint that belongs elsewhere. */
    private static void checkOutput(Configuration conf, Settings s) {
        Path manifest = new Path(s.output(), ScoreJob.MANIFEST);
        if (HadoopFiles.exists(conf, manifest)) {
            JsonNode m = readJson(conf, manifest);
            if (!"stream".equals(m.path("mode").asText())) {
                throw new IllegalArgumentException(
                        "--mode stream: '"
                                + s.output()
                                + "' was written in "
                                + m.path("mode").asText()
                                + " mode; use a new --output.");
            }
            if (!m.path("checkpoint").asText().equals(s.checkpoint().toString())) {
                throw new IllegalArgumentException(
                        "--checkpoint: '"
                                + s.output()
                                + "' is written by the stream with checkpoint '"
                                + m.path("checkpoint").asText()
                                + "'; give that one (another would score every file again).");
            }
        } else if (HadoopFiles.exists(conf, s.output())
                && !HadoopFiles.exists(conf, new Path(s.output(), "_spark_metadata"))
                && !isEmptyDir(conf, s.output())) {
            throw new IllegalArgumentException(
                    "--output: '"
                            + s.output()
                            + "' exists and is not the output of a stream run; use a new --output.");
        }
    }

    private static boolean isEmptyDir(Configuration conf, Path p) {
        try {
            FileStatus[] st = HadoopFiles.fs(conf, p).listStatus(p);
            return st.length == 0;
        } catch (IOException e) {
            return false;
        }
    }

    static JsonNode readJson(Configuration conf, Path p) {
        try {
            return JSON.readTree(HadoopFiles.readString(conf, p));
        } catch (IOException e) {
            throw new IllegalStateException("Cannot parse " + p + ": " + e.getMessage(), e);
        }
    }

    static String firstLine(String m) {
        if (m == null) {
            return "";
        }
        int cut = m.indexOf('\n');
        return cut > 0 ? m.substring(0, cut) : m;
    }

    /**
     * Collects the progress of one query and rewrites the manifest after each micro-batch with
     * data. Runs on Spark's listener thread; {@link #run} is read after the query terminated.
     */
    private static final class RunListener extends StreamingQueryListener {
        private final Configuration conf;
        private final Settings s;
        private final ObjectNode base;
        private final ObjectNode previous;
        private final Instant started;
        private final String unscoredCount;
        private final CountDownLatch terminated = new CountDownLatch(1);
        private final Map<String, Long> sums = new LinkedHashMap<>();
        private final ArrayNode batches = JSON.createArrayNode();
        private volatile UUID queryId;
        private double seconds;
        private long lastBatch = -1;

        RunListener(
                Configuration conf,
                Settings s,
                ObjectNode base,
                ObjectNode previous,
                Instant started,
                String unscoredCount) {
            this.conf = conf;
            this.s = s;
            this.base = base;
            this.previous = previous;
            this.started = started;
            this.unscoredCount = unscoredCount;
        }

        @Override
        public void onQueryStarted(QueryStartedEvent event) {}

        @Override
        public synchronized void onQueryProgress(QueryProgressEvent event) {
            StreamingQueryProgress p = event.progress();
            if (!p.id().equals(queryId) || p.numInputRows() == 0) {
                return;
            }
            Row in = p.observedMetrics().get(IN);
            Row out = p.observedMetrics().get(OUT);
            ObjectNode b = batches.addObject();
            b.put("batch", p.batchId());
            add(b, in);
            add(b, out);
            double sec = p.batchDuration() / 1000.0;
            b.put("seconds", sec);
            seconds += sec;
            lastBatch = Math.max(lastBatch, p.batchId());
            writeManifest();
        }

        private void add(ObjectNode b, Row metrics) {
            if (metrics == null) {
                return;
            }
            for (String f : metrics.schema().fieldNames()) {
                long v = metrics.getLong(metrics.fieldIndex(f));
                b.put(f, v);
                sums.merge(f, v, Long::sum);
            }
        }

        @Override
        public void onQueryTerminated(QueryTerminatedEvent event) {
            if (event.id().equals(queryId)) {
                terminated.countDown();
            }
        }

        void awaitTerminated() {
            try {
                if (!terminated.await(60, TimeUnit.SECONDS)) {
                    throw new IllegalStateException(
                            "The stream stopped but its last progress did not arrive in 60 s.");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("Interrupted waiting for the stream's end.", e);
            }
        }

        synchronized ObjectNode run() {
            ObjectNode r = JSON.createObjectNode();
            r.put("start", started.toString());
            r.put("end", Instant.now().toString());
            r.put("trigger", s.trigger());
            r.put("batches", batches.size());
            for (String k : List.of("input_rows", "output_rows")) {
                r.put(k, sums.getOrDefault(k, 0L));
            }
            sums.forEach(r::put);
            r.put("seconds", seconds);
            long scored =
                    sums.getOrDefault("output_rows", 0L) - sums.getOrDefault(unscoredCount, 0L);
            r.put("sentences_per_second", seconds > 0 ? scored / seconds : 0.0);
            if (lastBatch >= 0) {
                r.put("last_batch", lastBatch);
            }
            r.set("micro_batches", batches.deepCopy());
            return r;
        }

        /** The earlier runs' records and this one's, with their totals. */
        private void writeManifest() {
            List<JsonNode> runs = new ArrayList<>();
            if (previous != null) {
                previous.path("runs").forEach(runs::add);
            }
            ObjectNode now = run();
            now.remove("micro_batches");
            runs.add(now);
            StreamManifest.write(conf, s, base, runs, unscoredCount);
        }
    }
}
