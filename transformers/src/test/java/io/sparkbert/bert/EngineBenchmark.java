package io.sparkbert.bert;

import ai.djl.Device;
import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import io.sparkbert.testing.BertArrays;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Throughput of the built-in model on CPU, one JVM, no Spark: batches of 64 short sentences, mean
 * pooling + L2 normalisation. Not a test (never gates the build); run with {@code java -cp <test
 * classpath> -Dai.djl.offline=true io.sparkbert.bert.EngineBenchmark [batches] [batchSize]} and
 * optionally {@code -Dai.djl.pytorch.num_threads=N}.
 */
public final class EngineBenchmark {
    private EngineBenchmark() {}

    static final String[] WORDS = {
        "the",
        "movie",
        "was",
        "great",
        "terrible",
        "food",
        "service",
        "I",
        "really",
        "liked",
        "hated",
        "this",
        "phone",
        "battery",
        "lasts",
        "long",
        "screen",
        "is",
        "too",
        "small",
        "would",
        "recommend",
        "never",
        "again",
        "quality",
        "price",
        "good",
        "bad",
        "excellent",
        "poor",
        "experience",
        "staff",
        "friendly",
        "slow",
        "fast",
        "delivery",
        "works",
        "fine"
    };

    /** Short review-like sentences of 5 to 14 words (about 7 to 16 tokens). */
    static List<String> sentences(int n) {
        List<String> out = new ArrayList<>();
        long state = 12345;
        for (int i = 0; i < n; i++) {
            state = state * 6364136223846793005L + 1442695040888963407L;
            int len = 5 + (int) ((state >>> 33) % 10);
            StringBuilder sb = new StringBuilder();
            for (int w = 0; w < len; w++) {
                state = state * 6364136223846793005L + 1442695040888963407L;
                sb.append(w == 0 ? "" : " ").append(WORDS[(int) ((state >>> 33) % WORDS.length)]);
            }
            out.add(sb.append('.').toString());
        }
        return out;
    }

    static long rssKb() throws java.io.IOException {
        for (String line :
                java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        return -1;
    }

    public static void main(String[] args) throws Exception {
        int batches = args.length > 0 ? Integer.parseInt(args[0]) : 30;
        int batchSize = args.length > 1 ? Integer.parseInt(args[1]) : 64;
        long e0 = System.nanoTime();
        ai.djl.engine.Engine.getInstance();
        long engineMs = (System.nanoTime() - e0) / 1_000_000;
        long rss0 = rssKb();
        long t0 = System.nanoTime();
        BertModel model = BertModel.builtIn(Device.cpu());
        long loadMs = (System.nanoTime() - t0) / 1_000_000;
        long t1 = System.nanoTime();
        BertModel second = BertModel.builtIn(Device.cpu());
        long secondMs = (System.nanoTime() - t1) / 1_000_000;
        long rss1 = rssKb();
        BertModel third = BertModel.builtIn(Device.cpu());
        long rss2 = rssKb();
        System.out.printf(
                "engine init %d ms; RSS +%d MB after first model (incl. cached Java copy),"
                        + " +%d MB per further model copy%n",
                engineMs, (rss1 - rss0 - (rss2 - rss1)) / 1024, (rss2 - rss1) / 1024);
        third.close();
        second.close();
        HuggingFaceTokenizer tok;
        try (InputStream in = BertModel.class.getResourceAsStream(OnnxWeights.BUILT_IN_TOKENIZER)) {
            tok = HuggingFaceTokenizer.newInstance(in, Map.of("padding", "false"));
        }
        List<long[][][]> data = new ArrayList<>();
        List<String> texts = sentences(batches * batchSize);
        long realTokens = 0;
        long paddedTokens = 0;
        for (int b = 0; b < batches; b++) {
            List<Encoding> enc = new ArrayList<>();
            for (String s : texts.subList(b * batchSize, (b + 1) * batchSize)) {
                enc.add(tok.encode(s));
            }
            long[][][] padded = BuiltInOnnxParityTest.batch(enc);
            for (long[] m : padded[2]) {
                for (long v : m) {
                    realTokens += v;
                    paddedTokens++;
                }
            }
            data.add(padded);
        }
        for (int i = 0; i < 3; i++) {
            long[][][] d = data.get(i % data.size());
            BertArrays.embed(model, d[0], d[1], d[2], Pooling.MEAN, true);
        }
        com.sun.management.OperatingSystemMXBean os =
                (com.sun.management.OperatingSystemMXBean)
                        java.lang.management.ManagementFactory.getOperatingSystemMXBean();
        long cpuStart = os.getProcessCpuTime();
        long start = System.nanoTime();
        for (long[][][] d : data) {
            BertArrays.embed(model, d[0], d[1], d[2], Pooling.MEAN, true);
        }
        double secs = (System.nanoTime() - start) / 1e9;
        double cpuMs = (os.getProcessCpuTime() - cpuStart) / 1e6 / batches;
        System.out.printf(
                "threads=%s batches=%d x %d, avg padded len %.1f (real %.1f): %.0f sentences/s"
                        + " (%.1f ms/batch, %.1f CPU ms/batch); first builtIn %d ms, second %d"
                        + " ms%n",
                System.getProperty("ai.djl.pytorch.num_threads", "default"),
                batches,
                batchSize,
                paddedTokens / (double) (batches * batchSize),
                realTokens / (double) (batches * batchSize),
                batches * batchSize / secs,
                secs * 1000 / batches,
                cpuMs,
                loadMs,
                secondMs);
        model.close();
        tok.close();
    }
}
