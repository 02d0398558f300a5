package io.sparkbert.bert;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.GradientCollector;
import io.sparkbert.testing.BertArrays;
import io.sparkbert.testing.Fixtures;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/** Scoping, leaks, threads, dropout seeding, gradients and input checks of the engine. */
class BertModelBehaviourTest {
    static final long[][] IDS = {
        {101, 1045, 2572, 2428, 9364, 2007, 1996, 2765, 1012, 102},
        {101, 7592, 1010, 2088, 999, 102, 0, 0, 0, 0}
    };
    static final long[][] MASK = {{1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, {1, 1, 1, 1, 1, 1, 0, 0, 0, 0}};

    static long liveArrays() {
        // The parent of a base manager is the engine's system manager, root of every scope.
        try (NDManager probe = NDManager.newBaseManager()) {
            return probe.getParentManager().getManagedArrays().size();
        }
    }

    static long rssKb() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        return -1;
    }

    @Test
    void twoHundredBatchesLeakNoArraysAndNoNativeMemory() throws IOException {
        try (BertModel model = BertModel.builtIn(Device.cpu())) {
            // Small batches keep the test quick on a shared 2-core machine; a leak of even one
            // activation per batch still shows in the array count.
            long[][] ids = new long[8][16];
            long[][] mask = new long[8][16];
            for (int i = 0; i < ids.length; i++) {
                int len = 4 + i;
                for (int j = 0; j < len; j++) {
                    ids[i][j] = j == 0 ? 101 : j == len - 1 ? 102 : 1000 + (i * 31 + j * 7) % 20000;
                    mask[i][j] = 1;
                }
            }
            for (int i = 0; i < 20; i++) { // warm-up: allocator pools, lazy init
                BertArrays.embed(model, ids, null, mask, Pooling.MEAN, true);
            }
            int modelArrays = model.manager().getManagedArrays().size();
            long arraysBefore = liveArrays();
            long rssBefore = rssKb();
            long rssMid = 0;
            for (int i = 0; i < 200; i++) {
                if (i == 100) {
                    rssMid = rssKb();
                }
                if (i % 2 == 0) {
                    BertArrays.embed(model, ids, null, mask, Pooling.MEAN, true);
                } else {
                    try (NDManager scope = NDManager.newBaseManager(Device.cpu())) {
                        NDArray x = scope.create(ids);
                        NDArray m = scope.create(mask);
                        BertOutputs out = model.forward(scope, x, null, m, false);
                        assertEquals(384, out.lastHiddenState().getShape().get(2));
                    }
                }
                assertEquals(arraysBefore, liveArrays(), "live NDArrays after batch " + i);
            }
            long rssAfter = rssKb();
            System.out.printf(
                    "leak test: live arrays %d -> %d, model arrays %d, RSS %d MB -> %d MB (batch 100)"
                            + " -> %d MB (batch 200)%n",
                    arraysBefore,
                    liveArrays(),
                    modelArrays,
                    rssBefore / 1024,
                    rssMid / 1024,
                    rssAfter / 1024);
            assertEquals(modelArrays, model.manager().getManagedArrays().size());
            // A leaked batch holds ~1 MB of activations (8 x 16 x (384 + 1536) floats per layer);
            // 200 of them would add ~200 MB.
            // The allocator settles in the first half; the second half must stay flat.
            assertTrue(
                    rssAfter - rssMid < 20 * 1024,
                    "RSS grew " + (rssAfter - rssMid) / 1024 + " MB over batches 100..200");
            assertTrue(
                    rssAfter - rssBefore < 100 * 1024,
                    "RSS grew " + (rssAfter - rssBefore) / 1024 + " MB over 200 batches");
        }
    }

    @Test
    void forwardKeepsEverythingInTheCallersScope() {
        try (BertModel model = BertModel.load(Fixtures.tinyBert(), Device.cpu());
                NDManager callerInputs = NDManager.newBaseManager(Device.cpu())) {
            NDArray ids = callerInputs.create(IDS);
            NDArray mask = callerInputs.create(MASK);
            int inputArrays = callerInputs.getManagedArrays().size();
            int modelArrays = model.manager().getManagedArrays().size();
            try (NDManager scope = NDManager.newBaseManager(Device.cpu())) {
                BertOutputs out = model.forward(scope, ids, null, mask, false);
                assertNotNull(out.pooledOutput());
                assertEquals(scope, out.lastHiddenState().getManager());
                assertEquals(scope, out.logits().getManager());
                assertEquals(inputArrays, callerInputs.getManagedArrays().size());
                assertEquals(modelArrays, model.manager().getManagedArrays().size());
            }
        }
    }

    @Test
    void concurrentInferenceMatchesSingleThread() throws Exception {
        try (BertModel model = BertModel.builtIn(Device.cpu())) {
            float[][] expected = BertArrays.embed(model, IDS, null, MASK, Pooling.MEAN, false);
            ExecutorService pool = Executors.newFixedThreadPool(4);
            try {
                List<Future<float[][]>> results = new ArrayList<>();
                for (int i = 0; i < 40; i++) {
                    results.add(
                            pool.submit(
                                    () ->
                                            BertArrays.embed(
                                                    model, IDS, null, MASK, Pooling.MEAN, false)));
                }
                for (Future<float[][]> f : results) {
                    float[][] got = f.get();
                    for (int r = 0; r < expected.length; r++) {
                        assertArrayEquals(expected[r], got[r], 1e-6f);
                    }
                }
            } finally {
                pool.shutdown();
            }
        }
    }

    @Test
    void dropoutIsActiveInTrainingAndSeeded() {
        BertConfig config =
                BertConfig.load(Fixtures.tinyBert().resolve("config.json"))
                        .with("hidden_dropout_prob", 0.1)
                        .with("attention_probs_dropout_prob", 0.1);
        try (BertModel model = BertModel.initialize(config, true, true, 3, Device.cpu());
                NDManager scope = NDManager.newBaseManager(Device.cpu())) {
            NDArray ids = scope.create(IDS);
            NDArray mask = scope.create(MASK);
            float[] eval1 = model.forward(scope, ids, null, mask, false).logits().toFloatArray();
            float[] eval2 = model.forward(scope, ids, null, mask, false).logits().toFloatArray();
            assertArrayEquals(eval1, eval2, 0f);
            Engine.getInstance().setRandomSeed(42);
            float[] train1 = model.forward(scope, ids, null, mask, true).logits().toFloatArray();
            float[] train2 = model.forward(scope, ids, null, mask, true).logits().toFloatArray();
            Engine.getInstance().setRandomSeed(42);
            float[] train1Again =
                    model.forward(scope, ids, null, mask, true).logits().toFloatArray();
            assertFalse(java.util.Arrays.equals(eval1, train1), "dropout active in training");
            assertFalse(java.util.Arrays.equals(train1, train2), "fresh masks per call");
            assertArrayEquals(train1, train1Again, 0f, "same seed, same masks");
        }
    }

    @Test
    void gradientsReachEveryParameter() {
        try (BertModel model = BertModel.load(Fixtures.tinyBert(), Device.cpu());
                NDManager scope = NDManager.newBaseManager(Device.cpu())) {
            for (NDArray p : model.parameters().values()) {
                p.setRequiresGradient(true);
            }
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                BertOutputs out =
                        model.forward(scope, scope.create(IDS), null, scope.create(MASK), true);
                // An evaluation pass inside the collector must not switch recording off for
                // the training pass that follows.
                model.forward(scope, scope.create(IDS), null, scope.create(MASK), false);
                assertTrue(JniUtils.isGradMode());
                gc.backward(out.logits().get(":, 1").sum());
            }
            for (Map.Entry<String, NDArray> e : model.parameters().entrySet()) {
                try (NDArray g = e.getValue().getGradient()) {
                    assertTrue(g.abs().sum().getFloat() > 0, "no gradient for " + e.getKey());
                }
            }
            // Inference on the same thread afterwards records no graph.
            try (NDManager s2 = NDManager.newBaseManager(Device.cpu())) {
                NDArray logits =
                        model.forward(s2, s2.create(IDS), null, s2.create(MASK), false).logits();
                assertFalse(logits.hasGradient());
            }
        }
    }

    /**
     * Regression test for garbage gradients (norms of 1e9 to 1e27, NaN, with a normal loss) in
     * about one fine-tuning step in a thousand: the attention scale was a Java number, which DJL
     * wraps in a tensor over a Java direct buffer and frees at the next garbage collection while
     * autograd still holds it for backward. Here a collection runs between forward and backward in
     * every round; each round's gradient must equal the first one's bit for bit. Before the fix,
     * round 1 of this sequence gave a norm of 4.5e12 instead of 158.
     */
    @Test
    void gradientsSurviveAGarbageCollectionBetweenForwardAndBackward() throws InterruptedException {
        try (BertModel model = BertModel.load(Fixtures.tinyBert(), Device.cpu())) {
            for (NDArray p : model.parameters().values()) {
                p.setRequiresGradient(true);
            }
            double[] reference = null;
            for (int round = 0; round < 8; round++) {
                double[] norms = new double[model.parameters().size()];
                try (NDManager scope = NDManager.newBaseManager(Device.cpu())) {
                    Engine.getInstance().setRandomSeed(11);
                    NDArray loss;
                    try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                        BertOutputs out =
                                model.forward(
                                        scope, scope.create(IDS), null, scope.create(MASK), true);
                        loss = out.lastHiddenState().square().sum().add(out.logits().sum());
                        for (int i = 0; i < 3; i++) {
                            System.gc();
                            Thread.sleep(50);
                        }
                        gc.backward(loss);
                    }
                    int i = 0;
                    for (NDArray p : model.parameters().values()) {
                        try (NDArray g = p.getGradient()) {
                            norms[i++] = g.norm().getFloat();
                        }
                        JniUtils.zeroGrad((ai.djl.pytorch.engine.PtNDArray) p);
                    }
                }
                if (reference == null) {
                    reference = norms;
                } else {
                    assertArrayEquals(reference, norms, "gradient norms differ in round " + round);
                }
            }
            for (double n : reference) {
                assertTrue(Double.isFinite(n) && n < 1e6, "gradient norm " + n);
            }
        }
    }

    @Test
    void badInputsAreExplained() {
        try (BertModel model = BertModel.load(Fixtures.tinyBert(), Device.cpu())) {
            String msg =
                    assertThrows(
                                    IllegalArgumentException.class,
                                    () ->
                                            BertArrays.logits(
                                                    model, new long[][] {{101, 30522}}, null, null))
                            .getMessage();
            assertTrue(msg.contains("ids[0][1]=30522") && msg.contains("vocab_size"), msg);
            msg =
                    assertThrows(
                                    IllegalArgumentException.class,
                                    () ->
                                            BertArrays.logits(
                                                    model, new long[][] {{1, 2}, {1}}, null, null))
                            .getMessage();
            assertTrue(msg.contains("row 1") && msg.contains("pad"), msg);
            msg =
                    assertThrows(
                                    IllegalArgumentException.class,
                                    () ->
                                            BertArrays.logits(
                                                    model,
                                                    new long[][] {{1, 2}},
                                                    new long[][] {{0, 2}},
                                                    null))
                            .getMessage();
            assertTrue(msg.contains("typeIds[0][1]=2"), msg);
            msg =
                    assertThrows(
                                    IllegalArgumentException.class,
                                    () ->
                                            BertArrays.logits(
                                                    model,
                                                    new long[][] {new long[129]},
                                                    null,
                                                    null))
                            .getMessage();
            assertTrue(msg.contains("129") && msg.contains("max_position_embeddings"), msg);
            assertThrows(
                    IllegalArgumentException.class,
                    () -> BertArrays.embed(model, IDS, null, MASK, null, false));
            assertThrows(IllegalArgumentException.class, () -> Pooling.parse("max"));
            assertEquals(Pooling.MEAN, Pooling.parse("Mean"));
        }
        BertModel closed = BertModel.load(Fixtures.tinyBert(), Device.cpu());
        closed.close();
        closed.close(); // idempotent
        assertThrows(IllegalStateException.class, () -> BertArrays.logits(closed, IDS, null, MASK));
    }

    @Test
    void softmaxAndArgmax() {
        float[] p = Probabilities.softmax(new float[] {1000f, 1000f, -1000f});
        assertArrayEquals(new float[] {0.5f, 0.5f, 0f}, p, 1e-7f);
        assertEquals(1, Probabilities.argmax(new float[] {-1f, 3f, 3f, 2f}));
    }
}
