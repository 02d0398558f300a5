package io.sparkbert.jobs;

import ai.djl.ndarray.NDManager;
import io.sparkbert.bert.BertModel;
import io.sparkbert.bert.ClassifierHead;
import io.sparkbert.bert.Devices;
import io.sparkbert.bert.HfTokenizer;
import io.sparkbert.bert.TokenizerOptions;
import io.sparkbert.bert.train.Trainer;
import io.sparkbert.bert.train.TrainingConfig;
import io.sparkbert.testing.Fixtures;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import java.util.stream.Stream;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.sql.SparkSession;

/**
 * Soak benchmark (not a test; run by {@code scripts/soak-score.sh}): scores many rows with {@link
 * ScoreJob} in {@code local[1]} (this JVM is the one executor), or trains for many steps with the
 * {@link Trainer}, while a background thread samples this process every few seconds: resident set
 * size ({@code /proc/self/status VmRSS}), live NDArrays of the whole engine (counted from the root
 * of the NDManager tree), open file descriptors ({@code /proc/self/fd}) and threads. Prints a
 * Markdown table of the samples; all of them must level off.
 *
 * <pre>
 * SoakBench score [--rows 200000] [--files 50] [--model DIR] [--interval 5] [--work DIR]
 * SoakBench train [--rounds 30] [--examples 256] [--interval 5]
 * </pre>
 *
 * Not thread-safe; one run per JVM.
 */
public final class SoakBench {
    private static final String[] WORDS = {
        "the", "food", "was", "great", "awful", "service", "slow", "friendly", "price", "value",
        "never", "again", "loved", "it", "cold", "fresh", "table", "waiter", "menu", "dessert",
        "naïve", "café", "über", "日本", "مرحبا", "😀", "x-ray", "COVID-19", "don't", "$12.50"
    };

    private final long t0 = System.nanoTime();
    private final List<String> table = new ArrayList<>();

    private SoakBench() {}

    public static void main(String[] args) throws Exception {
        if (args.length == 0) {
            throw new IllegalArgumentException("usage: SoakBench score|train [--key value]...");
        }
        String mode = args[0];
        java.util.Map<String, String> o = new java.util.HashMap<>();
        for (int i = 1; i + 1 < args.length; i += 2) {
            o.put(args[i].replaceFirst("^--", ""), args[i + 1]);
        }
        int interval = Integer.parseInt(o.getOrDefault("interval", "5"));
        SoakBench b = new SoakBench();
        switch (mode) {
            case "score" -> b.score(o, interval);
            case "train" -> b.train(o, interval);
            default -> throw new IllegalArgumentException("mode must be score or train: " + mode);
        }
        System.exit(0);
    }

    /** One sample row: seconds, progress, RSS MiB, live NDArrays, fds, threads. */
    private String sample(String progressName, long progress) {
        long rssKb = -1;
        long threads = -1;
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmRSS:")) {
                    rssKb = Long.parseLong(line.replaceAll("\\D", ""));
                } else if (line.startsWith("Threads:")) {
                    threads = Long.parseLong(line.replaceAll("\\D", ""));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        long fds;
        try (Stream<Path> s = Files.list(Path.of("/proc/self/fd"))) {
            fds = s.count();
        } catch (IOException e) {
            fds = -1;
        }
        String row =
                String.format(
                        Locale.ROOT,
                        "| %6.0f | %d | %7.1f | %6d | %4d | %4d |",
                        (System.nanoTime() - t0) / 1e9,
                        progress,
                        rssKb / 1024.0,
                        liveArrays(),
                        fds,
                        threads);
        synchronized (table) {
            table.add(row);
        }
        System.out.println(row);
        return row;
    }

    /** Live NDArrays of every manager of the engine: counted from the root of the tree. */
    static long liveArrays() {
        try (NDManager probe = NDManager.newBaseManager()) {
            NDManager root = probe;
            while (root.getParentManager() != null) {
                root = root.getParentManager();
            }
            return root.getManagedArrays().size();
        } catch (RuntimeException concurrentChange) {
            return -1;
        }
    }

    private ScheduledExecutorService sampler(String name, LongSupplier progress, int interval) {
        System.out.println("| seconds | " + name + " | RSS MiB | NDArrays | fds | threads |");
        System.out.println("|---:|---:|---:|---:|---:|---:|");
        ScheduledExecutorService s =
                Executors.newSingleThreadScheduledExecutor(
                        r -> {
                            Thread t = new Thread(r, "soak-sampler");
                            t.setDaemon(true);
                            return t;
                        });
        s.scheduleAtFixedRate(
                () -> sample(name, progress.getAsLong()), 0, interval, TimeUnit.SECONDS);
        return s;
    }

    private static String text(Random rnd) {
        int n = 1 + (rnd.nextDouble() < 0.1 ? rnd.nextInt(400) : rnd.nextInt(40));
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < n; i++) {
            b.append(WORDS[rnd.nextInt(WORDS.length)]).append(' ');
        }
        return b.toString().strip();
    }

    private void score(java.util.Map<String, String> o, int interval) throws IOException {
        int rows = Integer.parseInt(o.getOrDefault("rows", "200000"));
        int files = Integer.parseInt(o.getOrDefault("files", "50"));
        Path work = Path.of(o.getOrDefault("work", "target/soak"));
        Path model = Path.of(o.getOrDefault("model", Fixtures.tinyBert().toString()));
        Path in = work.resolve("input");
        if (!Files.isDirectory(in)) {
            Files.createDirectories(in);
            Random rnd = new Random(42);
            int per = (rows + files - 1) / files;
            for (int f = 0, id = 0; f < files; f++) {
                StringBuilder b = new StringBuilder();
                for (int i = 0; i < per && id < rows; i++, id++) {
                    b.append("{\"id\":")
                            .append(id)
                            .append(",\"text\":\"")
                            .append(text(rnd).replace("\"", "\\\""))
                            .append("\"}\n");
                }
                Files.writeString(
                        in.resolve(String.format("part-%03d.jsonl", f)), b, StandardCharsets.UTF_8);
            }
        }
        SparkSession spark =
                SparkSession.builder()
                        .master("local[1]")
                        .appName("soak-score")
                        .config("spark.ui.enabled", "false")
                        // one partition per input file: many tasks, each a scoring lifecycle
                        .config("spark.sql.files.maxPartitionBytes", "1m")
                        .config("spark.sql.files.openCostInBytes", "8m")
                        .getOrCreate();
        AtomicLong written = new AtomicLong();
        spark.sparkContext()
                .addSparkListener(
                        new SparkListener() {
                            @Override
                            public void onTaskEnd(SparkListenerTaskEnd end) {
                                if (end.taskMetrics() != null) {
                                    written.addAndGet(
                                            end.taskMetrics().outputMetrics().recordsWritten());
                                }
                            }
                        });
        Path out = work.resolve("scores");
        ScheduledExecutorService s = sampler("rows written", written::get, interval);
        long start = System.nanoTime();
        ScoreJob job = new ScoreJob(new BertBackend());
        JobResult r =
                job.run(
                        spark,
                        job.parse(
                                "--model", model.toString(),
                                "--input", in.toString(),
                                "--output", out.toString(),
                                "--max-length", o.getOrDefault("max-length", "128"),
                                "--batch-size", o.getOrDefault("batch-size", "64")));
        double secs = (System.nanoTime() - start) / 1e9;
        s.shutdownNow();
        sample("rows written", written.get());
        System.out.printf(
                Locale.ROOT,
                "%n%s%nscored %d rows in %.0f s (%.0f rows/s) with %s%n",
                r.summaryLine(),
                r.rows(),
                secs,
                r.rows() / secs,
                model);
        spark.stop();
    }

    private void train(java.util.Map<String, String> o, int interval) {
        int rounds = Integer.parseInt(o.getOrDefault("rounds", "30"));
        int n = Integer.parseInt(o.getOrDefault("examples", "256"));
        Random rnd = new Random(7);
        List<String> texts = new ArrayList<>();
        int[] labels = new int[n];
        for (int i = 0; i < n; i++) {
            texts.add(text(rnd));
            labels[i] = texts.get(i).contains("great") ? 1 : 0;
        }
        TrainingConfig cfg =
                TrainingConfig.builder()
                        .epochs(1)
                        .batchSize(8)
                        .learningRate(1e-4)
                        .maxLength(64)
                        .seed(1)
                        .logEverySteps(0)
                        .build();
        AtomicLong steps = new AtomicLong();
        ScheduledExecutorService s = sampler("steps", steps::get, interval);
        try (HfTokenizer tok =
                        HfTokenizer.fromDirectory(
                                Fixtures.tinyBert(), TokenizerOptions.defaults());
                BertModel model = BertModel.load(Fixtures.tinyBert(), Devices.resolve("cpu"))) {
            Trainer t = new Trainer(cfg);
            Trainer.Examples ex = t.encode(tok, texts, null, labels);
            long start = System.nanoTime();
            for (int round = 0; round < rounds; round++) {
                var summary = t.train(model, ClassifierHead.POOLER, ex, null);
                steps.addAndGet(summary.steps().size());
            }
            double secs = (System.nanoTime() - start) / 1e9;
            s.shutdownNow();
            sample("steps", steps.get());
            System.out.printf(
                    Locale.ROOT,
                    "%ntrained %d steps in %.0f s (%.1f steps/s), tiny checkpoint, batch 8%n",
                    steps.get(),
                    secs,
                    steps.get() / secs);
        }
    }
}
