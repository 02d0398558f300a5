package io.sparkbert.bert.train;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.Map;

/**
 * AdamW with the update rule of {@code torch.optim.AdamW} (decoupled weight decay, bias correction,
 * {@code eps} added after the bias-corrected square root), applied in place with state made once
 * per parameter: a step allocates nothing the size of a parameter.
 *
 * <p>For a parameter {@code p} with gradient {@code g} at its {@code t}-th update: {@code g *=
 * gradScale}; {@code p *= 1 - lr*wd}; {@code m = b1*m + (1-b1)*g}; {@code v = b2*v + (1-b2)*g*g};
 * {@code p -= (lr/(1-b1^t)) * m / (sqrt(v)/sqrt(1-b2^t) + eps)}. {@code gradScale} carries a
 * global-norm clip ({@code torch.nn.utils.clip_grad_norm_} scales the gradients before the step).
 * The step count is kept per parameter, so a parameter that had no gradient in a step (torch skips
 * those) is not counted.
 *
 * <p><b>How.</b> A float32 parameter on the CPU is updated by one fused native loop ({@link
 * FusedAdamW}) that reads and writes every array once. Elsewhere (a GPU, or a build without the
 * native library) the same arithmetic runs as in-place NDArray operations using the gradient and
 * one scratch buffer per parameter as working memory. DJL's own {@code adamUpdate} is not used: it
 * clones the gradient and makes four more parameter-sized temporaries per call (and adds {@code
 * eps} before the bias correction, which only a per-step rescaled eps would fix).
 *
 * <p><b>The gradient is consumed:</b> after {@link #update} it holds zeros, ready for the next
 * backward pass to accumulate into (so the trainer need not zero it separately).
 *
 * <p>State lives in a sub-manager of the caller's manager, on the parameters' device, released by
 * {@link #close()} or with that manager. Deterministic: the same inputs give bit-identical results.
 * Not thread-safe.
 */
public final class AdamW implements AutoCloseable {
    private final double beta1;
    private final double beta2;
    private final double eps;
    private final boolean fused;
    private final Map<String, State> states = new HashMap<>();
    private final NDManager manager;
    private NDArray zero;

    /** Per-parameter state: moments, scratch (NDArray form only) and the update count. */
    private static final class State {
        final NDArray m;
        final NDArray v;
        NDArray scratch;
        ByteBuffer mBuffer;
        ByteBuffer vBuffer;
        boolean nativeChecked;
        boolean nativeOk;
        int t;

        State(NDArray m, NDArray v) {
            this.m = m;
            this.v = v;
        }
    }

    /**
     * An optimizer for parameters on {@code parent}'s device.
     *
     * @param parent the manager whose sub-manager holds the state (closed with it, or by {@link
     *     #close()})
     * @param beta1 first-moment decay, in [0, 1)
     * @param beta2 second-moment decay, in [0, 1)
     * @param eps added to the denominator, > 0
     */
    public AdamW(NDManager parent, double beta1, double beta2, double eps) {
        this(parent, beta1, beta2, eps, true);
    }

    /** As above; {@code allowFused=false} forces the NDArray form (tests compare the two). */
    AdamW(NDManager parent, double beta1, double beta2, double eps, boolean allowFused) {
        if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1) || !(eps > 0)) {
            throw new IllegalArgumentException(
                    "AdamW needs betas in [0, 1) and eps > 0, got beta1="
                            + beta1
                            + ", beta2="
                            + beta2
                            + ", eps="
                            + eps);
        }
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
        this.fused = allowFused && FusedAdamW.available();
        this.manager = parent.newSubManager();
    }

    /**
     * Updates {@code p} in place by its gradient {@code g}, which is left zeroed.
     *
     * @param name the parameter's name (keys its state)
     * @param p the parameter
     * @param g its gradient, same shape and device
     * @param lr the learning rate of this step
     * @param weightDecay decoupled weight decay (0 for none)
     * @param gradScale factor applied to the gradient first (1 for none)
     */
    public void update(
            String name, NDArray p, NDArray g, double lr, double weightDecay, double gradScale) {
        State s = states.computeIfAbsent(name, k -> newState(p));
        s.t++;
        double bc1 = 1 - Math.pow(beta1, s.t);
        double bc2Sqrt = Math.sqrt(1 - Math.pow(beta2, s.t));
        double stepSize = lr / bc1;
        double decay = 1 - lr * weightDecay;
        if (fused && nativeUsable(s, p, g)) {
            boolean done =
                    FusedAdamW.update(
                            buffer(p),
                            buffer(g),
                            s.mBuffer,
                            s.vBuffer,
                            p.size(),
                            (float) gradScale,
                            (float) decay,
                            (float) beta2,
                            (float) (1 - beta1),
                            (float) (1 - beta2),
                            (float) stepSize,
                            (float) bc2Sqrt,
                            (float) eps,
                            JniUtils.getNumThreads()); // the trainer's libtorch threads
            if (!done) {
                throw new IllegalStateException(
                        "AdamW: the native step refused the buffers of " + name);
            }
            return;
        }
        updateArrays(s, p, g, gradScale, decay, stepSize, bc2Sqrt);
    }

    /** How many updates {@code name} has had. */
    int steps(String name) {
        State s = states.get(name);
        return s == null ? 0 : s.t;
    }

    /** Releases the state. Idempotent. */
    @Override
    public void close() {
        states.clear();
        zero = null;
        manager.close();
    }

    private State newState(NDArray p) {
        NDArray m = manager.zeros(p.getShape(), p.getDataType(), p.getDevice());
        NDArray v = manager.zeros(p.getShape(), p.getDataType(), p.getDevice());
        return new State(m, v);
    }

    /**
     * The NDArray form, every operation in place. Working memory: {@code g} (free once the moments
     * have it) and the scratch buffer.
     */
    private void updateArrays(
            State s,
            NDArray p,
            NDArray g,
            double gradScale,
            double decay,
            double stepSize,
            double bc2Sqrt) {
        if (s.scratch == null) {
            s.scratch = manager.zeros(p.getShape(), p.getDataType(), p.getDevice());
        }
        if (zero == null) {
            zero = manager.zeros(new Shape(), p.getDataType(), p.getDevice());
        }
        if (gradScale != 1.0) {
            g.muli((float) gradScale);
        }
        if (decay != 1.0) {
            p.muli((float) decay);
        }
        // m = b1*m + (1-b1)*g and v = b2*v + (1-b2)*g*g, each term scaled in place (written as
        // (v - g*g)*b2 + g*g it would need no scratch, but loses three digits to cancellation).
        copy(s.scratch, g);
        s.m.muli((float) beta1).addi(s.scratch.muli((float) (1 - beta1)));
        g.muli(g).muli((float) (1 - beta2));
        s.v.muli((float) beta2).addi(g);
        // denominator in g: sqrt(v) / sqrt(1 - b2^t) + eps
        copy(g, s.v);
        g.powi(0.5f).divi((float) bc2Sqrt).addi((float) eps);
        // p -= stepSize * m / denominator
        copy(s.scratch, s.m);
        p.subi(s.scratch.divi(g).muli((float) stepSize));
        copy(g, zero);
    }

    /** {@code dst[...] = src} (broadcast), in place: libtorch's index_put_ over a full slice. */
    private static void copy(NDArray dst, NDArray src) {
        long rows = dst.getShape().get(0);
        JniUtils.indexSet(
                (PtNDArray) dst,
                (PtNDArray) src,
                new long[] {0},
                new long[] {rows},
                new long[] {1});
    }

    /**
     * Whether the fused step can work on {@code p} and {@code g} directly: float32 on the CPU and
     * their memory reachable as a direct buffer. The latter is checked (once per parameter, for
     * every gradient) by writing through the buffer and reading the value back through the array: a
     * non-contiguous array would be copied, and the copy updated instead.
     */
    private boolean nativeUsable(State s, NDArray p, NDArray g) {
        if (!s.nativeChecked) {
            s.nativeChecked = true;
            s.nativeOk =
                    Device.Type.CPU.equals(p.getDevice().getDeviceType())
                            && p.getDataType() == DataType.FLOAT32
                            && aliases(p);
            if (s.nativeOk) {
                s.mBuffer = buffer(s.m);
                s.vBuffer = buffer(s.v);
            }
        }
        return s.nativeOk
                && Device.Type.CPU.equals(g.getDevice().getDeviceType())
                && g.getDataType() == DataType.FLOAT32
                && p.getShape().equals(g.getShape())
                && aliases(g);
    }

    private static ByteBuffer buffer(NDArray a) {
        return JniUtils.getByteBuffer((PtNDArray) a, true);
    }

    private static boolean aliases(NDArray a) {
        if (a.size() == 0) {
            return false;
        }
        ByteBuffer b = buffer(a);
        if (!b.isDirect() || b.capacity() != a.size() * Float.BYTES) {
            return false;
        }
        float old = b.getFloat(0);
        float probe = old == 1.5f ? 2.5f : 1.5f;
        b.putFloat(0, probe);
        boolean seen;
        try (NDArray first = a.get(new NDIndex(new long[a.getShape().dimension()]))) {
            seen = first.getFloat() == probe;
        }
        b.putFloat(0, old);
        return seen;
    }
}
