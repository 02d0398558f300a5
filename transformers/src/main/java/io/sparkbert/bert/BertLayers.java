package io.sparkbert.bert;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import ai.djl.nn.Activation;
import ai.djl.nn.core.Embedding;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.Dropout;
import ai.djl.nn.norm.LayerNorm;
import java.util.Map;

/**
 * The blocks of {@link BertModel}'s forward pass over its parameters: embeddings, the encoder
 * layers (attention and feed-forward), and the linear, LayerNorm and dropout operations the pooler
 * and head use too. Reads the parameters only; every array it creates lives in the caller's scope.
 * Thread-safe as {@link BertModel#forward} is.
 */
final class BertLayers {
    private final BertConfig config;
    private final Map<String, NDArray> params;

    BertLayers(BertConfig config, Map<String, NDArray> params) {
        this.config = config;
        this.params = params;
    }

    NDArray encode(NDManager scope, NDArray ids, NDArray types, NDArray mask, boolean training) {
        if (ids == null || ids.getShape().dimension() != 2) {
            throw new IllegalArgumentException(
                    "inputIds must be [batch, seq], got " + (ids == null ? null : ids.getShape()));
        }
        Shape shape = ids.getShape();
        long batch = shape.get(0);
        long seq = shape.get(1);
        if (seq < 1 || seq > config.maxPositionEmbeddings()) {
            throw new IllegalArgumentException(
                    "sequence length "
                            + seq
                            + " is outside 1.."
                            + config.maxPositionEmbeddings()
                            + " (max_position_embeddings); truncate the input.");
        }
        checkSame("tokenTypeIds", types, shape);
        checkSame("attentionMask", mask, shape);
        NDArray x = inScope(scope, ids).toType(DataType.INT64, false);
        NDArray tt =
                types == null
                        ? scope.zeros(shape, DataType.INT64)
                        : inScope(scope, types).toType(DataType.INT64, false);
        NDArray positions = scope.arange(0, (int) seq, 1, DataType.INT64).reshape(1, seq);
        NDArray keep =
                mask == null
                        ? scope.ones(shape, DataType.FLOAT32)
                        : inScope(scope, mask).toType(DataType.FLOAT32, false);
        // [batch, 1, 1, seq]: 0 where attended, finfo(float32).min where masked.
        NDArray additiveMask = keep.neg().add(1f).mul(-Float.MAX_VALUE).reshape(batch, 1, 1, seq);

        NDArray h =
                Embedding.embedding(x, p("embeddings.word_embeddings.weight"), SparseFormat.DENSE)
                        .singletonOrThrow()
                        .add(
                                Embedding.embedding(
                                                positions,
                                                p("embeddings.position_embeddings.weight"),
                                                SparseFormat.DENSE)
                                        .singletonOrThrow())
                        .add(
                                Embedding.embedding(
                                                tt,
                                                p("embeddings.token_type_embeddings.weight"),
                                                SparseFormat.DENSE)
                                        .singletonOrThrow());
        h = layerNorm(h, "embeddings.LayerNorm");
        h = dropout(h, config.hiddenDropoutProb(), training);
        NDArray scoreScale =
                BertModel.ownedScalar(scope, (float) (1.0 / Math.sqrt(config.headSize())));
        for (int l = 0; l < config.numHiddenLayers(); l++) {
            // Per-layer scope: the layer's intermediates are released as soon as it is done
            // (autograd keeps its own references to what backward needs).
            try (NDManager layerScope = scope.newSubManager()) {
                h.attach(layerScope);
                NDArray out =
                        layer(h, additiveMask, scoreScale, "encoder.layer." + l + ".", training);
                out.attach(scope);
                h = out;
            }
        }
        return h;
    }

    private NDArray layer(
            NDArray h, NDArray additiveMask, NDArray scoreScale, String p, boolean training) {
        Shape s = h.getShape();
        long b = s.get(0);
        long n = s.get(1);
        int heads = config.numAttentionHeads();
        int hd = config.headSize();
        String a = p + "attention.self.";
        NDArray q = linear(h, a + "query").reshape(b, n, heads, hd).transpose(0, 2, 1, 3);
        NDArray kT = linear(h, a + "key").reshape(b, n, heads, hd).transpose(0, 2, 3, 1);
        NDArray v = linear(h, a + "value").reshape(b, n, heads, hd).transpose(0, 2, 1, 3);
        NDArray scores = q.matMul(kT).mul(scoreScale).add(additiveMask);
        NDArray probs = dropout(scores.softmax(-1), config.attentionProbsDropoutProb(), training);
        NDArray context = probs.matMul(v).transpose(0, 2, 1, 3).reshape(b, n, (long) heads * hd);
        NDArray attn = linear(context, p + "attention.output.dense");
        attn = dropout(attn, config.hiddenDropoutProb(), training);
        attn = layerNorm(attn.add(h), p + "attention.output.LayerNorm");
        NDArray inter = Activation.gelu(linear(attn, p + "intermediate.dense"));
        NDArray out = linear(inter, p + "output.dense");
        out = dropout(out, config.hiddenDropoutProb(), training);
        return layerNorm(out.add(attn), p + "output.LayerNorm");
    }

    private NDArray p(String name) {
        return params.get(name);
    }

    NDArray linear(NDArray x, String prefix) {
        return Linear.linear(x, p(prefix + ".weight"), p(prefix + ".bias")).singletonOrThrow();
    }

    private NDArray layerNorm(NDArray x, String prefix) {
        return LayerNorm.layerNorm(
                        x,
                        new Shape(config.hiddenSize()),
                        p(prefix + ".weight"),
                        p(prefix + ".bias"),
                        (float) config.layerNormEps())
                .singletonOrThrow();
    }

    static NDArray dropout(NDArray x, double rate, boolean training) {
        if (!training || rate == 0) {
            return x;
        }
        return Dropout.dropout(x, (float) rate, true).singletonOrThrow();
    }

    static NDArray inScope(NDManager scope, NDArray a) {
        if (a.getManager() == scope) {
            return a;
        }
        NDArray copy = a.duplicate();
        copy.attach(scope);
        return copy;
    }

    private static void checkSame(String name, NDArray a, Shape expected) {
        if (a != null && !a.getShape().equals(expected)) {
            throw new IllegalArgumentException(
                    name + " has shape " + a.getShape() + " but inputIds has " + expected);
        }
    }
}
