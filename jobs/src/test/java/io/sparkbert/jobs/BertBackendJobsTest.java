package io.sparkbert.jobs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sparkbert.bert.BertModel;
import io.sparkbert.testing.Fixtures;
import io.sparkbert.testing.SparkTestSession;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The jobs over the real BERT stages, on the tiny reference checkpoint. */
class BertBackendJobsTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final SparkSession spark = SparkTestSession.get();
    private final BertBackend backend = new BertBackend();

    @TempDir Path tmp;

    private static JsonNode golden() throws IOException {
        return JSON.readTree(Fixtures.tinyBert().resolve("golden.json").toFile()).get("eval");
    }

    /**
     * Train-job arguments for one epoch of the tiny checkpoint on {@code input} into {@code
     * output}: batches of {@code batchSize}, 32 tokens, then {@code more}.
     */
    private static String[] tinyOneEpoch(Path input, Path output, int batchSize, String... more) {
        List<String> args =
                new ArrayList<>(
                        List.of(
                                "--input",
                                input.toString(),
                                "--output",
                                output.toString(),
                                "--model",
                                Fixtures.tinyBert().toString(),
                                "--epochs",
                                "1",
                                "--batch-size",
                                Integer.toString(batchSize),
                                "--max-length",
                                "32"));
        args.addAll(List.of(more));
        return args.toArray(new String[0]);
    }

    /** A train run on {@code train} with {@code flag value} is refused, naming the flag. */
    private void assertFlagRefused(TrainJob t, Path train, String flag, String value) {
        IllegalArgumentException e =
                JobFixtures.refused(
                        spark,
                        t,
                        "--input",
                        train.toString(),
                        "--output",
                        tmp.resolve("refused").toString(),
                        flag,
                        value);
        assertTrue(e.getMessage().contains(flag), e.getMessage());
    }

    @Test
    void scoringAHfCheckpointReproducesTheReferenceProbabilities() throws IOException {
        JsonNode eval = golden();
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < eval.get("texts").size(); i++) {
            ObjectNodeLine l = new ObjectNodeLine(i, eval.get("texts").get(i).asText());
            lines.add(l.json());
        }
        Path in = JobFixtures.write(tmp.resolve("eval.jsonl"), lines);
        Path out = tmp.resolve("scores");
        ScoreJob job = new ScoreJob(backend);
        JobResult r =
                job.run(
                        spark,
                        job.parse(
                                "--model",
                                Fixtures.tinyBert().toString(),
                                "--input",
                                in.toString(),
                                "--output",
                                out.toString(),
                                "--format",
                                "json",
                                "--batch-size",
                                "2"));
        assertEquals(5, r.rows());
        List<Row> rows = spark.read().json(out.toString()).orderBy("id").collectAsList();
        for (Row row : rows) {
            int i = (int) row.getLong(row.fieldIndex("id"));
            List<Double> p = row.getList(row.fieldIndex("probability"));
            List<Double> logits = row.getList(row.fieldIndex("rawPrediction"));
            for (int c = 0; c < 2; c++) {
                assertEquals(eval.get("probs").get(i).get(c).asDouble(), p.get(c), 1e-4);
                assertEquals(eval.get("logits").get(i).get(c).asDouble(), logits.get(c), 1e-4);
            }
            // no id2label in the tiny config: HF's default names
            assertEquals("LABEL_1", row.getString(row.fieldIndex("predictedLabel")));
        }
        // overflow=window: texts that fit one window score exactly as with truncate.
        Path windowed = tmp.resolve("w");
        job.run(
                spark,
                job.parse(
                        "--model",
                        Fixtures.tinyBert().toString(),
                        "--input",
                        in.toString(),
                        "--output",
                        windowed.toString(),
                        "--format",
                        "json",
                        "--overflow",
                        "window"));
        List<Row> wrows = spark.read().json(windowed.toString()).orderBy("id").collectAsList();
        assertEquals(rows.size(), wrows.size());
        for (Row row : wrows) {
            int i = (int) row.getLong(row.fieldIndex("id"));
            List<Double> p = row.getList(row.fieldIndex("probability"));
            for (int c = 0; c < 2; c++) {
                assertEquals(eval.get("probs").get(i).get(c).asDouble(), p.get(c), 1e-4);
            }
        }
    }

    /**
     * --freeze-word-embeddings reaches the trainer (the saved table is the checkpoint's, other
     * weights moved).
     */
    @Test
    void trainFrozenEmbeddingsReachTheTrainer() throws IOException {
        Path train = JobFixtures.write(tmp.resolve("frozen.jsonl"), JobFixtures.lines(0, 24, true));
        Path model = tmp.resolve("frozen-model");
        TrainJob t = new TrainJob(backend);
        t.run(spark, t.parse(tinyOneEpoch(train, model, 8, "--freeze-word-embeddings", "true")));
        try (BertModel before = BertModel.load(Fixtures.tinyBert(), Device.cpu());
                BertModel after = BertModel.load(model.resolve("hf"), Device.cpu())) {
            String table = "embeddings.word_embeddings.weight";
            assertArrayEquals(
                    before.parameters().get(table).toFloatArray(),
                    after.parameters().get(table).toFloatArray());
            String query = "encoder.layer.0.attention.self.query.weight";
            assertFalse(
                    Arrays.equals(
                            before.parameters().get(query).toFloatArray(),
                            after.parameters().get(query).toFloatArray()),
                    "the encoder trained");
        }
        JsonNode metrics = JSON.readTree(model.resolve("metrics.json").toFile());
        JsonNode steps = metrics.get("steps");
        assertEquals(3, steps.size(), "24 rows / batch 8");
        for (int i = 0; i < 3; i++) {
            assertEquals(i + 1, steps.get(i).get("step").asInt());
        }
        assertEquals(1, metrics.get("epochs").size());
    }

    /** --label-smoothing reaches the loss; a value outside [0, 0.9] is refused naming the flag. */
    @Test
    void trainLabelSmoothingReachesTheLoss() throws IOException {
        Path train = JobFixtures.write(tmp.resolve("ls.jsonl"), JobFixtures.lines(0, 16, true));
        TrainJob t = new TrainJob(backend);
        double[] firstLoss = new double[2];
        String[] eps = {"0", "0.5"};
        for (int i = 0; i < 2; i++) {
            Path model = tmp.resolve("ls-model-" + i);
            t.run(spark, t.parse(tinyOneEpoch(train, model, 16, "--label-smoothing", eps[i])));
            JsonNode metrics = JSON.readTree(model.resolve("metrics.json").toFile());
            firstLoss[i] = metrics.get("steps").get(0).get("loss").asDouble();
        }
        // Same seed, same first batch and logits: smoothing changes the first loss only by
        // eps * (mean over classes of -log p - NLL), which is not 0 for a trained checkpoint head.
        assertTrue(Math.abs(firstLoss[0] - firstLoss[1]) > 1e-4, Arrays.toString(firstLoss));
        assertFlagRefused(t, train, "--label-smoothing", "1");
    }

    /**
     * A headless checkpoint gets a new head, which the probe fits first unless {@code
     * --linear-probe false}; metrics.json reports the probe. A checkpoint's own head is not probed.
     */
    @Test
    void trainLinearProbeFitsANewHeadAndIsReported() throws IOException {
        Path headless = tmp.resolve("headless");
        try (BertModel m = BertModel.load(Fixtures.tinyBert(), Device.cpu());
                BertModel h = BertModel.initialize(m.config(), true, false, 3, Device.cpu())) {
            h.save(headless);
        }
        for (String f : List.of("vocab.txt", "tokenizer_config.json")) {
            Files.copy(Fixtures.tinyBert().resolve(f), headless.resolve(f));
        }
        // Class names: the headless checkpoint's config.json says LABEL_0/LABEL_1 (as HF configs do
        // without a head), which must not constrain the labels of a new head.
        Path train = JobFixtures.write(tmp.resolve("lp.jsonl"), JobFixtures.lines(0, 16, true));
        TrainJob t = new TrainJob(backend);
        JsonNode[] metrics = new JsonNode[3];
        String[][] runs = {
            {"--model", headless.toString(), "--linear-probe-l2", "0.01"},
            {"--model", headless.toString(), "--linear-probe", "false"},
            {"--linear-probe", "true"}
        };
        for (int i = 0; i < runs.length; i++) {
            Path model = tmp.resolve("lp-model-" + i);
            t.run(spark, t.parse(tinyOneEpoch(train, model, 16, runs[i])));
            metrics[i] = JSON.readTree(model.resolve("metrics.json").toFile());
        }
        JsonNode probe = metrics[0].get("linear_probe");
        assertEquals(16, probe.get("examples").asInt());
        assertEquals(0.01, probe.get("l2").asDouble());
        assertTrue(probe.get("accuracy").asDouble() >= 0.5, probe.toString());
        assertTrue(probe.get("grad_norm").asDouble() <= 1e-4, probe.toString());
        assertFalse(metrics[1].has("linear_probe"), metrics[1].toString());
        assertFalse(metrics[2].has("linear_probe"), "tinybert has a trained head");
        assertFlagRefused(t, train, "--linear-probe-l2", "0");
    }

    @Test
    void trainWritesPipelineHfWeightsAndStepMetricsThenScores() throws IOException {
        Path train = JobFixtures.write(tmp.resolve("train.jsonl"), JobFixtures.lines(0, 24, true));
        Path model = tmp.resolve("model");
        TrainJob t = new TrainJob(backend);
        JobResult r =
                t.run(spark, t.parse(tinyOneEpoch(train, model, 8, "--learning-rate", "1e-3")));
        assertEquals(24, r.rows());
        for (String f : List.of("config.json", "model.safetensors", "tokenizer.json")) {
            assertTrue(Files.isRegularFile(model.resolve("hf").resolve(f)), f);
        }
        JsonNode config = JSON.readTree(model.resolve("hf/config.json").toFile());
        // the tiny checkpoint has a head without explicit names: string labels index sorted
        JsonNode meta = JSON.readTree(model.resolve(ModelDir.META).toFile());
        assertEquals("[\"neg\",\"pos\"]", meta.get("id2label").toString());
        assertEquals(2, config.get("id2label").size());
        JsonNode metrics = JSON.readTree(model.resolve("metrics.json").toFile());
        JsonNode steps = metrics.get("steps");
        assertEquals(3, steps.size(), "24 rows / batch 8");
        for (int i = 0; i < 3; i++) {
            assertEquals(i + 1, steps.get(i).get("step").asInt());
            assertTrue(steps.get(i).get("loss").asDouble() > 0);
            assertTrue(steps.get(i).get("lr").asDouble() >= 0);
        }
        // one warm-up step (10% of 3, rounded up) starting at 0, then linear decay from the peak
        assertEquals(0.0, steps.get(0).get("lr").asDouble(), steps.toString());
        assertEquals(1e-3, steps.get(1).get("lr").asDouble(), 1e-12, steps.toString());
        assertTrue(steps.get(2).get("lr").asDouble() < 1e-3, steps.toString());
        assertEquals(1, metrics.get("epochs").size());

        // the saved dir scores, and its hf/ dir scores the same as a plain checkpoint
        Path corpus =
                JobFixtures.write(tmp.resolve("corpus.jsonl"), JobFixtures.unlabelled(100, 6));
        ScoreJob s = new ScoreJob(backend);
        s.run(
                spark,
                s.parse(
                        "--model",
                        model.toString(),
                        "--input",
                        corpus.toString(),
                        "--output",
                        tmp.resolve("a").toString()));
        s.run(
                spark,
                s.parse(
                        "--model",
                        model.resolve("hf").toString(),
                        "--input",
                        corpus.toString(),
                        "--output",
                        tmp.resolve("b").toString()));
        List<Row> a =
                spark.read()
                        .parquet(tmp.resolve("a").toString())
                        .orderBy("id")
                        .select("id", "prediction", "probability")
                        .collectAsList();
        List<Row> b =
                spark.read()
                        .parquet(tmp.resolve("b").toString())
                        .orderBy("id")
                        .select("id", "prediction", "probability")
                        .collectAsList();
        assertEquals(6, a.size());
        for (int i = 0; i < a.size(); i++) {
            assertEquals(a.get(i).getDouble(1), b.get(i).getDouble(1));
            List<Double> pa = a.get(i).getList(2);
            List<Double> pb = b.get(i).getList(2);
            assertEquals(pa.get(1), pb.get(1), 1e-6);
        }
    }

    /**
     * The class names training had are the ones the saved HF config carries, so the score job,
     * SQL's bert_classify and HF from_pretrained (which reads config.json) name classes alike. The
     * tiny checkpoint has a head but no id2label of its own (HF's LABEL_0/LABEL_1 by default).
     */
    @Test
    void trainWithStringLabelsSavesTheirNamesInTheHfConfigForScoreAndSql() throws IOException {
        Path train = JobFixtures.write(tmp.resolve("pn.jsonl"), JobFixtures.lines(0, 16, true));
        Path model = tmp.resolve("pn-model");
        TrainJob t = new TrainJob(backend);
        t.run(spark, t.parse(tinyOneEpoch(train, model, 8)));
        JsonNode config = JSON.readTree(model.resolve("hf/config.json").toFile());
        assertEquals("{\"0\":\"neg\",\"1\":\"pos\"}", config.get("id2label").toString());
        assertEquals("{\"neg\":0,\"pos\":1}", config.get("label2id").toString());
        JsonNode meta = JSON.readTree(model.resolve(ModelDir.META).toFile());
        assertEquals("[\"neg\",\"pos\"]", meta.get("id2label").toString());

        Path corpus =
                JobFixtures.write(tmp.resolve("pn-corpus.jsonl"), JobFixtures.unlabelled(50, 8));
        Path scores = tmp.resolve("pn-scores");
        ScoreJob s = new ScoreJob(backend);
        s.run(
                spark,
                s.parse(
                        "--model", model.toString(),
                        "--input", corpus.toString(),
                        "--output", scores.toString()));
        List<Row> byScore =
                spark.read()
                        .parquet(scores.toString())
                        .orderBy("id")
                        .select("id", "predictedLabel")
                        .collectAsList();

        io.sparkbert.udfs.SparkBertFunctions.register(spark, "pn", model.toString());
        spark.read().json(corpus.toString()).createOrReplaceTempView("pn_corpus");
        List<Row> bySql =
                spark.sql(
                                "SELECT id, bert_classify(text).predictedLabel AS predictedLabel"
                                        + " FROM pn_corpus"
                                        + " ORDER BY id")
                        .collectAsList();
        assertEquals(8, byScore.size());
        assertEquals(byScore, bySql);
        for (Row r : bySql) {
            assertTrue(List.of("neg", "pos").contains(r.getString(1)), r.toString());
        }
    }

    /** An error of the classifier stage names the user's flag and column, not the job's own. */
    @Test
    void trainErrorsNameTheUsersFlagAndColumn() throws IOException {
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            lines.add(
                    JSON.createObjectNode()
                            .put("review", "text number " + i)
                            .put("stars", i % 3)
                            .toString());
        }
        Path train = JobFixtures.write(tmp.resolve("three.jsonl"), lines);
        TrainJob t = new TrainJob(backend);
        IllegalArgumentException e =
                JobFixtures.refused(
                        spark,
                        t,
                        "--input",
                        train.toString(),
                        "--output",
                        tmp.resolve("m3").toString(),
                        "--model",
                        Fixtures.tinyBert().toString(),
                        "--text-col",
                        "review",
                        "--label-col",
                        "stars",
                        "--epochs",
                        "1");
        assertEquals(
                "--label-col 'stars' has label 2 but the checkpoint's classification head has 2"
                        + " classes (0..1); use a checkpoint without a head or with enough labels.",
                e.getMessage());
    }

    /** One JSON line with an integer id and a text. */
    /**
     * HF's constant schedule: the train job with {@code --lr-scheduler constant --warmup-ratio 0}
     * and the reference fine-tuning's other settings (torch AdamW on every parameter, no clipping,
     * no shuffling, the checkpoint's own head) logs the reference's per-step losses.
     */
    @Test
    void trainWithAConstantScheduleReproducesTheReferenceLosses() throws IOException {
        JsonNode ft =
                JSON.readTree(Fixtures.tinyBert().resolve("golden.json").toFile()).get("finetune");
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < ft.get("texts").size(); i++) {
            lines.add(
                    JSON.createObjectNode()
                            .put("text", ft.get("texts").get(i).asText())
                            .put("label", ft.get("labels").get(i).asInt())
                            .toString());
        }
        Path train = JobFixtures.write(tmp.resolve("reference.jsonl"), lines);
        Path model = tmp.resolve("reference-model");
        TrainJob t = new TrainJob(backend);
        t.run(
                spark,
                t.parse(
                        "--input", train.toString(),
                        "--output", model.toString(),
                        "--model", Fixtures.tinyBert().toString(),
                        "--epochs", ft.get("epochs").asText(),
                        "--batch-size", ft.get("batch_size").asText(),
                        "--learning-rate", ft.get("lr").asText(),
                        "--weight-decay", ft.get("weight_decay").asText(),
                        "--decay-bias-and-norm", "true",
                        "--lr-scheduler", "constant",
                        "--warmup-ratio", "0",
                        "--max-grad-norm", "0",
                        "--shuffle", "false"));
        JsonNode steps = JSON.readTree(model.resolve("metrics.json").toFile()).get("steps");
        JsonNode expected = ft.get("loss_per_step");
        assertEquals(expected.size(), steps.size(), "number of steps");
        for (int i = 0; i < steps.size(); i++) {
            assertEquals(
                    expected.get(i).asDouble(),
                    steps.get(i).get("loss").asDouble(),
                    1e-4,
                    "loss at step " + (i + 1));
            assertEquals(ft.get("lr").asDouble(), steps.get(i).get("lr").asDouble(), 1e-12);
        }
    }

    /**
     * {@code --lr-scheduler cosine}: each step's logged rate is HF's cosine schedule in closed
     * form, {@code lr * s / W} during the warm-up of W steps, then {@code lr * (1 + cos(pi * (s -
     * W) / (T - W))) / 2} with s the steps taken before it; an unknown schedule is refused naming
     * the flag.
     */
    @Test
    void trainWithACosineScheduleLogsTheClosedFormRate() throws IOException {
        Path train = JobFixtures.write(tmp.resolve("cos.jsonl"), JobFixtures.lines(0, 20, true));
        Path model = tmp.resolve("cos-model");
        TrainJob t = new TrainJob(backend);
        double lr = 1e-3;
        t.run(
                spark,
                t.parse(
                        tinyOneEpoch(
                                train,
                                model,
                                2,
                                "--epochs",
                                "2",
                                "--learning-rate",
                                Double.toString(lr),
                                "--warmup-ratio",
                                "0.2",
                                "--lr-scheduler",
                                "cosine")));
        JsonNode steps = JSON.readTree(model.resolve("metrics.json").toFile()).get("steps");
        int total = 20;
        int warmup = 4; // ceil(0.2 * 20)
        assertEquals(total, steps.size());
        for (int i = 0; i < total; i++) {
            double expected =
                    i < warmup
                            ? lr * i / warmup
                            : lr
                                    * 0.5
                                    * (1
                                            + Math.cos(
                                                    Math.PI
                                                            * (i - warmup)
                                                            / (double) (total - warmup)));
            assertEquals(expected, steps.get(i).get("lr").asDouble(), 1e-15, "lr at step " + i);
        }
        assertFlagRefused(t, train, "--lr-scheduler", "exponential");
    }

    private record ObjectNodeLine(int id, String text) {
        String json() throws IOException {
            return JSON.createObjectNode().put("id", id).put("text", text).toString();
        }
    }
}
