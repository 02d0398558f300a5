package io.sparkbert.bert.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import io.sparkbert.bert.BertConfig;
import io.sparkbert.bert.BertModel;
import io.sparkbert.bert.ClassifierHead;
import io.sparkbert.bert.HfTokenizer;
import io.sparkbert.bert.TokenizerOptions;
import io.sparkbert.testing.BertArrays;
import io.sparkbert.testing.Fixtures;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Behaviour of the trainer on the tiny random BERT: determinism, memory, guards, stopping. */
class TrainerTest {
    static final List<String> TEXTS =
            List.of(
                    "This movie is fantastic!",
                    "Terrible film, waste of time.",
                    "Amazing plot and great acting.",
                    "Boring and predictable.",
                    "I loved every minute of it.",
                    "The worst thing I have seen this year.",
                    "A delightful surprise.",
                    "Dull, slow and far too long.");
    static final int[] LABELS = {1, 0, 1, 0, 1, 0, 1, 0};

    static HfTokenizer tokenizer;

    @BeforeAll
    static void setUp() {
        tokenizer = HfTokenizer.fromDirectory(Fixtures.tinyBert(), TokenizerOptions.defaults());
    }

    @AfterAll
    static void tearDown() {
        tokenizer.close();
    }

    /** {@code texts} encoded by {@code t} with a tokenizer of tinybert opened for the call. */
    static Trainer.Examples encodeTiny(Trainer t, List<String> texts, int[] labels) {
        try (HfTokenizer tok =
                HfTokenizer.fromDirectory(Fixtures.tinyBert(), TokenizerOptions.defaults())) {
            return t.encode(tok, texts, null, labels);
        }
    }

    /** tinybert with dropout 0.1 switched on, so that the seed matters for every step. */
    static BertModel tinyWithDropout() {
        try (BertModel base = BertModel.load(Fixtures.tinyBert(), Device.cpu())) {
            BertConfig cfg =
                    base.config()
                            .with("hidden_dropout_prob", 0.1)
                            .with("attention_probs_dropout_prob", 0.1);
            return BertModel.fromBytes(cfg, base.toSafetensorsBytes(), Device.cpu());
        }
    }

    /**
     * Two short epochs of tinybert's own trained head, which is trained as it is (no linear probe,
     * as BertClassifier does for a checkpoint's head): these tests are about the steps.
     */
    static TrainingConfig.Builder small() {
        return TrainingConfig.builder()
                .linearProbe(false)
                .epochs(2)
                .batchSize(3)
                .learningRate(1e-3)
                .warmupRatio(0.2)
                .logEverySteps(0);
    }

    static Map<String, float[]> weights(BertModel m) {
        Map<String, float[]> out = new LinkedHashMap<>();
        m.parameters().forEach((k, v) -> out.put(k, v.toFloatArray()));
        return out;
    }

    static void assertSameWeights(Map<String, float[]> a, Map<String, float[]> b) {
        assertEquals(a.keySet(), b.keySet());
        for (String k : a.keySet()) {
            assertArrayEquals(a.get(k), b.get(k), k);
        }
    }

    record Result(TrainingSummary summary, Map<String, float[]> weights) {}

    static Result train(TrainingConfig cfg, ClassifierHead head, Trainer.Examples val) {
        try (BertModel model = tinyWithDropout()) {
            Trainer t = new Trainer(cfg);
            TrainingSummary s = t.train(model, head, t.encode(tokenizer, TEXTS, null, LABELS), val);
            return new Result(s, weights(model));
        }
    }

    @Test
    void sameSeedGivesBitIdenticalWeightsAndLosses() {
        TrainingConfig cfg = small().seed(7).build();
        Result a = train(cfg, ClassifierHead.MEAN, null);
        Result b = train(cfg, ClassifierHead.MEAN, null);
        assertArrayEquals(a.summary().lossPerStep(), b.summary().lossPerStep());
        assertSameWeights(a.weights(), b.weights());
        // The seed really is used: another one shuffles and drops out differently.
        Result c = train(small().seed(8).build(), ClassifierHead.MEAN, null);
        assertFalse(Arrays.equals(a.summary().lossPerStep(), c.summary().lossPerStep()));
    }

    @Test
    void poolerIsLeftAloneWhenTheHeadDoesNotUseIt() {
        Map<String, float[]> before;
        try (BertModel m = tinyWithDropout()) {
            before = weights(m);
        }
        Result r = train(small().build(), ClassifierHead.CLS, null);
        assertArrayEquals(
                before.get("pooler.dense.weight"), r.weights().get("pooler.dense.weight"));
        assertFalse(
                Arrays.equals(
                        before.get("classifier.weight"), r.weights().get("classifier.weight")));
    }

    @Test
    void liveNDArrayCountStaysFlatOverManySteps() {
        List<Integer> live = new ArrayList<>();
        try (BertModel model = tinyWithDropout()) {
            Trainer t = new Trainer(small().epochs(15).batchSize(2).build());
            t.setStepListener((step, n) -> live.add(n));
            t.train(model, ClassifierHead.POOLER, t.encode(tokenizer, TEXTS, null, LABELS), null);
        }
        assertEquals(60, live.size());
        // After the first step has created the AdamW moments, nothing more may accumulate.
        assertEquals(live.get(1), live.get(live.size() - 1), "live arrays " + live);
        assertEquals(1, new HashSet<>(live.subList(1, live.size())).size(), "live arrays " + live);
    }

    @Test
    void corruptGradientsSkipTheStepAndLeaveWeightsUntouched() {
        Map<String, float[]> before;
        try (BertModel m = tinyWithDropout()) {
            before = weights(m);
        }
        // Every real gradient norm is above this bound, so every step counts as corrupt.
        Result r = train(small().maxSaneGradNorm(1e-12).build(), ClassifierHead.POOLER, null);
        assertEquals(r.summary().steps().size(), r.summary().skippedSteps());
        assertSameWeights(before, r.weights());
        assertTrue(r.summary().steps().get(0).gradNorm() > 1e-12);
    }

    /**
     * The first step's loss against a hand computation from the logits, as torch's
     * CrossEntropyLoss(weight, label_smoothing=eps) defines it: (1 - eps) times the weighted NLL
     * plus eps / k times the class-weighted sum of -log p over the classes, divided by the
     * examples' summed weights; class weights alone, label smoothing alone, and both.
     */
    @Test
    void crossEntropyWithClassWeightsAndLabelSmoothingMatchesAHandComputation() {
        double[][] weights = {{0.3, 2.0}, null, {0.3, 2.0}};
        double[] smoothing = {0, 0.2, 0.2};
        for (int run = 0; run < weights.length; run++) {
            double[] w = weights[run];
            double eps = smoothing[run];
            try (BertModel model = BertModel.load(Fixtures.tinyBert(), Device.cpu())) {
                TrainingConfig.Builder b =
                        small().epochs(1).batchSize(8).shuffle(false).labelSmoothing(eps);
                Trainer t = new Trainer((w == null ? b : b.classWeights(w)).build());
                Trainer.Examples ex = t.encode(tokenizer, TEXTS, null, LABELS);
                float[][] logits = BertArrays.logits(ClassifierHead.POOLER, model, ex.encodings());
                TrainingSummary s = t.train(model, ClassifierHead.POOLER, ex, null);
                double num = 0;
                double den = 0;
                for (int i = 0; i < logits.length; i++) {
                    double max = Math.max(logits[i][0], logits[i][1]);
                    double lse =
                            max
                                    + Math.log(
                                            Math.exp(logits[i][0] - max)
                                                    + Math.exp(logits[i][1] - max));
                    double wy = w == null ? 1 : w[LABELS[i]];
                    double smooth = 0;
                    for (int c = 0; c < 2; c++) {
                        smooth += (w == null ? 1 : w[c]) * (lse - logits[i][c]);
                    }
                    num += (1 - eps) * wy * (lse - logits[i][LABELS[i]]) + eps / 2 * smooth;
                    den += wy;
                }
                assertEquals(
                        num / den,
                        s.steps().get(0).loss(),
                        1e-5,
                        "weights " + Arrays.toString(w) + ", eps " + eps);
            }
        }
        assertThrows(IllegalArgumentException.class, () -> small().labelSmoothing(1.0).build());
    }

    @Test
    void earlyStoppingRestoresTheBestEpoch() {
        // Validation labels are the opposite of the training labels: validation loss rises as the
        // model learns, so epoch 1 is the best and patience 1 stops after epoch 2.
        int[] flipped = Arrays.stream(LABELS).map(y -> 1 - y).toArray();
        TrainingConfig cfg =
                small().epochs(5)
                        .shuffle(false)
                        .warmupRatio(0)
                        .schedule(TrainingConfig.Schedule.CONSTANT)
                        .earlyStoppingPatience(1)
                        .build();
        Trainer.Examples val = new Trainer(cfg).encode(tokenizer, TEXTS, null, flipped);
        Result stopped = train(cfg, ClassifierHead.POOLER, val);
        TrainingSummary s = stopped.summary();
        assertEquals(2, s.epochs().size());
        assertTrue(s.stoppedEarly());
        assertEquals(1, s.bestEpoch());
        assertTrue(s.epochs().get(1).valLoss() > s.epochs().get(0).valLoss());
        assertTrue(s.epochs().get(0).valAccuracy() >= 0 && s.epochs().get(0).valAccuracy() <= 1);
        // The weights are those after epoch 1, bit for bit.
        Result oneEpoch = train(cfg.toBuilder().epochs(1).build(), ClassifierHead.POOLER, null);
        assertSameWeights(oneEpoch.weights(), stopped.weights());
        assertNull(oneEpoch.summary().epochs().get(0).valLoss());
    }

    @Test
    void summaryRoundTripsThroughJson() {
        Result r = train(small().epochs(1).build(), ClassifierHead.MEAN, null);
        TrainingSummary s = r.summary();
        assertEquals(3, s.steps().size());
        TrainingSummary back = TrainingSummary.fromJson(s.toJson());
        assertArrayEquals(s.lossPerStep(), back.lossPerStep());
        assertEquals(s.bestEpoch(), back.bestEpoch());
        assertEquals(s.epochs().get(0).trainLoss(), back.epochs().get(0).trainLoss());
        assertTrue(s.samplesPerSecond() > 0);
        // Warm-up: ceil(0.2 * 3) = 1 step at lr 0, then linear decay from the peak.
        assertEquals(0.0, s.steps().get(0).learningRate());
        assertEquals(1e-3, s.steps().get(1).learningRate(), 1e-12);
        assertEquals(0.5e-3, s.steps().get(2).learningRate(), 1e-12);
    }

    @Test
    void badInputsAreNamed() {
        TrainingConfig cfg = small().build();
        Trainer t = new Trainer(cfg);
        try (BertModel model = BertModel.load(Fixtures.tinyBert(), Device.cpu())) {
            int[] bad = LABELS.clone();
            bad[3] = 2;
            IllegalArgumentException e =
                    assertThrows(
                            IllegalArgumentException.class,
                            () ->
                                    t.train(
                                            model,
                                            ClassifierHead.POOLER,
                                            t.encode(tokenizer, TEXTS, null, bad),
                                            null));
            assertTrue(e.getMessage().contains("label 2 at example 3"), e.getMessage());
            Trainer weighted = new Trainer(small().classWeights(new double[] {1, 2, 3}).build());
            e =
                    assertThrows(
                            IllegalArgumentException.class,
                            () ->
                                    weighted.train(
                                            model,
                                            ClassifierHead.POOLER,
                                            t.encode(tokenizer, TEXTS, null, LABELS),
                                            null));
            assertTrue(e.getMessage().contains("classWeights has 3 entries"), e.getMessage());
            e =
                    assertThrows(
                            IllegalArgumentException.class,
                            () ->
                                    t.train(
                                            model,
                                            ClassifierHead.POOLER,
                                            new Trainer.Examples(List.of(), new int[0]),
                                            null));
            assertTrue(e.getMessage().contains("empty"), e.getMessage());
            // Weight 0 for every class the data holds: every loss would be 0 / 0 (all steps
            // skipped, nothing learnt), with or without the linear probe.
            int[] zeros = new int[LABELS.length];
            for (boolean probe : new boolean[] {false, true}) {
                Trainer unweighted =
                        new Trainer(
                                small().linearProbe(probe)
                                        .classWeights(new double[] {0, 1})
                                        .build());
                e =
                        assertThrows(
                                IllegalArgumentException.class,
                                () ->
                                        unweighted.train(
                                                model,
                                                ClassifierHead.POOLER,
                                                t.encode(tokenizer, TEXTS, null, zeros),
                                                null),
                                "probe " + probe);
                assertTrue(
                        e.getMessage().contains("classWeights [0.0, 1.0]")
                                && e.getMessage().contains("classes [0]"),
                        e.getMessage());
            }
        }
        IllegalArgumentException e =
                assertThrows(
                        IllegalArgumentException.class,
                        () -> TrainingConfig.builder().learningRate(-1).build());
        assertTrue(e.getMessage().contains("learningRate -1"), e.getMessage());
    }

    @Test
    void learningRateSchedules() {
        // 10 steps, 2 of warm-up.
        double[] linear = new double[10];
        double[] constant = new double[10];
        for (int s = 0; s < 10; s++) {
            linear[s] = Trainer.lrFactor(s, 10, 2, TrainingConfig.Schedule.LINEAR);
            constant[s] = Trainer.lrFactor(s, 10, 2, TrainingConfig.Schedule.CONSTANT);
        }
        assertArrayEquals(
                new double[] {0, 0.5, 1, 0.875, 0.75, 0.625, 0.5, 0.375, 0.25, 0.125},
                linear,
                1e-12);
        assertArrayEquals(new double[] {0, 0.5, 1, 1, 1, 1, 1, 1, 1, 1}, constant, 1e-12);
    }

    @Test
    void lengthGroupedBatchesCoverEveryExampleOnceAndPadLess() {
        Random lengths = new Random(1);
        int[] len = new int[1000];
        for (int i = 0; i < len.length; i++) {
            len[i] = 5 + lengths.nextInt(60);
        }
        List<int[]> grouped = Trainer.batches(len, 16, true, true, new Random(3));
        List<int[]> random = Trainer.batches(len, 16, true, false, new Random(3));
        Set<Integer> seen = new HashSet<>();
        grouped.forEach(b -> Arrays.stream(b).forEach(i -> assertTrue(seen.add(i))));
        assertEquals(1000, seen.size());
        assertTrue(padded(len, grouped) < 0.8 * padded(len, random));
        List<int[]> inOrder = Trainer.batches(len, 16, false, false, new Random(3));
        assertArrayEquals(
                new int[] {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}, inOrder.get(0));
        assertNotEquals(0, inOrder.size());
        // without shuffling, grouping does not reorder either (the input order is the point)
        List<int[]> unshuffledGrouped = Trainer.batches(len, 16, false, true, new Random(3));
        assertEquals(inOrder.size(), unshuffledGrouped.size());
        for (int b = 0; b < inOrder.size(); b++) {
            assertArrayEquals(inOrder.get(b), unshuffledGrouped.get(b));
        }
    }

    private static long padded(int[] len, List<int[]> batches) {
        long total = 0;
        for (int[] b : batches) {
            int max = Arrays.stream(b).map(i -> len[i]).max().orElse(0);
            total += (long) max * b.length;
        }
        return total;
    }
}
