package io.sparkbert.bert.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.pytorch.jni.JniUtils;
import io.sparkbert.bert.BertModel;
import io.sparkbert.bert.HfTokenizer;
import io.sparkbert.bert.TokenizerOptions;
import io.sparkbert.testing.Fixtures;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The optional training techniques: per-parameter learning rates (head, layer-wise decay), the
 * moving average of the weights, R-Drop and the model soup.
 */
class TrainingOptionsTest {

    @Test
    void headAndLayerScalesFollowTheParameterNames() {
        TrainingConfig c =
                TrainingConfig.builder()
                        .learningRate(1e-4)
                        .headLearningRate(1e-3)
                        .layerLrDecay(0.5)
                        .build();
        int layers = 4;
        assertEquals(10.0, c.lrScale("classifier.weight", layers), 1e-12);
        assertEquals(10.0, c.lrScale("classifier.bias", layers), 1e-12);
        // top layer (3 of 4): 0.5^1; bottom layer: 0.5^4; embeddings one step below that.
        assertEquals(0.5, c.lrScale("encoder.layer.3.output.dense.weight", layers), 1e-12);
        assertEquals(0.0625, c.lrScale("encoder.layer.0.attention.self.query.bias", layers), 1e-12);
        assertEquals(0.03125, c.lrScale("embeddings.word_embeddings.weight", layers), 1e-12);
        assertEquals(1.0, c.lrScale("pooler.dense.weight", layers), 1e-12);
        // Two-digit layer numbers are parsed whole.
        assertEquals(
                Math.pow(0.5, 2), c.lrScale("encoder.layer.10.output.dense.weight", 12), 1e-12);

        TrainingConfig plain = TrainingConfig.builder().build();
        for (String n :
                new String[] {
                    "classifier.weight", "encoder.layer.0.output.dense.weight", "embeddings.x"
                }) {
            assertEquals(1.0, plain.lrScale(n, layers), 0.0, n);
        }
    }

    @Test
    void badSettingsAreNamed() {
        IllegalArgumentException e =
                assertThrows(
                        IllegalArgumentException.class,
                        () -> TrainingConfig.builder().layerLrDecay(0).build());
        assertTrue(e.getMessage().contains("layerLrDecay"), e.getMessage());
        e =
                assertThrows(
                        IllegalArgumentException.class,
                        () -> TrainingConfig.builder().headLearningRate(-1).build());
        assertTrue(e.getMessage().contains("headLearningRate"), e.getMessage());
        e =
                assertThrows(
                        IllegalArgumentException.class,
                        () -> TrainingConfig.builder().emaDecay(1.0).build());
        assertTrue(e.getMessage().contains("emaDecay"), e.getMessage());
    }

    /**
     * With a constant learning rate, one step per epoch, no shuffling and no dropout, a run of k
     * epochs is the first k steps of a longer run, so the weights after 0..3 steps can be recorded
     * and the expected average computed here, in doubles, by the documented rule.
     */
    @Test
    void averagedRunReturnsTheMovingAverageOfTheTrajectory() {
        double decay = 0.2;
        float[][] traj = new float[4][];
        for (int k = 0; k <= 3; k++) {
            traj[k] = k == 0 ? initialClassifier() : trainedClassifier(k, 0);
        }
        double[] avg = new double[traj[0].length];
        for (int i = 0; i < avg.length; i++) {
            avg[i] = traj[0][i];
        }
        for (int n = 0; n < 3; n++) {
            double d = Math.min(decay, (1.0 + n) / (10.0 + n));
            for (int i = 0; i < avg.length; i++) {
                avg[i] = d * avg[i] + (1 - d) * traj[n + 1][i];
            }
        }
        float[] averaged = trainedClassifier(3, decay);
        assertFalse(Arrays.equals(averaged, traj[3]), "the average differs from the last weights");
        for (int i = 0; i < avg.length; i++) {
            assertEquals(avg[i], averaged[i], 1e-6, "classifier.weight[" + i + "]");
        }
    }

    private static float[] initialClassifier() {
        try (BertModel m = BertModel.load(Fixtures.tinyBert(), Device.cpu())) {
            return m.parameters().get("classifier.weight").toFloatArray();
        }
    }

    private static float[] trainedClassifier(int epochs, double emaDecay) {
        TrainingConfig cfg =
                TrainingConfig.builder()
                        .epochs(epochs)
                        .batchSize(TrainerTest.TEXTS.size())
                        .learningRate(1e-2)
                        .warmupRatio(0)
                        .schedule(TrainingConfig.Schedule.CONSTANT)
                        .shuffle(false)
                        .emaDecay(emaDecay)
                        // tinybert's own trained head, trained as it is (as BertClassifier does)
                        .linearProbe(false)
                        .logEverySteps(0)
                        .build();
        try (HfTokenizer tok =
                        HfTokenizer.fromDirectory(
                                Fixtures.tinyBert(), TokenizerOptions.defaults());
                BertModel m = BertModel.load(Fixtures.tinyBert(), Device.cpu())) {
            Trainer t = new Trainer(cfg);
            t.train(
                    m,
                    ClassifierHead.POOLER,
                    t.encode(tok, TrainerTest.TEXTS, null, TrainerTest.LABELS),
                    null);
            return m.parameters().get("classifier.weight").toFloatArray();
        }
    }

    /** Frozen, the word embedding table comes out bit-identical while everything else trains. */
    @Test
    void frozenWordEmbeddingsKeepTheirPretrainedValues() {
        Map<String, float[]> before;
        try (BertModel m = TrainerTest.tinyWithDropout()) {
            before = TrainerTest.weights(m);
        }
        TrainerTest.Result frozen =
                trainTiny(TrainerTest.small().freezeWordEmbeddings(true).build(), true);
        TrainerTest.Result plain = trainTiny(TrainerTest.small().build(), true);
        String table = Trainer.WORD_EMBEDDINGS;
        assertArrayEquals(before.get(table), frozen.weights().get(table));
        assertFalse(
                Arrays.equals(before.get(table), plain.weights().get(table)),
                "without the option the table trains");
        for (String k :
                List.of(
                        "embeddings.position_embeddings.weight",
                        "embeddings.LayerNorm.weight",
                        "encoder.layer.0.attention.self.query.weight",
                        "classifier.weight")) {
            assertFalse(Arrays.equals(before.get(k), frozen.weights().get(k)), k + " trains");
        }
        assertFalse(
                Arrays.equals(plain.summary().lossPerStep(), frozen.summary().lossPerStep()),
                "freezing changes the trajectory");
    }

    /** Without dropout both passes of R-Drop are the same: the plain loss and the same weights. */
    @Test
    void rdropWithoutDropoutIsPlainTraining() {
        TrainingConfig.Builder b = TrainerTest.small().seed(3);
        TrainerTest.Result plain = trainTiny(b.build(), false);
        TrainerTest.Result rdrop = trainTiny(b.rdropAlpha(1.0).build(), false);
        assertArrayEquals(plain.summary().lossPerStep(), rdrop.summary().lossPerStep(), 1e-5);
        for (String k : plain.weights().keySet()) {
            assertArrayEquals(plain.weights().get(k), rdrop.weights().get(k), 1e-4f, k);
        }
    }

    /**
     * With dropout, R-Drop's first step draws the same two masks whatever alpha is, so its loss is
     * the same cross-entropy plus alpha / 4 times a positive symmetric KL: linear in alpha.
     */
    @Test
    void rdropAddsAlphaTimesAPositiveDivergence() {
        TrainingConfig.Builder b = TrainerTest.small().seed(3).epochs(1);
        double l4 = trainTiny(b.rdropAlpha(4).build(), true).summary().lossPerStep()[0];
        double l8 = trainTiny(b.rdropAlpha(8).build(), true).summary().lossPerStep()[0];
        double l12 = trainTiny(b.rdropAlpha(12).build(), true).summary().lossPerStep()[0];
        assertTrue(l8 - l4 > 1e-6, "the two dropout masks disagree: " + l4 + " vs " + l8);
        assertEquals(l8 - l4, l12 - l8, 1e-5);
    }

    /**
     * SAM steps with the gradient at {@code w + rho * g / ||g||}. With AdamW's eps far above every
     * gradient entry and an equally large learning rate, one step moves each weight by {@code -g *
     * eps / (|g| + eps)}, i.e. by -g to a relative 1e-6 here, so a one-step plain run measures the
     * gradient at any weights. The test measures g1 at the start, builds the perturbed weights
     * itself (in doubles), measures g2 there, and requires SAM's one step from the start to land on
     * {@code w - g2}, not on the plain step's {@code w - g1}.
     */
    @Test
    void samStepsWithTheGradientAtThePerturbedWeights() {
        double rho = 0.5;
        TrainingConfig.Builder b =
                TrainingConfig.builder()
                        .linearProbe(false)
                        .epochs(1)
                        .batchSize(TrainerTest.TEXTS.size())
                        .learningRate(1e6)
                        .eps(1e6)
                        .weightDecay(0)
                        .decayBiasAndNorm(true)
                        .warmupRatio(0)
                        .schedule(TrainingConfig.Schedule.CONSTANT)
                        .maxGradNorm(0)
                        .shuffle(false)
                        .logEverySteps(0);
        Map<String, float[]> start;
        try (BertModel m = BertModel.load(Fixtures.tinyBert(), Device.cpu())) {
            start = TrainerTest.weights(m);
        }
        TrainerTest.Result plain = trainTiny(b.build(), false, start);
        Map<String, double[]> g1 = difference(start, plain.weights());
        double norm = 0;
        for (double[] g : g1.values()) {
            for (double x : g) {
                norm += x * x;
            }
        }
        norm = Math.sqrt(norm);
        assertTrue(norm > 1e-3, "the batch has a gradient: " + norm);
        Map<String, float[]> perturbed = new LinkedHashMap<>();
        for (Map.Entry<String, float[]> e : start.entrySet()) {
            float[] w = e.getValue();
            double[] g = g1.get(e.getKey());
            float[] p = new float[w.length];
            for (int i = 0; i < w.length; i++) {
                p[i] = (float) (w[i] + rho * g[i] / norm);
            }
            perturbed.put(e.getKey(), p);
        }
        Map<String, double[]> g2 =
                difference(perturbed, trainTiny(b.build(), false, perturbed).weights());

        TrainerTest.Result sam = trainTiny(b.samRho(rho).build(), false, start);
        assertEquals(plain.summary().lossPerStep()[0], sam.summary().lossPerStep()[0], 0.0);
        double samVsPlain = 0;
        for (Map.Entry<String, float[]> e : start.entrySet()) {
            String k = e.getKey();
            float[] w = e.getValue();
            float[] got = sam.weights().get(k);
            for (int i = 0; i < w.length; i++) {
                double want = w[i] - g2.get(k)[i];
                assertEquals(want, got[i], 2e-6, k + "[" + i + "]");
                samVsPlain = Math.max(samVsPlain, Math.abs(got[i] - plain.weights().get(k)[i]));
            }
        }
        assertTrue(samVsPlain > 1e-3, "g2 differs from g1: " + samVsPlain);

        IllegalArgumentException e =
                assertThrows(
                        IllegalArgumentException.class,
                        () -> TrainingConfig.builder().samRho(-0.1).build());
        assertTrue(e.getMessage().contains("samRho"), e.getMessage());
    }

    /** {@code before - after} per weight, in doubles. */
    private static Map<String, double[]> difference(
            Map<String, float[]> before, Map<String, float[]> after) {
        Map<String, double[]> out = new LinkedHashMap<>();
        for (Map.Entry<String, float[]> e : before.entrySet()) {
            float[] x = e.getValue();
            float[] y = after.get(e.getKey());
            double[] d = new double[x.length];
            for (int i = 0; i < x.length; i++) {
                d[i] = (double) x[i] - y[i];
            }
            out.put(e.getKey(), d);
        }
        return out;
    }

    /**
     * A soup of two runs is the element-wise mean of the two runs trained on their own (seeds s and
     * s + 1, from the same starting weights), and its summary is theirs one after the other.
     */
    @Test
    void soupIsTheMeanOfItsRunsTrainedAlone() {
        TrainingConfig.Builder b = TrainerTest.small();
        int epochs = b.build().epochs();
        TrainerTest.Result first = trainTiny(b.seed(5).build(), true);
        TrainerTest.Result second = trainTiny(b.seed(6).build(), true);
        TrainerTest.Result soup = trainTiny(b.seed(5).soupSize(2).build(), true);

        for (String k : soup.weights().keySet()) {
            float[] x = first.weights().get(k);
            float[] y = second.weights().get(k);
            float[] mean = new float[x.length];
            for (int i = 0; i < x.length; i++) {
                mean[i] = (x[i] + y[i]) / 2;
            }
            assertArrayEquals(mean, soup.weights().get(k), 1e-6f, k);
        }
        String w = "classifier.weight";
        assertFalse(Arrays.equals(first.weights().get(w), second.weights().get(w)));
        assertFalse(Arrays.equals(first.weights().get(w), soup.weights().get(w)));

        double[] both = new double[2 * first.summary().steps().size()];
        System.arraycopy(first.summary().lossPerStep(), 0, both, 0, both.length / 2);
        System.arraycopy(second.summary().lossPerStep(), 0, both, both.length / 2, both.length / 2);
        assertArrayEquals(both, soup.summary().lossPerStep(), 0.0);
        List<TrainingSummary.Step> steps = soup.summary().steps();
        for (int i = 0; i < steps.size(); i++) {
            assertEquals(i + 1, steps.get(i).step());
        }
        assertEquals(epochs + 1, steps.get(both.length / 2).epoch());
        assertEquals(2 * epochs, soup.summary().epochs().size());
        assertEquals(2 * epochs, soup.summary().bestEpoch());
        assertTrue(soup.summary().config().contains("soupSize=2"), soup.summary().config());

        IllegalArgumentException e =
                assertThrows(
                        IllegalArgumentException.class,
                        () -> TrainingConfig.builder().soupSize(0).build());
        assertTrue(e.getMessage().contains("soupSize"), e.getMessage());
    }

    private static TrainerTest.Result trainTiny(TrainingConfig cfg, boolean dropout) {
        return trainTiny(cfg, dropout, null);
    }

    /** As above, the model's weights first overwritten by {@code start} when it is not null. */
    private static TrainerTest.Result trainTiny(
            TrainingConfig cfg, boolean dropout, Map<String, float[]> start) {
        try (HfTokenizer tok =
                        HfTokenizer.fromDirectory(
                                Fixtures.tinyBert(), TokenizerOptions.defaults());
                BertModel m =
                        dropout
                                ? TrainerTest.tinyWithDropout()
                                : BertModel.load(Fixtures.tinyBert(), Device.cpu())) {
            if (start != null) {
                JniUtils.setGradMode(false);
                for (Map.Entry<String, NDArray> e : m.parameters().entrySet()) {
                    NDArray p = e.getValue();
                    try (NDArray v = p.getManager().create(start.get(e.getKey()), p.getShape())) {
                        p.muli(0f).addi(v);
                    }
                }
            }
            Trainer t = new Trainer(cfg);
            TrainingSummary s =
                    t.train(
                            m,
                            ClassifierHead.MEAN,
                            t.encode(tok, TrainerTest.TEXTS, null, TrainerTest.LABELS),
                            null);
            return new TrainerTest.Result(s, TrainerTest.weights(m));
        }
    }
}
