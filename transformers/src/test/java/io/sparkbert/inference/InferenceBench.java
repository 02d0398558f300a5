package io.sparkbert.inference;

import ai.djl.pytorch.jni.JniUtils;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import io.sparkbert.bert.BuiltInModel;
import io.sparkbert.bert.Encoding;
import io.sparkbert.bert.HfTokenizer;
import io.sparkbert.bert.Pooling;
import io.sparkbert.bert.TokenizerOptions;
import io.sparkbert.data.Example;
import io.sparkbert.data.SentimentCorpus;
import io.sparkbert.feature.BertEmbeddings;
import java.io.IOException;
import java.io.InputStream;
import java.nio.LongBuffer;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.Metadata;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * Inference benchmark (a program, not a test): sentence embeddings of the UCI sentences repeated to
 * {@code --rows} rows with the built-in MiniLM, mean pooling, {@code maxLength} 128, in one run:
 *
 * <ol>
 *   <li>{@code engine}: the bare engine in this JVM, no Spark, length bucketing ({@link
 *       DocumentScorer} over windows of {@code --window} rows), {@code --workers} threads (default:
 *       the cores) with one libtorch thread each, as Spark's tasks use the cores;
 *   <li>{@code spark}: {@link BertEmbeddings} on {@code local[2]} (two tasks, one libtorch thread
 *       each), length bucketing;
 *   <li>{@code spark-unsorted}: the same without sorting by length (each batch padded to its own
 *       longest row), on {@code --unsorted-rows} rows;
 *   <li>{@code spark-pad128}: every batch padded to 128 tokens, on {@code --padded-rows} rows;
 *   <li>{@code ort}: ONNX Runtime on the same ONNX file with the same tokenizer and bucketing, one
 *       session (one intra-op thread) shared by {@code --workers} threads.
 * </ol>
 *
 * Also reports the model load time (cold: first in the JVM; warm: again after the cache is cleared)
 * and the memory of one model copy (parameter bytes and the process RSS growth). Options: {@code
 * --model NAME} (a built-in: default, bge-small-en-v1.5, e5-small-v2; its own pooling in every leg,
 * ONNX Runtime on the same ONNX file), {@code --rows N --padded-rows N --batch N --max-tokens N
 * --window N --only a,b}. Not thread-safe; a command-line program. {@code --write-input FILE} only
 * writes the {@code --rows} rows as JSON lines (the input of the {@code embed} job that
 * scripts/bench-inference.sh times) and exits; {@code --ort-job-input IN --ort-job-output OUT} does
 * that job's work with ONNX Runtime ({@link #ortJob}) and exits.
 */
public final class InferenceBench {
    /** The built-in under test ({@code --model NAME}, default {@code default}). */
    private static BuiltInModel model = BuiltInModel.defaultModel();

    private InferenceBench() {}

    /** Runs the benchmark; see the class comment. */
    public static void main(String[] args) throws Exception {
        Map<String, String> opt = new HashMap<>();
        for (int i = 0; i + 1 < args.length; i += 2) {
            opt.put(args[i].replaceFirst("^--", ""), args[i + 1]);
        }
        String modelName = opt.getOrDefault("model", BuiltInModel.DEFAULT_ALIAS);
        model =
                BuiltInModel.find(modelName)
                        .orElseThrow(
                                () ->
                                        new IllegalArgumentException(
                                                "--model "
                                                        + modelName
                                                        + ": not a built-in; one of "
                                                        + BuiltInModel.names()));
        int rows = Integer.parseInt(opt.getOrDefault("rows", "30000"));
        int paddedRows = Integer.parseInt(opt.getOrDefault("padded-rows", "3000"));
        int unsortedRows = Integer.parseInt(opt.getOrDefault("unsorted-rows", "30000"));
        int batch = Integer.parseInt(opt.getOrDefault("batch", "32"));
        int maxTokens = Integer.parseInt(opt.getOrDefault("max-tokens", "0"));
        int window =
                Integer.parseInt(
                        opt.getOrDefault(
                                "window", String.valueOf(ScoringSpec.DEFAULT_WINDOW_SIZE)));
        int workers =
                Integer.parseInt(
                        opt.getOrDefault(
                                "workers",
                                String.valueOf(Runtime.getRuntime().availableProcessors())));
        List<String> only =
                Arrays.asList(
                        opt.getOrDefault("only", "engine,spark,spark-unsorted,spark-pad128,ort")
                                .split(","));
        // The ONNX Runtime job reads its own input: nothing else belongs in its wall clock.
        if (opt.containsKey("ort-job-input")) {
            ortJob(
                    Paths.get(opt.get("ort-job-input")),
                    Paths.get(opt.get("ort-job-output")),
                    batch,
                    maxTokens,
                    window,
                    workers);
            return;
        }
        List<String> corpus = new ArrayList<>();
        for (Example e : SentimentCorpus.load()) {
            corpus.add(e.text());
        }
        List<String> texts = repeat(corpus, rows);
        if (opt.containsKey("write-input")) {
            writeJsonLines(java.nio.file.Paths.get(opt.get("write-input")), texts);
            return;
        }
        Map<String, String> results = new LinkedHashMap<>();
        System.out.printf(
                Locale.ROOT,
                "model=%s (%d layers, %s pooling) rows=%d padded-rows=%d batch=%d max-tokens=%d"
                        + " window=%d workers=%d cores=%d%n",
                model.id(),
                model.layers(),
                model.pooling(),
                rows,
                paddedRows,
                batch,
                maxTokens,
                window,
                workers,
                Runtime.getRuntime().availableProcessors());

        // Model load time and memory of one copy.
        long rssBefore = rssBytes();
        ModelSource source = ModelSource.location(model.id());
        LoadedModel cold = ModelCache.get(source, "cpu");
        long rssAfter = rssBytes();
        results.put(
                "model load (cold, first in JVM, incl. engine start)",
                String.format(Locale.ROOT, "%.2f s", cold.loadNanos() / 1e9));
        results.put(
                "model copy: parameters",
                String.format(Locale.ROOT, "%.1f MB", cold.parameterBytes() / 1e6));
        results.put(
                "process RSS growth on first load (libtorch + tokenizer natives + model)",
                String.format(Locale.ROOT, "%.1f MB", (rssAfter - rssBefore) / 1e6));
        long rssSecondBefore = rssBytes();
        LoadedModel second = LoadedModel.load(source, "cpu"); // a second copy, first still loaded
        results.put(
                "model copy: process RSS growth for a second copy",
                String.format(Locale.ROOT, "%.1f MB", (rssBytes() - rssSecondBefore) / 1e6));
        second.close();
        ModelCache.clear();
        LoadedModel warm = ModelCache.get(source, "cpu");
        results.put(
                "model load (warm, cache cleared)",
                String.format(Locale.ROOT, "%.2f s", warm.loadNanos() / 1e9));

        ScoringSpec base =
                new ScoringSpec(source, ScoringSpec.Output.EMBEDDING)
                        .columns("bench", "text", null)
                        .device("cpu")
                        .pooling(model.pooling(), false)
                        .maxLength(128)
                        .batchSize(batch)
                        .maxTokens(maxTokens)
                        .windowSize(window);

        if (only.contains("engine")) {
            engine(base, texts.subList(0, Math.min(2000, texts.size())), window, workers);
            double rate = engine(base, texts, window, workers);
            results.put("engine (no Spark), bucketed", rate(rate, texts.size()));
        }
        if (only.contains("ort")) {
            double rate = ort(texts, batch, maxTokens, window, workers);
            results.put("ONNX Runtime, bucketed", rate(rate, texts.size()));
        }
        if (only.stream().anyMatch(s -> s.startsWith("spark"))) {
            SparkSession spark =
                    SparkSession.builder()
                            .master("local[2]")
                            .appName("inference-bench")
                            .config("spark.ui.enabled", "false")
                            .config("spark.driver.host", "127.0.0.1")
                            .config("spark.driver.bindAddress", "127.0.0.1")
                            .getOrCreate();
            spark.sparkContext().setLogLevel("WARN");
            try {
                Dataset<Row> df = frame(spark, texts, 2).cache();
                df.count();
                BertEmbeddings stage =
                        new BertEmbeddings()
                                .setModel(model.id())
                                .setInputCol("text")
                                .setMaxLength(128)
                                .setBatchSize(batch)
                                .setMaxTokens(maxTokens)
                                .setWindowSize(window);
                consume(stage.transform(frame(spark, texts.subList(0, 2000), 2))); // warm-up
                if (only.contains("spark")) {
                    long t0 = System.nanoTime();
                    consume(stage.transform(df));
                    results.put(
                            "Spark local[2] BertEmbeddings, bucketed",
                            rate(texts.size() / ((System.nanoTime() - t0) / 1e9), texts.size()));
                }
                if (only.contains("spark-unsorted")) {
                    List<String> sub = texts.subList(0, Math.min(unsortedRows, texts.size()));
                    Dataset<Row> part = frame(spark, sub, 2).cache();
                    part.count();
                    long t0 = System.nanoTime();
                    consume(scored(part, copy(base).bucketing(false, 0)));
                    results.put(
                            "Spark local[2], no bucketing (pad to batch longest)",
                            rate(sub.size() / ((System.nanoTime() - t0) / 1e9), sub.size()));
                }
                if (only.contains("spark-pad128")) {
                    List<String> sub = texts.subList(0, Math.min(paddedRows, texts.size()));
                    Dataset<Row> small = frame(spark, sub, 2).cache();
                    small.count();
                    long t0 = System.nanoTime();
                    consume(scored(small, copy(base).bucketing(false, 128)));
                    results.put(
                            "Spark local[2], fixed padding to 128",
                            rate(sub.size() / ((System.nanoTime() - t0) / 1e9), sub.size()));
                }
            } finally {
                spark.stop();
            }
        }
        System.out.println();
        System.out.println("| measurement | result |");
        System.out.println("| --- | --- |");
        results.forEach((k, v) -> System.out.println("| " + k + " | " + v + " |"));
    }

    private static ScoringSpec copy(ScoringSpec s) {
        return new ScoringSpec(s.source(), s.output())
                .columns(s.stage(), s.inputCol(), s.pairCol())
                .device(s.device())
                .pooling(s.pooling(), s.normalize())
                .maxLength(s.maxLength())
                .batchSize(s.batchSize())
                .maxTokens(s.maxTokens())
                .windowSize(s.windowSize());
    }

    private static String rate(double perSecond, int n) {
        return String.format(Locale.ROOT, "%.0f sentences/s (%d rows)", perSecond, n);
    }

    /**
     * The benchmark's rows as JSON lines {@code {"id": i, "text": ...}}, input of the embed job.
     */
    static void writeJsonLines(java.nio.file.Path file, List<String> texts)
            throws java.io.IOException {
        java.nio.file.Files.createDirectories(file.toAbsolutePath().getParent());
        com.google.gson.Gson gson = new com.google.gson.Gson();
        try (java.io.BufferedWriter w =
                java.nio.file.Files.newBufferedWriter(
                        file, java.nio.charset.StandardCharsets.UTF_8)) {
            for (int i = 0; i < texts.size(); i++) {
                com.google.gson.JsonObject o = new com.google.gson.JsonObject();
                o.addProperty("id", i);
                o.addProperty("text", texts.get(i));
                w.write(gson.toJson(o));
                w.write('\n');
            }
        }
    }

    static List<String> repeat(List<String> corpus, int rows) {
        List<String> out = new ArrayList<>(rows);
        for (int i = 0; i < rows; i++) {
            out.add(corpus.get(i % corpus.size()));
        }
        return out;
    }

    static Dataset<Row> frame(SparkSession spark, List<String> texts, int partitions) {
        List<Row> rows = new ArrayList<>(texts.size());
        for (int i = 0; i < texts.size(); i++) {
            rows.add(RowFactory.create(i, texts.get(i)));
        }
        StructType schema =
                new StructType().add("id", DataTypes.IntegerType).add("text", DataTypes.StringType);
        return spark.createDataFrame(rows, schema).repartition(partitions);
    }

    static Dataset<Row> scored(Dataset<Row> df, ScoringSpec spec) {
        StructField[] f = {
            new StructField("embedding", SQLDataTypes.VectorType(), true, Metadata.empty())
        };
        return PartitionScorer.transform(
                df,
                spec,
                f,
                s -> {
                    double[] d = new double[s.values().length];
                    for (int i = 0; i < d.length; i++) {
                        d[i] = s.values()[i];
                    }
                    return new Object[] {Vectors.dense(d)};
                });
    }

    /** Forces every row through the model (a sum over the first vector element). */
    static void consume(Dataset<Row> scored) {
        scored.select(
                        functions.sum(
                                org.apache
                                        .spark
                                        .ml
                                        .functions
                                        .vector_to_array(functions.col("embedding"), "float32")
                                        .getItem(0)))
                .collectAsList();
    }

    /**
     * Scores with {@code workers} threads, each with one libtorch intra-op thread, its own scope
     * and scorer, each over its own contiguous, equal share of the rows in windows (the way Spark
     * gives each of two tasks one input split).
     */
    static double engine(ScoringSpec spec, List<String> texts, int window, int workers)
            throws InterruptedException {
        LoadedModel loaded = ModelCache.get(spec.source(), "cpu");
        long t0 = System.nanoTime();
        List<Thread> threads = new ArrayList<>();
        List<Throwable> errors = java.util.Collections.synchronizedList(new ArrayList<>());
        for (int w = 0; w < workers; w++) {
            final int first = w;
            Thread t =
                    new Thread(
                            () -> {
                                JniUtils.setNumThreads(1);
                                try (ai.djl.ndarray.NDManager scope =
                                        ai.djl.ndarray.NDManager.newBaseManager(
                                                ai.djl.Device.cpu())) {
                                    DocumentScorer scorer = new DocumentScorer(spec, loaded, scope);
                                    int end = shareStart(texts.size(), workers, first + 1);
                                    for (int start = shareStart(texts.size(), workers, first);
                                            start < end;
                                            start += window) {
                                        List<String> part =
                                                texts.subList(start, Math.min(end, start + window));
                                        scorer.score(part.toArray(new String[0]), null);
                                    }
                                } catch (Throwable e) {
                                    errors.add(e);
                                }
                            });
            t.start();
            threads.add(t);
        }
        for (Thread t : threads) {
            t.join();
        }
        if (!errors.isEmpty()) {
            throw new IllegalStateException("engine worker failed", errors.get(0));
        }
        return texts.size() / ((System.nanoTime() - t0) / 1e9);
    }

    static double ort(List<String> texts, int batchSize, int maxTokens, int window, int workers)
            throws Exception {
        return ort(texts, batchSize, maxTokens, window, workers, true, null);
    }

    /**
     * The {@code embed} job's work done with ONNX Runtime and no Spark, for a like-for-like wall
     * clock (timed from the shell, JVM start included): read the JSON-lines {@code input} (field
     * {@code text}), embed every row as {@link #ort} does (no warm-up), and write the vectors to
     * {@code output} as raw float32 (cheaper than the job's Parquet, so this favours ONNX Runtime).
     */
    static void ortJob(
            java.nio.file.Path input,
            java.nio.file.Path output,
            int batchSize,
            int maxTokens,
            int window,
            int workers)
            throws Exception {
        com.google.gson.Gson gson = new com.google.gson.Gson();
        List<String> texts = new ArrayList<>();
        for (String line : Files.readAllLines(input)) {
            if (!line.isBlank()) {
                texts.add(
                        gson.fromJson(line, com.google.gson.JsonObject.class)
                                .get("text")
                                .getAsString());
            }
        }
        float[][] vectors = new float[texts.size()][];
        long t0 = System.nanoTime();
        ort(texts, batchSize, maxTokens, window, workers, false, vectors);
        long t1 = System.nanoTime();
        try (java.io.DataOutputStream out =
                new java.io.DataOutputStream(
                        new java.io.BufferedOutputStream(Files.newOutputStream(output), 1 << 20))) {
            for (float[] v : vectors) {
                for (float x : v) {
                    out.writeFloat(x);
                }
            }
        }
        System.out.printf(
                Locale.ROOT,
                "ort-job: %d rows, session + embedding %.1f s, write %.1f s%n",
                texts.size(),
                (t1 - t0) / 1e9,
                (System.nanoTime() - t1) / 1e9);
    }

    /**
     * ONNX Runtime over {@code texts}: one session with one intra-op thread, {@code workers}
     * threads, each over its own equal share of the rows in windows; the rate excludes the session
     * start and, with {@code warmUp}, a 1,000-row warm-up. Vectors go to {@code sink} (by row) when
     * it is not null.
     */
    private static double ort(
            List<String> texts,
            int batchSize,
            int maxTokens,
            int window,
            int workers,
            boolean warmUp,
            float[][] sink)
            throws Exception {
        byte[] onnx;
        try (InputStream in = InferenceBench.class.getResourceAsStream(model.onnxResource())) {
            onnx = in.readAllBytes();
        }
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession.SessionOptions so = new OrtSession.SessionOptions();
                HfTokenizer tok =
                        HfTokenizer.builtIn(
                                model, TokenizerOptions.defaults().withMaxLength(128))) {
            so.setIntraOpNumThreads(1);
            so.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            try (OrtSession session = env.createSession(onnx, so)) {
                if (warmUp) {
                    ortRun(env, session, tok, texts.subList(0, 1000), batchSize, maxTokens, window);
                }
                long t0 = System.nanoTime();
                List<Thread> threads = new ArrayList<>();
                List<Throwable> errors = java.util.Collections.synchronizedList(new ArrayList<>());
                for (int w = 0; w < workers; w++) {
                    final int first = w;
                    Thread t =
                            new Thread(
                                    () -> {
                                        try {
                                            int end = shareStart(texts.size(), workers, first + 1);
                                            for (int start =
                                                            shareStart(
                                                                    texts.size(), workers, first);
                                                    start < end;
                                                    start += window) {
                                                float[][] v =
                                                        ortRun(
                                                                env,
                                                                session,
                                                                tok,
                                                                texts.subList(
                                                                        start,
                                                                        Math.min(
                                                                                end,
                                                                                start + window)),
                                                                batchSize,
                                                                maxTokens,
                                                                window);
                                                if (sink != null) {
                                                    System.arraycopy(v, 0, sink, start, v.length);
                                                }
                                            }
                                        } catch (Throwable e) {
                                            errors.add(e);
                                        }
                                    });
                    t.start();
                    threads.add(t);
                }
                for (Thread t : threads) {
                    t.join();
                }
                if (!errors.isEmpty()) {
                    throw new IllegalStateException("ORT worker failed", errors.get(0));
                }
                return texts.size() / ((System.nanoTime() - t0) / 1e9);
            }
        }
    }

    /** The mean-pooled vectors of {@code texts} (in order), window by window. */
    private static float[][] ortRun(
            OrtEnvironment env,
            OrtSession session,
            HfTokenizer tok,
            List<String> texts,
            int batchSize,
            int maxTokens,
            int window)
            throws OrtException {
        float[][] all = new float[texts.size()][];
        for (int start = 0; start < texts.size(); start += window) {
            List<String> w = texts.subList(start, Math.min(texts.size(), start + window));
            Encoding[] enc = tok.encodeBatch(w);
            int[] lengths = new int[enc.length];
            for (int i = 0; i < enc.length; i++) {
                lengths[i] = enc[i].length();
            }
            float[][] out = new float[enc.length][];
            for (int[] b : BatchPlanner.plan(lengths, batchSize, maxTokens, true)) {
                int seq = 0;
                for (int i : b) {
                    seq = Math.max(seq, lengths[i]);
                }
                long[] ids = new long[b.length * seq];
                long[] mask = new long[b.length * seq];
                long[] types = new long[b.length * seq];
                for (int r = 0; r < b.length; r++) {
                    System.arraycopy(enc[b[r]].inputIds(), 0, ids, r * seq, lengths[b[r]]);
                    Arrays.fill(mask, r * seq, r * seq + lengths[b[r]], 1L);
                }
                long[] shape = {b.length, seq};
                Map<String, OnnxTensor> in = new HashMap<>();
                in.put("input_ids", OnnxTensor.createTensor(env, LongBuffer.wrap(ids), shape));
                in.put(
                        "attention_mask",
                        OnnxTensor.createTensor(env, LongBuffer.wrap(mask), shape));
                in.put(
                        "token_type_ids",
                        OnnxTensor.createTensor(env, LongBuffer.wrap(types), shape));
                try (OrtSession.Result res = session.run(in)) {
                    float[] h = ((OnnxTensor) res.get(0)).getFloatBuffer().array();
                    int dim = h.length / (b.length * seq);
                    for (int r = 0; r < b.length; r++) {
                        float[] v = new float[dim];
                        if (model.pooling() == Pooling.CLS) {
                            System.arraycopy(h, r * seq * dim, v, 0, dim);
                            out[b[r]] = v;
                            continue;
                        }
                        for (int t = 0; t < lengths[b[r]]; t++) {
                            for (int d = 0; d < dim; d++) {
                                v[d] += h[(r * seq + t) * dim + d];
                            }
                        }
                        for (int d = 0; d < dim; d++) {
                            v[d] /= lengths[b[r]];
                        }
                        out[b[r]] = v;
                    }
                } finally {
                    in.values().forEach(OnnxTensor::close);
                }
            }
            System.arraycopy(out, 0, all, start, out.length);
        }
        return all;
    }

    /**
     * Where worker {@code w} of {@code workers} starts in {@code n} rows: each worker gets a
     * contiguous share of n / workers rows (within one), as Spark gives each task a split of equal
     * size. Handing out windows in turn instead left the first worker 16,384 of 30,000 rows with
     * windows of 8,192, and one core idle for the last ~9% of the run.
     */
    static int shareStart(int n, int workers, int w) {
        return (int) ((long) n * w / workers);
    }

    static long rssBytes() {
        try {
            for (String line : Files.readAllLines(Paths.get("/proc/self/status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (IOException e) {
            return -1;
        }
        return -1;
    }
}
