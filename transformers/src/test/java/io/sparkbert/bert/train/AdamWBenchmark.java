package io.sparkbert.bert.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.jni.JniUtils;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The optimizer step alone, on the parameter shapes of the built-in MiniLM (22.7M floats, the
 * 30,522 x 384 word-embedding table included): process CPU time and wall time per step of {@link
 * AdamW} (fused and NDArray forms) against the update the trainer used before it (torch's rule with
 * a fresh temporary per operation, the clip as a multiplied copy, the gradient zeroed by a fill).
 * Rounds alternate, so a shared machine's load hits all three alike. A benchmark, not a test:
 * {@code java -cp <test classpath> io.sparkbert.bert.train.AdamWBenchmark [steps] [rounds]}.
 */
public final class AdamWBenchmark {
    private AdamWBenchmark() {}

    static List<Shape> miniLmShapes() {
        List<Shape> s = new ArrayList<>();
        s.add(new Shape(30522, 384));
        s.add(new Shape(512, 384));
        s.add(new Shape(2, 384));
        s.add(new Shape(384));
        s.add(new Shape(384));
        for (int layer = 0; layer < 6; layer++) {
            for (int i = 0; i < 4; i++) {
                s.add(new Shape(384, 384));
                s.add(new Shape(384));
            }
            s.add(new Shape(1536, 384));
            s.add(new Shape(1536));
            s.add(new Shape(384, 1536));
            s.add(new Shape(384));
            for (int i = 0; i < 4; i++) {
                s.add(new Shape(384));
            }
        }
        s.add(new Shape(2, 384));
        s.add(new Shape(2));
        return s;
    }

    /** The trainer's update before AdamW: every operation makes a full-size temporary. */
    static void previousUpdate(
            NDManager scope, NDArray p, NDArray g, NDArray[] mv, int t, double lr, double scale) {
        double b1 = 0.9;
        double b2 = 0.999;
        NDArray grad = scale == 1.0 ? g : keep(scope, g.mul((float) scale));
        p.muli((float) (1 - lr * 0.01));
        mv[0].muli((float) b1).addi(keep(scope, grad.mul((float) (1 - b1))));
        mv[1].muli((float) b2).addi(keep(scope, grad.square()).muli((float) (1 - b2)));
        NDArray denom = keep(scope, mv[1].sqrt()).divi((float) Math.sqrt(1 - Math.pow(b2, t)));
        denom.addi(1e-8f);
        p.subi(keep(scope, mv[0].div(denom)).muli((float) (lr / (1 - Math.pow(b1, t)))));
    }

    private static NDArray keep(NDManager scope, NDArray a) {
        a.attach(scope);
        return a;
    }

    private static long cpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean)
                        ManagementFactory.getOperatingSystemMXBean())
                .getProcessCpuTime();
    }

    public static void main(String[] args) {
        int steps = args.length > 0 ? Integer.parseInt(args[0]) : 10;
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 3;
        ai.djl.engine.Engine.getInstance();
        JniUtils.setNumThreads(Runtime.getRuntime().availableProcessors());
        JniUtils.setGradMode(false);
        List<Shape> shapes = miniLmShapes();
        long floats = shapes.stream().mapToLong(Shape::size).sum();
        System.out.printf(
                Locale.ROOT,
                "%d parameters, %.1fM floats, fused native step available: %s%n",
                shapes.size(),
                floats / 1e6,
                FusedAdamW.available());
        String[] names = {"before (temporaries)", "AdamW NDArray form", "AdamW fused"};
        double[][] cpu = new double[3][rounds];
        double[][] wall = new double[3][rounds];
        try (NDManager base = NDManager.newBaseManager()) {
            List<NDArray> params = new ArrayList<>();
            List<NDArray> source = new ArrayList<>();
            List<NDArray> grads = new ArrayList<>();
            for (Shape s : shapes) {
                params.add(base.randomNormal(s).muli(0.02f));
                source.add(base.randomNormal(s).muli(1e-3f));
                grads.add(base.zeros(s));
            }
            for (int r = 0; r < rounds; r++) {
                for (int variant = 0; variant < 3; variant++) {
                    try (NDManager run = base.newSubManager()) {
                        List<NDArray[]> moments = new ArrayList<>();
                        for (Shape s : shapes) {
                            moments.add(new NDArray[] {run.zeros(s), run.zeros(s)});
                        }
                        AdamW opt = new AdamW(run, 0.9, 0.999, 1e-8, variant == 2);
                        long c = 0;
                        long w = 0;
                        for (int t = 1; t <= steps; t++) {
                            for (int i = 0; i < shapes.size(); i++) {
                                grads.get(i).muli(0f).addi(source.get(i));
                            }
                            long c0 = cpuNanos();
                            long w0 = System.nanoTime();
                            try (NDManager scope = run.newSubManager()) {
                                for (int i = 0; i < shapes.size(); i++) {
                                    NDArray p = params.get(i);
                                    NDArray g = grads.get(i);
                                    if (variant == 0) {
                                        previousUpdate(scope, p, g, moments.get(i), t, 5e-5, 0.5);
                                        g.muli(0f);
                                    } else {
                                        opt.update("p" + i, p, g, 5e-5, 0.01, 0.5);
                                    }
                                }
                            }
                            c += cpuNanos() - c0;
                            w += System.nanoTime() - w0;
                        }
                        opt.close();
                        cpu[variant][r] = c / 1e6 / steps;
                        wall[variant][r] = w / 1e6 / steps;
                    }
                }
            }
        }
        for (int v = 0; v < 3; v++) {
            StringBuilder sb = new StringBuilder();
            for (int r = 0; r < rounds; r++) {
                sb.append(String.format(Locale.ROOT, " %.0f/%.0f", cpu[v][r], wall[v][r]));
            }
            System.out.printf(
                    Locale.ROOT, "%-22s CPU/wall ms per step by round:%s%n", names[v], sb);
        }
    }
}
