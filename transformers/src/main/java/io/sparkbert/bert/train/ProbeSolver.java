package io.sparkbert.bert.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import io.sparkbert.bert.ProblemType;

/**
 * The {@link LinearProbe}'s objectives and solvers: the per-problem-type probe problems (softmax
 * cross-entropy with left-out classes masked, per-class BCE, squared error) with their hand-written
 * gradients, the full-batch Adam descent, and the closed-form ridge solve used for regression.
 * Stateless.
 */
final class ProbeSolver {
    private ProbeSolver() {}

    /**
     * The regression probe in closed form: ridge regression {@code mean((X w + b - y)^2) + l2 / 2
     * ||w||^2} with an unpenalised bias has the optimum {@code (2/n Xc^T Xc + l2 I) w = 2/n Xc^T
     * yc}, {@code b = mean(y) - mean(X) w} (Xc, yc centred), solved by Cholesky in double
     * precision. Adam, which serves the other probes, crawls on this objective when the features
     * are ill-conditioned; the exact solve costs one [hidden, hidden] product. Returns 0 steps.
     */
    static int solveRidge(Problem p) {
        int n = p.n();
        int h = (int) p.x().getShape().get(1);
        float[] xf = p.x().toFloatArray();
        float[] yf = p.targets().toFloatArray();
        double[] mean = new double[h];
        double yMean = 0;
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < h; j++) {
                mean[j] += xf[i * h + j] / (double) n;
            }
            yMean += yf[i] / (double) n;
        }
        double[][] a = new double[h][h];
        double[] rhs = new double[h];
        double[] row = new double[h];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < h; j++) {
                row[j] = xf[i * h + j] - mean[j];
            }
            double yc = yf[i] - yMean;
            for (int j = 0; j < h; j++) {
                double rj = row[j] * 2.0 / n;
                rhs[j] += rj * yc;
                for (int m = 0; m <= j; m++) {
                    a[j][m] += rj * row[m];
                }
            }
        }
        for (int j = 0; j < h; j++) {
            a[j][j] += p.l2();
        }
        double[] w = choleskySolve(a, rhs);
        double b = yMean;
        float[] wf = new float[h];
        for (int j = 0; j < h; j++) {
            b -= mean[j] * w[j];
            wf[j] = (float) w[j];
        }
        p.w().set(wf);
        p.b().set(new float[] {(float) b});
        return 0;
    }

    /** Solves {@code a x = rhs} for a symmetric positive definite {@code a} (lower half used). */
    static double[] choleskySolve(double[][] a, double[] rhs) {
        int h = rhs.length;
        double[][] l = new double[h][h];
        for (int j = 0; j < h; j++) {
            for (int m = 0; m <= j; m++) {
                double sum = a[j][m];
                for (int q = 0; q < m; q++) {
                    sum -= l[j][q] * l[m][q];
                }
                l[j][m] = j == m ? Math.sqrt(sum) : sum / l[m][m];
            }
        }
        double[] z = new double[h];
        for (int j = 0; j < h; j++) {
            double sum = rhs[j];
            for (int q = 0; q < j; q++) {
                sum -= l[j][q] * z[q];
            }
            z[j] = sum / l[j][j];
        }
        double[] x = new double[h];
        for (int j = h - 1; j >= 0; j--) {
            double sum = z[j];
            for (int q = j + 1; q < h; q++) {
                sum -= l[q][j] * x[q];
            }
            x[j] = sum / l[j][j];
        }
        return x;
    }

    /**
     * One-hot targets, per-row weights and the classes that carry weight. A class without weight
     * (no example, or class weight 0) has no finite optimum: the softmax would push its bias down
     * for ever. Only the other classes are fitted.
     */
    record Labels(
            float[] onehot,
            float[] rowWeight,
            double weightSum,
            boolean[] fitted,
            int fittedCount) {
        static Labels of(Trainer.Examples data, int k, double[] classWeights) {
            int n = data.size();
            float[] onehot = new float[n * k];
            float[] rowWeight = new float[n];
            double weightSum = 0;
            boolean[] fitted = new boolean[k];
            int fittedCount = 0;
            for (int i = 0; i < n; i++) {
                int y = data.labels()[i];
                onehot[i * k + y] = 1f;
                rowWeight[i] = classWeights == null ? 1f : (float) classWeights[y];
                weightSum += rowWeight[i];
                if (rowWeight[i] > 0 && !fitted[y]) {
                    fitted[y] = true;
                    fittedCount++;
                }
            }
            return new Labels(onehot, rowWeight, weightSum, fitted, fittedCount);
        }
    }

    /** The objective's data and the head's parameters (updated in place). */
    record Problem(
            NDArray x,
            NDArray targets,
            NDArray share,
            Mask mask,
            NDArray w,
            NDArray b,
            double l2,
            int n,
            ProblemType type,
            NDArray coef,
            NDArray cols) {
        NDArray[] gradient(NDManager scope) {
            if (type != ProblemType.SINGLE_LABEL) {
                return ProbeSolver.gradientOther(scope, this);
            }
            return ProbeSolver.gradient(scope, this);
        }
    }

    /**
     * [dW, db] of the multi-label objective (G = (sigmoid(z) A - p y) / (n k), A = 1 + (p - 1) y,
     * masked to the fitted classes) or the regression one (G = 2 (z - y) / n); dW = G^T X + l2 W,
     * db = sum G.
     */
    static NDArray[] gradientOther(NDManager scope, Problem p) {
        NDArray z = logits(scope, p.x(), null, p.w(), p.b());
        NDArray g;
        if (p.type() == ProblemType.REGRESSION) {
            g = z.sub(p.targets()).mul(2f / p.n());
        } else {
            // sigmoid(z) A - p y = (sigmoid(z) - 1) A + 1 - y, as p y = A - 1 + y.
            NDArray s = Activation.sigmoid(z).sub(1f).mul(p.coef()).add(1f).sub(p.targets());
            g = s.div((float) p.n() * p.targets().getShape().get(1));
            if (p.cols() != null) {
                g = g.mul(p.cols());
            }
        }
        NDArray gw = g.transpose().matMul(p.x()).add(keep(scope, p.w().mul((float) p.l2())));
        if (p.cols() != null) {
            gw = gw.mul(p.cols().transpose());
        }
        NDArray gb = g.sum(new int[] {0});
        return new NDArray[] {keep(scope, gw), keep(scope, gb)};
    }

    /**
     * Adam steps until the gradient norm is at most {@link LinearProbe#TOLERANCE}; returns the
     * steps taken.
     */
    static int descend(NDManager scope, Problem p) {
        AdamW adam = new AdamW(scope, LinearProbe.BETA1, LinearProbe.BETA2, LinearProbe.EPS);
        int steps = 0;
        for (int t = 1; t <= LinearProbe.MAX_STEPS; t++) {
            try (NDManager stepScope = scope.newSubManager()) {
                NDArray[] g = p.gradient(stepScope);
                if (norm(g) <= LinearProbe.TOLERANCE) {
                    break;
                }
                adam.update("classifier.weight", p.w(), g[0], LinearProbe.LEARNING_RATE, 0, 1);
                adam.update("classifier.bias", p.b(), g[1], LinearProbe.LEARNING_RATE, 0, 1);
                steps = t;
            }
        }
        return steps;
    }

    /**
     * The classes left out of the fit: {@code shift} [1, k] is 0 for fitted classes and a large
     * negative number for the others, so their softmax share is exactly 0; {@code rows} [k, 1] is 1
     * for fitted classes and 0 for the others, so their weight rows get no gradient (and Adam, from
     * zero moments, never moves them).
     */
    record Mask(NDArray shift, NDArray rows) {
        Mask(NDManager scope, boolean[] fitted) {
            this(
                    scope.create(values(fitted, 0f, -1e30f), new Shape(1, fitted.length)),
                    scope.create(values(fitted, 1f, 0f), new Shape(fitted.length, 1)));
        }

        static float[] values(boolean[] fitted, float in, float out) {
            float[] v = new float[fitted.length];
            for (int c = 0; c < v.length; c++) {
                v[c] = fitted[c] ? in : out;
            }
            return v;
        }
    }

    /**
     * [dW, db] of the single-label objective at the problem's (w, b), in {@code scope}; mask null:
     * every class is fitted.
     */
    static NDArray[] gradient(NDManager scope, Problem p) {
        // Every temporary goes to the step's scope: results of an op land in the manager of its
        // first operand, and w, b and x belong to longer-lived managers.
        NDArray logits = logits(scope, p.x(), p.mask(), p.w(), p.b());
        // A class left out has softmax share 0 and no target: its column of diff is 0.
        NDArray diff = logits.softmax(1).sub(p.targets());
        NDArray g = p.share() == null ? diff.div((float) p.n()) : diff.mul(p.share());
        NDArray gw = g.transpose().matMul(p.x()).add(keep(scope, p.w().mul((float) p.l2())));
        if (p.mask() != null) {
            gw = gw.mul(p.mask().rows());
        }
        NDArray gb = g.sum(new int[] {0});
        return new NDArray[] {keep(scope, gw), keep(scope, gb)};
    }

    /** X W^T + b (plus the mask's shift), in {@code scope}. */
    static NDArray logits(NDManager scope, NDArray x, Mask mask, NDArray w, NDArray b) {
        NDArray xw = keep(scope, x.matMul(keep(scope, w.transpose())));
        NDArray z = xw.add(b);
        return mask == null ? z : z.add(mask.shift());
    }

    /** The L2 norm of all of {@code parts} together. */
    static double norm(NDArray[] parts) {
        double sum = 0;
        for (NDArray p : parts) {
            sum += p.square().sum().getFloat();
        }
        return Math.sqrt(sum);
    }

    static NDArray keep(NDManager scope, NDArray a) {
        a.attach(scope);
        return a;
    }

    /**
     * The objective's loss part and the accuracy (NaN for regression) of {@code logits} on the
     * problem's own targets: {loss, accuracy}.
     */
    static double[] lossAndAccuracy(Problem p, NDArray logits) {
        double loss;
        double accuracy;
        if (p.type() == ProblemType.SINGLE_LABEL) {
            NDArray nll = logits.logSoftmax(1).mul(p.targets()).sum(new int[] {1}).neg();
            NDArray share = p.share();
            loss = (share == null ? nll.mean() : nll.mul(share.reshape(-1)).sum()).getFloat();
            accuracy = logits.argMax(1).eq(p.targets().argMax(1)).sum().getLong() / (double) p.n();
        } else if (p.type() == ProblemType.REGRESSION) {
            loss = Loss.mse(logits, p.targets()).getFloat();
            accuracy = Double.NaN;
        } else {
            // The objective's BCE part: mean((1 - y) z + A softplus(-z)), A = 1 + (p - 1) y.
            NDArray y = p.targets();
            loss =
                    y.neg()
                            .add(1f)
                            .mul(logits)
                            .add(Activation.softPlus(logits.neg()).mul(p.coef()))
                            .mean()
                            .getFloat();
            accuracy =
                    Loss.exactMatches(logits.toFloatArray(), y.toFloatArray(), p.n())
                            / (double) p.n();
        }
        return new double[] {loss, accuracy};
    }
}
