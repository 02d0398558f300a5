package io.sparkbert.bert.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import io.sparkbert.bert.BertModel;
import io.sparkbert.bert.ClassifierHead;
import io.sparkbert.bert.HfTokenizer;
import io.sparkbert.bert.ProblemType;
import io.sparkbert.bert.TokenizerOptions;
import io.sparkbert.testing.BertArrays;
import io.sparkbert.testing.Fixtures;
import java.util.List;
import java.util.function.BiFunction;
import org.junit.jupiter.api.Test;

/**
 * The multi-label and regression losses (torch's BCEWithLogitsLoss with and without pos_weight,
 * MSELoss) and their gradients against hand computations in double precision, on hand-made logits
 * and on the tiny fixture model's first training step.
 */
class ProblemTypeLossTest {
    // 3 examples x 2 classes, with large logits to exercise the overflow-free form.
    static final float[] LOGITS = {0.7f, -1.3f, 2.5f, 0.1f, -40f, 35f};
    static final float[] TARGETS = {1, 0, 0, 1, 1, 1};
    static final double[] POS_WEIGHT = {3.0, 0.5};

    static double softplus(double x) {
        return Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
    }

    /** -[p y log s(x) + (1 - y) log(1 - s(x))], mean over the entries. */
    static double bce(float[] x, float[] y, double[] pw) {
        int k = pw == null ? 2 : pw.length;
        double sum = 0;
        for (int j = 0; j < x.length; j++) {
            double p = pw == null ? 1 : pw[j % k];
            // log s(x) = -softplus(-x), log(1 - s(x)) = -softplus(x)
            sum += p * y[j] * softplus(-x[j]) + (1 - y[j]) * softplus(x[j]);
        }
        return sum / x.length;
    }

    /** d/dx of the mean BCE: (s(x) (1 + (p - 1) y) - p y) / N. */
    static double[] bceGrad(float[] x, float[] y, double[] pw) {
        int k = pw == null ? 2 : pw.length;
        double[] g = new double[x.length];
        for (int j = 0; j < x.length; j++) {
            double p = pw == null ? 1 : pw[j % k];
            double s = 1 / (1 + Math.exp(-x[j]));
            g[j] = (s * (1 + (p - 1) * y[j]) - p * y[j]) / x.length;
        }
        return g;
    }

    /** The loss value and d loss / d logits that {@code loss} computes in the autograd graph. */
    static double[] lossAndGrad(
            float[] x, float[] y, Shape shape, BiFunction<NDManager, NDArray[], NDArray> loss) {
        try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
            NDArray logits = m.create(x, shape);
            NDArray targets = m.create(y, shape);
            logits.setRequiresGradient(true);
            boolean old = JniUtils.isGradMode();
            JniUtils.setGradMode(true);
            NDArray l;
            try {
                l = loss.apply(m, new NDArray[] {logits, targets});
                JniUtils.backward((PtNDArray) l, (PtNDArray) m.ones(new Shape()), false, false);
            } finally {
                JniUtils.setGradMode(old);
            }
            float[] g = logits.getGradient().toFloatArray();
            double[] out = new double[g.length + 1];
            out[0] = l.getFloat();
            for (int i = 0; i < g.length; i++) {
                out[i + 1] = g[i];
            }
            return out;
        }
    }

    @Test
    void bceWithLogitsAndItsGradientMatchHandComputations() {
        for (double[] pw : new double[][] {null, POS_WEIGHT}) {
            double[] got =
                    lossAndGrad(
                            LOGITS,
                            TARGETS,
                            new Shape(3, 2),
                            (m, a) -> Loss.bceWithLogits(m, a[0], a[1], pw));
            assertEquals(bce(LOGITS, TARGETS, pw), got[0], 1e-5, "loss, pos_weight " + pw);
            double[] want = bceGrad(LOGITS, TARGETS, pw);
            for (int j = 0; j < want.length; j++) {
                assertEquals(want[j], got[j + 1], 1e-5, "gradient " + j);
            }
        }
        // The -40 logit with target 1 costs about 40 * pos_weight: no overflow to infinity.
        assertTrue(bce(LOGITS, TARGETS, POS_WEIGHT) > 40 * 0.5 / 6);
    }

    @Test
    void mseAndItsGradientMatchHandComputations() {
        float[] x = {0.5f, -2.0f, 3.25f, 7.0f};
        float[] y = {1.0f, -2.5f, 0.0f, 7.0f};
        double[] got = lossAndGrad(x, y, new Shape(4, 1), (m, a) -> Loss.mse(a[0], a[1]));
        double want = 0;
        for (int i = 0; i < x.length; i++) {
            want += (x[i] - y[i]) * (double) (x[i] - y[i]) / x.length;
        }
        assertEquals(want, got[0], 1e-5);
        for (int i = 0; i < x.length; i++) {
            assertEquals(2.0 * (x[i] - y[i]) / x.length, got[i + 1], 1e-5, "gradient " + i);
        }
    }

    static final List<String> TEXTS =
            List.of("red apples", "blue sky", "green grass and blue sea", "red and green");

    static BertModel tinyAs(ProblemType type, int k) {
        try (BertModel base = BertModel.load(Fixtures.tinyBert(), Device.cpu());
                BertModel fresh = base.withFreshClassifier(k, 3)) {
            return BertModel.fromBytes(
                    fresh.config().with("problem_type", type.hfName()),
                    fresh.toSafetensorsBytes(),
                    Device.cpu());
        }
    }

    /**
     * The first step's loss of a real training run on the tiny model equals the hand computation
     * from its logits (no dropout in the fixture, one batch holding every example).
     */
    @Test
    void firstTrainingStepLossIsTheHandComputedLoss() {
        float[][] multi = {{1, 0, 0}, {0, 1, 0}, {0, 1, 1}, {1, 0, 1}};
        float[][] values = {{1.5f}, {-0.5f}, {2.0f}, {0.25f}};
        TrainingConfig.Builder b =
                TrainingConfig.builder()
                        .linearProbe(false)
                        .epochs(1)
                        .batchSize(4)
                        .shuffle(false)
                        .logEverySteps(0);
        try (HfTokenizer tok =
                HfTokenizer.fromDirectory(Fixtures.tinyBert(), TokenizerOptions.defaults())) {
            for (double[] pw : new double[][] {null, {2.0, 0.5, 1.0}}) {
                try (BertModel model = tinyAs(ProblemType.MULTI_LABEL, 3)) {
                    Trainer t = new Trainer(pw == null ? b.build() : b.classWeights(pw).build());
                    Trainer.Examples ex = t.encode(tok, TEXTS, null, multi);
                    float[][] logits =
                            BertArrays.logits(ClassifierHead.POOLER, model, ex.encodings());
                    TrainingSummary s = t.train(model, ClassifierHead.POOLER, ex, null);
                    assertEquals(
                            bce(flat(logits), flat(multi), pw),
                            s.steps().get(0).loss(),
                            1e-5,
                            "pos_weight " + (pw == null ? "none" : "set"));
                }
            }
            try (BertModel model = tinyAs(ProblemType.REGRESSION, 1)) {
                Trainer t =
                        new Trainer(
                                TrainingConfig.builder()
                                        .linearProbe(false)
                                        .epochs(1)
                                        .batchSize(4)
                                        .shuffle(false)
                                        .logEverySteps(0)
                                        .build());
                Trainer.Examples ex = t.encode(tok, TEXTS, null, values);
                float[][] logits = BertArrays.logits(ClassifierHead.POOLER, model, ex.encodings());
                TrainingSummary s = t.train(model, ClassifierHead.POOLER, ex, null);
                double want = 0;
                for (int i = 0; i < 4; i++) {
                    double d = logits[i][0] - (double) values[i][0];
                    want += d * d / 4;
                }
                assertEquals(want, s.steps().get(0).loss(), 1e-5);
            }
        }
    }

    /**
     * The validation metrics: multi-label [mean BCE with pos_weight, subset accuracy at 0.5],
     * regression [mean squared error], from the model's logits by hand.
     */
    @Test
    void validationMetricsMatchHandComputations() {
        float[][] multi = {{1, 0, 0}, {0, 1, 0}, {0, 1, 1}, {1, 0, 1}};
        float[][] values = {{1.5f}, {-0.5f}, {2.0f}, {0.25f}};
        double[] pw = {2.0, 0.5, 1.0};
        try (HfTokenizer tok =
                        HfTokenizer.fromDirectory(
                                Fixtures.tinyBert(), TokenizerOptions.defaults());
                BertModel m = tinyAs(ProblemType.MULTI_LABEL, 3);
                BertModel r = tinyAs(ProblemType.REGRESSION, 1);
                NDManager state = NDManager.newBaseManager(Device.cpu())) {
            Trainer t = new Trainer(TrainingConfig.builder().build());
            Trainer.Examples ex = t.encode(tok, TEXTS, null, multi);
            float[][] z = BertArrays.logits(ClassifierHead.POOLER, m, ex.encodings());
            // batches of 3: the loss is averaged over examples, whatever the batching
            double[] got =
                    Loss.evaluate(
                            m, ClassifierHead.POOLER, ex, state, 3, pw, ProblemType.MULTI_LABEL);
            assertEquals(bce(flat(z), flat(multi), pw), got[0], 1e-5);
            int exact = 0;
            for (int i = 0; i < 4; i++) {
                boolean all = true;
                for (int c = 0; c < 3; c++) {
                    all &= (z[i][c] > 0) == (multi[i][c] > 0);
                }
                exact += all ? 1 : 0;
            }
            assertEquals(exact / 4.0, got[1], 1e-12);

            Trainer.Examples rx = t.encode(tok, TEXTS, null, values);
            float[][] v = BertArrays.logits(ClassifierHead.POOLER, r, rx.encodings());
            double[] reg =
                    Loss.evaluate(
                            r, ClassifierHead.POOLER, rx, state, 3, null, ProblemType.REGRESSION);
            double mse = 0;
            for (int i = 0; i < 4; i++) {
                mse += (v[i][0] - (double) values[i][0]) * (v[i][0] - (double) values[i][0]) / 4;
            }
            assertEquals(1, reg.length);
            assertEquals(mse, reg[0], 1e-5);
        }
    }

    @Test
    void optionsWithoutMeaningForTheProblemTypeAreRefused() {
        try (HfTokenizer tok =
                        HfTokenizer.fromDirectory(
                                Fixtures.tinyBert(), TokenizerOptions.defaults());
                BertModel model = tinyAs(ProblemType.REGRESSION, 1)) {
            Trainer weighted =
                    new Trainer(TrainingConfig.builder().classWeights(new double[] {1}).build());
            Trainer plain = new Trainer(TrainingConfig.builder().build());
            float[][] values = {{1}, {2}, {3}, {4}};
            float[][] nan = {{1}, {Float.NaN}, {3}, {4}};
            assertRefused(
                    model, weighted, weighted.encode(tok, TEXTS, null, values), "classWeights");
            assertRefused(model, plain, plain.encode(tok, TEXTS, null, new int[4]), "regression");
            assertRefused(
                    model, plain, plain.encode(tok, TEXTS, null, nan), "example 1 has target NaN");
        }
    }

    /** Training {@code model} on {@code ex} fails with a message holding {@code fragment}. */
    private static void assertRefused(
            BertModel model, Trainer t, Trainer.Examples ex, String fragment) {
        IllegalArgumentException e =
                assertThrows(
                        IllegalArgumentException.class,
                        () -> t.train(model, ClassifierHead.POOLER, ex, null));
        assertTrue(e.getMessage().contains(fragment), e.getMessage());
    }

    /**
     * The gradient norm (W and b) of the probe's objective, in double precision from features
     * computed another way: multi-label the mean BCE over all entries (pos_weight {@code pw}) over
     * the classes marked fitted, regression the mean squared error; plus l2 / 2 ||W||^2.
     */
    static double[] probeObjective(
            BertModel model, double[][] x, float[][] y, double l2, double[] pw, boolean multi) {
        int k = model.numLabels();
        int h = x[0].length;
        float[] wf = model.parameters().get("classifier.weight").toFloatArray();
        float[] bf = model.parameters().get("classifier.bias").toFloatArray();
        double[][] gw = new double[k][h];
        double[] gb = new double[k];
        double loss = 0;
        int n = x.length;
        for (int i = 0; i < n; i++) {
            for (int c = 0; c < k; c++) {
                double z = bf[c];
                for (int j = 0; j < h; j++) {
                    z += wf[c * h + j] * x[i][j];
                }
                double d;
                if (multi) {
                    double p = pw == null ? 1 : pw[c];
                    double s = 1 / (1 + Math.exp(-z));
                    loss += (p * y[i][c] * softplus(-z) + (1 - y[i][c]) * softplus(z)) / (n * k);
                    d = (s * (1 + (p - 1) * y[i][c]) - p * y[i][c]) / (n * k);
                } else {
                    loss += (z - y[i][c]) * (z - y[i][c]) / n;
                    d = 2 * (z - y[i][c]) / n;
                }
                gb[c] += d;
                for (int j = 0; j < h; j++) {
                    gw[c][j] += d * x[i][j];
                }
            }
        }
        double norm = 0;
        for (int c = 0; c < k; c++) {
            norm += gb[c] * gb[c];
            for (int j = 0; j < h; j++) {
                double g = gw[c][j] + l2 * wf[c * h + j];
                norm += g * g;
            }
        }
        return new double[] {loss, Math.sqrt(norm)};
    }

    /**
     * The linear probe of a multi-label head (logistic regression per class, pos_weight from the
     * class weights) and of a regression head (ridge regression) reaches the objective's optimum:
     * its gradient, computed here in double precision, vanishes.
     */
    @Test
    void theLinearProbeFitsMultiLabelAndRegressionHeads() {
        float[][] multi = {{1, 0, 0}, {0, 1, 0}, {0, 1, 1}, {1, 0, 1}};
        float[][] values = {{1.5f}, {-0.5f}, {2.0f}, {0.25f}};
        double l2 = 1e-2;
        try (HfTokenizer tok =
                HfTokenizer.fromDirectory(Fixtures.tinyBert(), TokenizerOptions.defaults())) {
            for (int run = 0; run < 3; run++) {
                boolean isMulti = run < 2;
                double[] pw = run == 1 ? new double[] {2.0, 0.5, 1.0} : null;
                try (BertModel model =
                        isMulti
                                ? tinyAs(ProblemType.MULTI_LABEL, 3)
                                : tinyAs(ProblemType.REGRESSION, 1)) {
                    Trainer t = new Trainer(TrainingConfig.builder().build());
                    float[][] y = isMulti ? multi : values;
                    Trainer.Examples ex = t.encode(tok, TEXTS, null, y);
                    double[][] x = LinearProbeTest.meanFeatures(model, ex);
                    double[] before = probeObjective(model, x, y, l2, pw, isMulti);
                    LinearProbe.Result r = LinearProbe.fit(model, ClassifierHead.MEAN, ex, l2, pw);
                    double[] after = probeObjective(model, x, y, l2, pw, isMulti);
                    String what = "run " + run;
                    assertTrue(before[1] > 0.05, what + ": start gradient " + before[1]);
                    assertTrue(
                            after[1] <= 1.05 * LinearProbe.TOLERANCE,
                            what + ": gradient at the fit " + after[1]);
                    assertTrue(after[0] < before[0], what);
                    assertEquals(after[0], r.loss(), 1e-5, what);
                    assertEquals(after[1], r.gradNorm(), 1e-4, what);
                }
            }
        }
    }

    static float[] flat(float[][] rows) {
        float[] out = new float[rows.length * rows[0].length];
        for (int i = 0; i < rows.length; i++) {
            System.arraycopy(rows[i], 0, out, i * rows[0].length, rows[0].length);
        }
        return out;
    }
}
