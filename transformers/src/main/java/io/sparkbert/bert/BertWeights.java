package io.sparkbert.bert;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.nio.FloatBuffer;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * The parameters of a {@link BertModel}: the HF names and shapes a config implies, the checks a set
 * of tensors must pass to become a model, and HF's initialisation of new ones. Stateless and
 * thread-safe.
 */
final class BertWeights {
    private BertWeights() {}

    /** See {@link BertModel#expectedShapes}. */
    static Map<String, Shape> expectedShapes(
            BertConfig config, boolean pooler, boolean classifier) {
        long h = config.hiddenSize();
        long i = config.intermediateSize();
        Map<String, Shape> m = new LinkedHashMap<>();
        m.put("embeddings.word_embeddings.weight", new Shape(config.vocabSize(), h));
        m.put(
                "embeddings.position_embeddings.weight",
                new Shape(config.maxPositionEmbeddings(), h));
        m.put("embeddings.token_type_embeddings.weight", new Shape(config.typeVocabSize(), h));
        m.put("embeddings.LayerNorm.weight", new Shape(h));
        m.put("embeddings.LayerNorm.bias", new Shape(h));
        for (int l = 0; l < config.numHiddenLayers(); l++) {
            String p = "encoder.layer." + l + ".";
            for (String qkv : new String[] {"query", "key", "value"}) {
                m.put(p + "attention.self." + qkv + ".weight", new Shape(h, h));
                m.put(p + "attention.self." + qkv + ".bias", new Shape(h));
            }
            m.put(p + "attention.output.dense.weight", new Shape(h, h));
            m.put(p + "attention.output.dense.bias", new Shape(h));
            m.put(p + "attention.output.LayerNorm.weight", new Shape(h));
            m.put(p + "attention.output.LayerNorm.bias", new Shape(h));
            m.put(p + "intermediate.dense.weight", new Shape(i, h));
            m.put(p + "intermediate.dense.bias", new Shape(i));
            m.put(p + "output.dense.weight", new Shape(h, i));
            m.put(p + "output.dense.bias", new Shape(h));
            m.put(p + "output.LayerNorm.weight", new Shape(h));
            m.put(p + "output.LayerNorm.bias", new Shape(h));
        }
        if (pooler) {
            m.put("pooler.dense.weight", new Shape(h, h));
            m.put("pooler.dense.bias", new Shape(h));
        }
        if (classifier) {
            m.put("classifier.weight", new Shape(config.numLabels(), h));
            m.put("classifier.bias", new Shape(config.numLabels()));
        }
        return m;
    }

    /**
     * The tensors in state-dict order, each named after its key, once their names, shapes and dtype
     * match the config.
     *
     * @throws IllegalArgumentException naming {@code source} and the tensor otherwise
     */
    static Map<String, NDArray> checked(
            BertConfig config,
            Map<String, NDArray> byName,
            boolean hasPooler,
            boolean hasClassifier,
            String source) {
        Map<String, Shape> expected = expectedShapes(config, hasPooler, hasClassifier);
        Map<String, NDArray> ordered = new LinkedHashMap<>();
        for (Map.Entry<String, Shape> e : expected.entrySet()) {
            NDArray a = byName.get(e.getKey());
            if (a == null) {
                throw new IllegalArgumentException(
                        source
                                + ": missing tensor "
                                + e.getKey()
                                + " (expected shape "
                                + e.getValue()
                                + ")");
            }
            if (!a.getShape().equals(e.getValue())) {
                throw new IllegalArgumentException(
                        source
                                + ": tensor "
                                + e.getKey()
                                + " has shape "
                                + a.getShape()
                                + " but the config expects "
                                + e.getValue());
            }
            if (a.getDataType() != DataType.FLOAT32) {
                throw new IllegalArgumentException(
                        source
                                + ": tensor "
                                + e.getKey()
                                + " is "
                                + a.getDataType()
                                + ", expected float32");
            }
            a.setName(e.getKey());
            ordered.put(e.getKey(), a);
        }
        for (String k : byName.keySet()) {
            if (!expected.containsKey(k)) {
                throw new IllegalArgumentException(source + ": unexpected tensor " + k);
            }
        }
        // A mean- or cls-pooled classifier needs no pooler (HfExport writes it without one); an HF
        // BertForSequenceClassification head does.
        String pooling = config.headPooling();
        if (!hasPooler && hasClassifier && !"mean".equals(pooling) && !"cls".equals(pooling)) {
            throw new IllegalArgumentException(
                    source
                            + ": has classifier weights but no pooler (missing"
                            + " pooler.dense.weight); a BertForSequenceClassification checkpoint"
                            + " carries both.");
        }
        return ordered;
    }

    /** See {@link BertModel#initialize}. */
    static BertModel initialize(
            BertConfig config,
            boolean withPooler,
            boolean withClassifier,
            long seed,
            Device device) {
        if (withClassifier && !withPooler) {
            throw new IllegalArgumentException("withClassifier=true needs withPooler=true");
        }
        NDManager m = BertModel.parameterManager(device);
        try {
            Random rnd = new Random(seed);
            Map<String, NDArray> p = new LinkedHashMap<>();
            for (Map.Entry<String, Shape> e :
                    expectedShapes(config, withPooler, withClassifier).entrySet()) {
                p.put(e.getKey(), initTensor(m, config, e.getKey(), e.getValue(), rnd));
            }
            return new BertModel(config, m, p, "initialised model");
        } catch (RuntimeException e) {
            m.close();
            throw e;
        }
    }

    /** See {@link BertModel#withFreshClassifier(List, long)}. */
    static BertModel withFreshClassifier(BertModel model, List<String> labels, long seed) {
        BertConfig newConfig = model.config().withLabels(labels);
        NDManager m = BertModel.parameterManager(model.device());
        try {
            Random rnd = new Random(seed);
            Map<String, NDArray> p = new LinkedHashMap<>();
            for (Map.Entry<String, Shape> e : expectedShapes(newConfig, true, true).entrySet()) {
                String k = e.getKey();
                NDArray existing = k.startsWith("classifier.") ? null : model.parameters().get(k);
                if (existing != null) {
                    NDArray copy = existing.duplicate();
                    copy.attach(m);
                    p.put(k, copy);
                } else {
                    p.put(k, initTensor(m, newConfig, k, e.getValue(), rnd));
                }
            }
            return new BertModel(newConfig, m, p, "model with fresh classifier");
        } catch (RuntimeException e) {
            m.close();
            throw e;
        }
    }

    private static NDArray initTensor(
            NDManager m, BertConfig config, String name, Shape shape, Random rnd) {
        float[] v = new float[Math.toIntExact(shape.size())];
        if (name.endsWith("LayerNorm.weight")) {
            Arrays.fill(v, 1f);
        } else if (name.endsWith(".weight")) {
            double std = config.initializerRange();
            for (int i = 0; i < v.length; i++) {
                v[i] = (float) (rnd.nextGaussian() * std);
            }
            if (name.equals("embeddings.word_embeddings.weight")) {
                String pad = config.rawValue("pad_token_id");
                int padId = pad == null || "null".equals(pad) ? 0 : (int) Double.parseDouble(pad);
                if (padId >= 0 && padId < shape.get(0)) {
                    Arrays.fill(
                            v,
                            (int) (padId * shape.get(1)),
                            (int) ((padId + 1) * shape.get(1)),
                            0f);
                }
            }
        }
        return m.create(FloatBuffer.wrap(v), shape);
    }
}
