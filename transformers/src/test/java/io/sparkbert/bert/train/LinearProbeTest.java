package io.sparkbert.bert.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import io.sparkbert.bert.BertConfig;
import io.sparkbert.bert.BertModel;
import io.sparkbert.bert.ClassifierHead;
import io.sparkbert.bert.Pooling;
import io.sparkbert.testing.BertArrays;
import io.sparkbert.testing.Fixtures;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The linear probe of LP-FT: the head it fits is the optimum of the regularised logistic regression
 * on the frozen features (checked in double precision from features computed another way), nothing
 * but the head moves, and training starts from it.
 */
class LinearProbeTest {
    static BertModel freshTiny(int k, double dropout) {
        try (BertModel base = BertModel.load(Fixtures.tinyBert(), Device.cpu())) {
            BertConfig cfg =
                    base.config()
                            .with("hidden_dropout_prob", dropout)
                            .with("attention_probs_dropout_prob", dropout);
            try (BertModel m = BertModel.fromBytes(cfg, base.toSafetensorsBytes(), Device.cpu())) {
                return m.withFreshClassifier(k, 5);
            }
        }
    }

    /** Mean-pooled features through the public embedding path, in double precision. */
    static double[][] meanFeatures(BertModel model, Trainer.Examples ex) {
        int n = ex.size();
        int longest = ex.encodings().stream().mapToInt(e -> e.length()).max().orElse(1);
        long[][] ids = new long[n][longest];
        long[][] types = new long[n][longest];
        long[][] mask = new long[n][longest];
        for (int i = 0; i < n; i++) {
            var e = ex.encodings().get(i);
            System.arraycopy(e.inputIds(), 0, ids[i], 0, e.length());
            System.arraycopy(e.tokenTypeIds(), 0, types[i], 0, e.length());
            System.arraycopy(e.attentionMask(), 0, mask[i], 0, e.length());
        }
        float[][] f = BertArrays.embed(model, ids, types, mask, Pooling.MEAN, false);
        double[][] out = new double[n][];
        for (int i = 0; i < n; i++) {
            out[i] = new double[f[i].length];
            for (int j = 0; j < f[i].length; j++) {
                out[i][j] = f[i][j];
            }
        }
        return out;
    }

    /** [loss, accuracy, gradient norm] of the probe's objective at the model's head. */
    static double[] objective(BertModel model, double[][] x, int[] y, double l2, double[] cw) {
        return objective(model, x, y, l2, cw, null);
    }

    /**
     * Like {@link #objective(BertModel, double[][], int[], double, double[])} over the classes
     * marked in {@code fitted} only (null: all): the others take no part in the softmax, and
     * neither their rows nor their biases count in the gradient.
     */
    static double[] objective(
            BertModel model, double[][] x, int[] y, double l2, double[] cw, boolean[] fitted) {
        int k = model.numLabels();
        int h = x[0].length;
        float[] wf = model.parameters().get("classifier.weight").toFloatArray();
        float[] bf = model.parameters().get("classifier.bias").toFloatArray();
        double[][] gw = new double[k][h];
        double[] gb = new double[k];
        double wsum = 0;
        for (int yi : y) {
            wsum += cw == null ? 1 : cw[yi];
        }
        double loss = 0;
        int correct = 0;
        for (int i = 0; i < x.length; i++) {
            double[] z = new double[k];
            int arg = 0;
            for (int c = 0; c < k; c++) {
                if (fitted != null && !fitted[c]) {
                    z[c] = Double.NEGATIVE_INFINITY;
                    continue;
                }
                z[c] = bf[c];
                for (int j = 0; j < h; j++) {
                    z[c] += wf[c * h + j] * x[i][j];
                }
                arg = z[c] > z[arg] ? c : arg;
            }
            correct += arg == y[i] ? 1 : 0;
            double max = Arrays.stream(z).max().getAsDouble();
            double sum = 0;
            for (double v : z) {
                sum += Math.exp(v - max);
            }
            double share = (cw == null ? 1 : cw[y[i]]) / wsum;
            if (share > 0) {
                // (a class left out has z = -inf: its examples, of weight 0, add nothing)
                loss += share * (max + Math.log(sum) - z[y[i]]);
            }
            for (int c = 0; c < k; c++) {
                if (fitted != null && !fitted[c]) {
                    continue;
                }
                double d = share * (Math.exp(z[c] - max) / sum - (c == y[i] ? 1 : 0));
                gb[c] += d;
                for (int j = 0; j < h; j++) {
                    gw[c][j] += d * x[i][j];
                }
            }
        }
        double norm = 0;
        for (int c = 0; c < k; c++) {
            if (fitted != null && !fitted[c]) {
                continue;
            }
            norm += gb[c] * gb[c];
            for (int j = 0; j < h; j++) {
                double g = gw[c][j] + l2 * wf[c * h + j];
                norm += g * g;
            }
        }
        return new double[] {loss, (double) correct / x.length, Math.sqrt(norm)};
    }

    static String what(double[] cw) {
        return "class weights " + Arrays.toString(cw);
    }

    /** Every NDArray alive in the engine (the system manager is the root of every manager). */
    static long liveArrays() {
        try (NDManager probe = NDManager.newBaseManager()) {
            return probe.getParentManager().getManagedArrays().size();
        }
    }

    @Test
    void fitsTheOptimumOfTheRegularisedLogisticRegressionAndNothingElse() {
        double[][] weightsPerRun = {null, {0.5, 3.0}};
        for (double[] cw : weightsPerRun) {
            try (BertModel model = freshTiny(2, 0.1)) {
                Trainer t = new Trainer(TrainingConfig.builder().build());
                Trainer.Examples ex =
                        TrainerTest.encodeTiny(t, TrainerTest.TEXTS, TrainerTest.LABELS);
                double[][] x = meanFeatures(model, ex);
                double l2 = 1e-2;
                double[] before = objective(model, x, ex.labels(), l2, cw);
                Map<String, float[]> start = TrainerTest.weights(model);
                long live = liveArrays();
                LinearProbe.Result r = LinearProbe.fit(model, ClassifierHead.MEAN, ex, l2, cw);
                // Thousands of steps, and not one NDArray left behind anywhere.
                assertEquals(live, liveArrays(), what(cw) + ": live NDArrays");
                double[] after = objective(model, x, ex.labels(), l2, cw);
                String what = what(cw);
                // Stationary point of a convex objective = its minimum: the gradient vanishes.
                assertTrue(before[2] > 0.05, what + ": start gradient " + before[2]);
                assertTrue(
                        after[2] <= 1.05 * LinearProbe.TOLERANCE,
                        what + ": gradient at the fit " + after[2]);
                assertTrue(after[0] < before[0], what);
                // The reported numbers are those of the fitted head.
                assertEquals(after[0], r.loss(), 1e-5, what);
                assertEquals(after[1], r.accuracy(), 1e-12, what);
                assertEquals(after[2], r.gradNorm(), 1e-4, what);
                assertEquals(8, r.examples());
                assertTrue(
                        r.steps() > 0 && r.steps() < LinearProbe.MAX_STEPS, "steps " + r.steps());
                // Only the head moved.
                Map<String, float[]> end = TrainerTest.weights(model);
                for (String name : start.keySet()) {
                    if (name.startsWith("classifier.")) {
                        assertFalse(Arrays.equals(start.get(name), end.get(name)), name);
                    } else {
                        assertArrayEquals(start.get(name), end.get(name), name);
                    }
                }
            }
        }
    }

    @Test
    void trainingStartsFromTheProbedHeadAndTheSummaryKeepsTheProbe() {
        // Dropout 0 and no shuffling: the first step's loss is the probed head's loss on the
        // first batch, computed from the probed model before any encoder weight moves.
        TrainingConfig cfg =
                TrainingConfig.builder()
                        .epochs(1)
                        .batchSize(8)
                        .shuffle(false)
                        .linearProbeL2(1e-2)
                        .logEverySteps(0)
                        .build();
        double[][] x;
        int[] y = TrainerTest.LABELS;
        float[] probedW;
        TrainingSummary s;
        try (BertModel model = freshTiny(2, 0.0);
                BertModel probed = freshTiny(2, 0.0)) {
            Trainer t = new Trainer(cfg);
            Trainer.Examples ex = TrainerTest.encodeTiny(t, TrainerTest.TEXTS, y);
            LinearProbe.fit(probed, ClassifierHead.MEAN, ex, 1e-2, null);
            x = meanFeatures(probed, ex);
            double expected = objective(probed, x, y, 1e-2, null)[0];
            probedW = probed.parameters().get("classifier.weight").toFloatArray();
            s = t.train(model, ClassifierHead.MEAN, ex, null);
            assertEquals(expected, s.steps().get(0).loss(), 1e-5);
        }
        assertNotNull(s.linearProbe());
        assertTrue(s.wallSeconds() >= s.linearProbe().seconds());
        TrainingSummary back = TrainingSummary.fromJson(s.toJson());
        assertEquals(s.linearProbe(), back.linearProbe());
        assertTrue(s.config().contains("linearProbe=true"), s.config());
        assertTrue(probedW.length > 0);
        // Off: no probe, and the first step sees the fresh head (a different loss).
        try (BertModel model = freshTiny(2, 0.0)) {
            Trainer t = new Trainer(cfg.toBuilder().linearProbe(false).build());
            TrainingSummary plain =
                    t.train(
                            model,
                            ClassifierHead.MEAN,
                            TrainerTest.encodeTiny(t, TrainerTest.TEXTS, y),
                            null);
            assertNull(plain.linearProbe());
            assertNull(TrainingSummary.fromJson(plain.toJson()).linearProbe());
            assertTrue(Math.abs(plain.steps().get(0).loss() - s.steps().get(0).loss()) > 1e-3);
        }
    }

    /**
     * A class without training weight (no example in the training data, e.g. one that only the
     * label metadata or the validation split has, or class weight 0) has no finite optimum: the
     * softmax keeps pushing its bias down. The probe fits the other classes and leaves its row as
     * it was, so it converges; with fewer than two such classes there is nothing to fit.
     */
    @Test
    void classesWithoutTrainingWeightAreLeftOutOfTheFit() {
        int[] threeLabels = {0, 1, 2, 0, 1, 2, 0, 1};
        Object[][] cases = {
            // k, labels, class weights, pooling
            {3, TrainerTest.LABELS, null, ClassifierHead.MEAN},
            {3, TrainerTest.LABELS, null, ClassifierHead.CLS},
            {3, threeLabels, new double[] {1, 2, 0}, ClassifierHead.MEAN},
            {2, TrainerTest.LABELS, new double[] {0.5, 0}, ClassifierHead.MEAN}
        };
        for (Object[] c : cases) {
            int k = (Integer) c[0];
            int[] y = (int[]) c[1];
            double[] cw = (double[]) c[2];
            ClassifierHead head = (ClassifierHead) c[3];
            boolean[] fitted = new boolean[k];
            for (int yi : y) {
                fitted[yi] |= cw == null || cw[yi] > 0;
            }
            String what =
                    "k " + k + ", labels " + Arrays.toString(y) + ", " + what(cw) + ", " + head;
            try (BertModel model = freshTiny(k, 0.1)) {
                Trainer t = new Trainer(TrainingConfig.builder().build());
                Trainer.Examples ex = TrainerTest.encodeTiny(t, TrainerTest.TEXTS, y);
                Map<String, float[]> start = TrainerTest.weights(model);
                long live = liveArrays();
                LinearProbe.Result r = LinearProbe.fit(model, head, ex, 1e-3, cw);
                assertEquals(live, liveArrays(), what + ": live NDArrays");
                int fittedCount = 0;
                for (boolean f : fitted) {
                    fittedCount += f ? 1 : 0;
                }
                if (fittedCount < 2) {
                    assertNull(r, what);
                    TrainerTest.assertSameWeights(start, TrainerTest.weights(model));
                    continue;
                }
                assertTrue(r.steps() < LinearProbe.MAX_STEPS, what + ": steps " + r.steps());
                assertTrue(r.gradNorm() <= LinearProbe.TOLERANCE, what + ": " + r.gradNorm());
                if (head == ClassifierHead.MEAN) {
                    double[] after = objective(model, meanFeatures(model, ex), y, 1e-3, cw, fitted);
                    assertTrue(after[2] <= 1.05 * LinearProbe.TOLERANCE, what + ": " + after[2]);
                    assertEquals(after[0], r.loss(), 1e-5, what);
                    assertEquals(after[1], r.accuracy(), 1e-12, what);
                }
                // The rows of classes without weight are as they were; the others moved.
                float[] w0 = start.get("classifier.weight");
                float[] w1 = model.parameters().get("classifier.weight").toFloatArray();
                float[] b1 = model.parameters().get("classifier.bias").toFloatArray();
                int h = w0.length / k;
                for (int cl = 0; cl < k; cl++) {
                    float[] before = Arrays.copyOfRange(w0, cl * h, (cl + 1) * h);
                    float[] now = Arrays.copyOfRange(w1, cl * h, (cl + 1) * h);
                    if (fitted[cl]) {
                        assertFalse(Arrays.equals(before, now), what + ": row " + cl);
                    } else {
                        assertArrayEquals(before, now, what + ": row " + cl);
                        assertEquals(start.get("classifier.bias")[cl], b1[cl], what);
                    }
                }
            }
        }
        // One example: one class, nothing to separate.
        try (BertModel model = freshTiny(2, 0.1)) {
            Trainer t = new Trainer(TrainingConfig.builder().build());
            Trainer.Examples one =
                    TrainerTest.encodeTiny(t, TrainerTest.TEXTS.subList(0, 1), new int[] {1});
            Map<String, float[]> start = TrainerTest.weights(model);
            assertNull(LinearProbe.fit(model, ClassifierHead.MEAN, one, 1e-3, null));
            TrainerTest.assertSameWeights(start, TrainerTest.weights(model));
        }
    }

    @Test
    void featuresFollowTheHeadAndFreeTheirScopes() {
        try (BertModel model = freshTiny(3, 0.1);
                NDManager scope = NDManager.newBaseManager(Device.cpu())) {
            Trainer t = new Trainer(TrainingConfig.builder().build());
            // More examples than one feature batch, so the concatenation is exercised.
            List<String> texts = new java.util.ArrayList<>();
            int[] labels = new int[LinearProbe.FEATURE_BATCH + 5];
            for (int i = 0; i < labels.length; i++) {
                texts.add(TrainerTest.TEXTS.get(i % TrainerTest.TEXTS.size()) + " " + i);
                labels[i] = i % 3;
            }
            Trainer.Examples ex = TrainerTest.encodeTiny(t, texts, labels);
            double[][] expected = meanFeatures(model, ex);
            float[] got =
                    LinearProbe.features(model, ClassifierHead.MEAN, ex, scope).toFloatArray();
            int h = expected[0].length;
            assertEquals(labels.length * h, got.length);
            for (int i = 0; i < labels.length; i++) {
                for (int j = 0; j < h; j++) {
                    assertEquals(expected[i][j], got[i * h + j], 1e-5, "row " + i);
                }
            }
            // Only the result is left in the caller's scope.
            assertEquals(1, scope.getManagedArrays().size());
            assertThrows(
                    IllegalArgumentException.class,
                    () -> TrainingConfig.builder().linearProbeL2(0).build());
        }
    }
}
