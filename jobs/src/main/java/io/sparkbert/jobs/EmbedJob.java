package io.sparkbert.jobs;

import static org.apache.spark.ml.functions.vector_to_array;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.sum;
import static org.apache.spark.sql.functions.to_json;
import static org.apache.spark.sql.functions.when;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sparkbert.bert.BuiltInModel;
import io.sparkbert.feature.BertEmbeddings;
import io.sparkbert.inference.ModelCache;
import io.sparkbert.inference.TextColumns;
import io.sparkbert.persistence.HadoopFiles;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/**
 * Writes sentence embeddings of a corpus: the input columns plus an array of doubles (default
 * column {@code embedding}) from {@link BertEmbeddings} (mean or [CLS] pooling, optionally
 * L2-normalised). Rows with a null or blank text are kept with a null vector and counted. The
 * output is committed like {@link ScoreJob}'s overwrite mode (lock, staging dir, one rename) with a
 * {@code _manifest.json}.
 *
 * <p>Thread-safe (stateless between runs).
 */
public final class EmbedJob extends SparkJob {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** The embed job (the model backend is not used: embeddings need no classifier). */
    public EmbedJob() {
        super(JobRunner.defaultBackend());
    }

    /** spark-submit entry point. */
    public static void main(String[] args) {
        System.exit(JobRunner.run(new EmbedJob(), args, System.out, System.err));
    }

    @Override
    public String name() {
        return "embed";
    }

    @Override
    public List<JobOption> options() {
        List<JobOption> own = new ArrayList<>();
        own.addAll(
                Inputs.textsInAndOut(
                        "default, a HF checkpoint dir, or a train job dir",
                        "texts to embed (file or directory)"));
        own.addAll(
                List.of(
                        JobOption.string("embedding-col", "output column of the vectors"),
                        JobOption.choice(
                                "pooling",
                                "pooling of the last hidden state (auto: the built-in's own)",
                                "auto",
                                "mean",
                                "cls"),
                        JobOption.bool("normalize", "L2-normalise the vectors"),
                        JobOption.integer("batch-size", "texts per forward pass"),
                        JobOption.integer(
                                "window-size", "rows length-sorted together before batching"),
                        JobOption.integer("max-length", "max tokens per text"),
                        JobOption.choice(
                                "overflow", "texts longer than max-length", "truncate", "window"),
                        JobOption.choice("device", "where to run the model", "auto", "cpu", "gpu"),
                        JobOption.choice(
                                "mode",
                                "replace the output, or stream new files",
                                "overwrite",
                                "stream")));
        own.addAll(StreamScoring.options());
        return own;
    }

    @Override
    public JobResult run(SparkSession spark, JobOptions o) {
        long start = System.nanoTime();
        Instant startedAt = Instant.now();
        o.checkRange("batch-size", 1, 1 << 16);
        o.checkRange("window-size", 1, 1 << 20);
        o.checkRange("max-length", 2, 512);
        if (o.require("mode").equals("stream")) {
            return StreamScoring.embed(spark, o, name(), start);
        }
        StreamScoring.checkNotStream(o, o.require("mode"));
        String input = o.require("input");
        String textCol = o.require("text-col");
        String vectorCol = o.require("embedding-col");
        String format = o.require("format");
        OutputDirs.checkReplaceable(
                spark.sparkContext().hadoopConfiguration(),
                new Path(o.require("output")),
                "embed",
                ScoreJob.MANIFEST,
                input,
                o.require("model"));
        Dataset<Row> df = Inputs.read(spark, input, Inputs.format(o.require("input-format")), null);
        checkColumns(df, o);
        Row counts =
                df.agg(
                                count(lit(1)),
                                sum(when(TextColumns.named(textCol).isNull(), 1).otherwise(0)))
                        .first();
        long inputRows = counts.getLong(0);
        long nullTexts = counts.isNullAt(1) ? 0 : counts.getLong(1);

        Dataset<Row> out = embedded(spark, o, df);
        Configuration conf = spark.sparkContext().hadoopConfiguration();
        Path target = new Path(o.require("output"));
        try (OutputLock lock = OutputLock.acquire(conf, target)) {
            Path staging = OutputDirs.stagingFor(target);
            try {
                long t0 = System.nanoTime();
                ScoreJob.Written w =
                        ScoreJob.writeChecked(
                                spark, out, format, staging, inputRows, "Embedding " + input, t0);
                long outputRows = w.rows();
                double seconds = w.seconds();
                ObjectNode m = JSON.createObjectNode();
                m.put("input", input);
                m.put("model", o.require("model"));
                m.put("format", format);
                m.put("input_rows", inputRows);
                m.put("output_rows", outputRows);
                m.put("null_texts", nullTexts);
                m.put("seconds", seconds);
                double rate = seconds > 0 ? (outputRows - nullTexts) / seconds : 0.0;
                m.put("sentences_per_second", rate);
                m.put("start", startedAt.toString());
                m.put("end", Instant.now().toString());
                ObjectNode opts = m.putObject("options");
                o.asMap().forEach(opts::put);
                HadoopFiles.writeString(
                        conf, new Path(staging, ScoreJob.MANIFEST), m.toPrettyString());
                OutputDirs.replaceDir(conf, staging, target);
                return new JobResult(
                        name(),
                        outputRows,
                        (System.nanoTime() - start) / 1e9,
                        target.toString(),
                        String.format(
                                Locale.ROOT, "%.1f sentences/s, %d null texts", rate, nullTexts));
            } finally {
                if (HadoopFiles.exists(conf, staging)) {
                    HadoopFiles.delete(conf, staging);
                }
            }
        }
    }

    /**
     * Checks the text (and pair) column and that the vector column is free.
     *
     * @throws IllegalArgumentException naming the flag
     */
    static void checkColumns(Dataset<Row> df, JobOptions o) {
        String textCol = o.require("text-col");
        String pairCol = o.get("pair-col").orElse(null);
        String vectorCol = o.require("embedding-col");
        Inputs.requireStringColumn(df, textCol, "text-col");
        if (pairCol != null) {
            Inputs.requireStringColumn(df, pairCol, "pair-col");
        }
        if (List.of(df.columns()).contains(vectorCol)) {
            throw new IllegalArgumentException(
                    "--embedding-col: the input already has a column '"
                            + vectorCol
                            + "'; choose another name with --embedding-col.");
        }
    }

    /** {@code df} with its vector column (arrays of doubles; JSON strings in CSV). */
    static Dataset<Row> embedded(SparkSession spark, JobOptions o, Dataset<Row> df) {
        String textCol = o.require("text-col");
        String pairCol = o.get("pair-col").orElse(null);
        String vectorCol = o.require("embedding-col");
        String format = o.require("format");
        BertEmbeddings embeddings =
                new BertEmbeddings()
                        .setModel(encoderLocation(spark, o.require("model")))
                        .setInputCol(textCol)
                        .setOutputCol(vectorCol)
                        .setPooling(o.require("pooling"))
                        .setNormalize(o.getBoolean("normalize"))
                        .setBatchSize(o.getInt("batch-size"))
                        .setWindowSize(o.getInt("window-size"))
                        .setMaxLength(o.getInt("max-length"))
                        .setOverflow(o.require("overflow"))
                        .setDevice(o.require("device"))
                        .setHandleInvalid("keep");
        if (pairCol != null) {
            embeddings.setPairCol(pairCol);
        }
        // vector_to_array fails on a null vector (a kept invalid row), so nulls bypass it.
        Column vector = TextColumns.named(vectorCol);
        Dataset<Row> out =
                embeddings
                        .transform(df)
                        .withColumn(
                                vectorCol,
                                when(vector.isNull(), lit(null))
                                        .otherwise(vector_to_array(vector, "float64")));
        if (format.equals("csv")) {
            out = out.withColumn(vectorCol, to_json(TextColumns.named(vectorCol)));
        }
        return out;
    }

    /** Loads the encoder into this JVM's model cache, as the tasks will ask for it. */
    @Override
    protected void preload(JobOptions o) {
        ModelCache.warm(
                encoderLocation(new Configuration(), o.require("model")), o.require("device"));
    }

    private static String encoderLocation(SparkSession spark, String model) {
        return encoderLocation(spark.sparkContext().hadoopConfiguration(), model);
    }

    /** A train job's dir gives its {@code hf/} checkpoint; anything else is used as it is. */
    private static String encoderLocation(Configuration conf, String model) {
        if (BuiltInModel.find(model).isEmpty() && ModelDir.isModelDir(conf, model)) {
            return new Path(model, "hf").toString();
        }
        return model;
    }
}
