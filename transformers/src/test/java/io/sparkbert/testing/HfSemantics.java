package io.sparkbert.testing;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.apache.commons.math3.special.Erf;

/**
 * An independent reading of a checkpoint folder the way HuggingFace {@code transformers} reads it,
 * for tests of what spark-bert exports: a plain double-precision forward pass over the raw
 * safetensors bytes, sharing no code with the engine (its own header parser, its own arithmetic).
 *
 * <p>It knows only what HF knows: {@code config.json}'s standard keys ({@code model_type} must be
 * {@code bert}; the {@code sparkbert} key is never read), HF's tensor names (with HF's renaming of
 * the legacy {@code LayerNorm.gamma}/{@code beta}), and the two model classes tests need:
 *
 * <ul>
 *   <li>{@link #sequenceClassificationLogits}: {@code BertForSequenceClassification} in eval mode,
 *       always {@code classifier(tanh(pooler.dense(h[CLS])))}. Where HF would initialise a missing
 *       pooler or classifier at random (and warn), this throws instead: a test must not compare
 *       against random weights.
 *   <li>{@link #lastHiddenState}: {@code BertModel}'s last hidden state.
 * </ul>
 *
 * <p>Checked against HF's own outputs on the reference checkpoint (HfSemanticsTest). Not
 * thread-safe; a test helper.
 */
public final class HfSemantics {
    private final Map<String, double[]> tensors = new HashMap<>();
    private final int hidden;
    private final int heads;
    private final int layers;
    private final double eps;
    private final boolean hasPrefix;
    private final JsonObject config;

    private HfSemantics(Path dir) throws IOException {
        JsonObject cfg =
                JsonParser.parseString(Files.readString(dir.resolve("config.json")))
                        .getAsJsonObject();
        String type = cfg.get("model_type").getAsString();
        if (!"bert".equals(type)) {
            throw new IllegalArgumentException(
                    "HF would not build a BERT model: model_type " + type);
        }
        config = cfg;
        hidden = cfg.get("hidden_size").getAsInt();
        heads = cfg.get("num_attention_heads").getAsInt();
        layers = cfg.get("num_hidden_layers").getAsInt();
        JsonElement e = cfg.get("layer_norm_eps");
        eps = e == null ? 1e-12 : e.getAsDouble();
        tensors.putAll(tensorsOf(dir.resolve("model.safetensors")));
        hasPrefix = tensors.keySet().stream().anyMatch(k -> k.startsWith("bert."));
    }

    /** Reads {@code dir} (config.json and model.safetensors, nothing else) as HF would. */
    public static HfSemantics read(Path dir) throws IOException {
        return new HfSemantics(dir);
    }

    /**
     * The loss HF's {@code BertForSequenceClassification} would train with, from config.json alone:
     * {@code problem_type} when set, else {@code regression} for one label ({@code id2label} size,
     * or {@code num_labels}), else null (HF then picks single- or multi-label from the label
     * tensor's dtype). The outputs are plain logits whatever the type.
     */
    public String problemType() {
        JsonElement p = config.get("problem_type");
        if (p != null && !p.isJsonNull()) {
            return p.getAsString();
        }
        return numLabels() == 1 ? "regression" : null;
    }

    /** HF's {@code num_labels}: the size of {@code id2label}, else {@code num_labels}, else 2. */
    public int numLabels() {
        JsonElement m = config.get("id2label");
        if (m != null && m.isJsonObject()) {
            return m.getAsJsonObject().size();
        }
        JsonElement n = config.get("num_labels");
        return n == null ? 2 : n.getAsInt();
    }

    /** The class name of class id {@code i} in {@code id2label}. */
    public String label(int i) {
        return config.getAsJsonObject("id2label").get(Integer.toString(i)).getAsString();
    }

    /** Whether the weights file holds a tensor of this exact HF name. */
    public boolean has(String name) {
        return tensors.containsKey(name);
    }

    /** The float32 tensors of a safetensors file, flattened, under HF's names. */
    public static Map<String, double[]> tensorsOf(Path file) throws IOException {
        Map<String, double[]> tensors = new HashMap<>();
        byte[] b = Files.readAllBytes(file);
        ByteBuffer buf = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        int n = (int) buf.getLong(0);
        JsonObject header =
                JsonParser.parseString(new String(b, 8, n, StandardCharsets.UTF_8))
                        .getAsJsonObject();
        for (Map.Entry<String, JsonElement> kv : header.entrySet()) {
            if (kv.getKey().equals("__metadata__")) {
                continue;
            }
            JsonObject o = kv.getValue().getAsJsonObject();
            String dtype = o.get("dtype").getAsString();
            long begin = o.getAsJsonArray("data_offsets").get(0).getAsLong();
            long end = o.getAsJsonArray("data_offsets").get(1).getAsLong();
            if (!dtype.equals("F32")) {
                continue; // position_ids (I64) and the like: buffers HF rebuilds
            }
            double[] v = new double[(int) ((end - begin) / 4)];
            for (int i = 0; i < v.length; i++) {
                v[i] = buf.getFloat((int) (8 + n + begin) + 4 * i);
            }
            // transformers renames the TF-era LayerNorm names on load.
            String name =
                    kv.getKey()
                            .replace("LayerNorm.gamma", "LayerNorm.weight")
                            .replace("LayerNorm.beta", "LayerNorm.bias");
            if (tensors.put(name, v) != null) {
                throw new IllegalArgumentException(file + ": two tensors for " + name);
            }
        }
        return tensors;
    }

    /** An encoder tensor under the name HF's BertModel / BertForSequenceClassification reads. */
    private double[] enc(String name) {
        String key = hasPrefix ? "bert." + name : name;
        double[] t = tensors.get(key);
        if (t == null) {
            throw new IllegalStateException(
                    "HF would initialise " + key + " at random: it is not in the file");
        }
        return t;
    }

    /**
     * BertForSequenceClassification's logits (eval mode) for one padded batch.
     *
     * @throws IllegalStateException when the file has no {@code bert.}-prefixed pooler or no
     *     classifier: HF would fill them with random values
     */
    public double[][] sequenceClassificationLogits(long[][] ids, long[][] types, long[][] mask) {
        if (!hasPrefix) {
            throw new IllegalStateException(
                    "HF BertForSequenceClassification would load only the encoder of this"
                            + " BertModel checkpoint and initialise pooler and classifier at"
                            + " random");
        }
        double[] cw = tensors.get("classifier.weight");
        double[] cb = tensors.get("classifier.bias");
        if (cw == null || cb == null) {
            throw new IllegalStateException("HF would initialise classifier.* at random");
        }
        int labels = cb.length;
        double[][] out = new double[ids.length][];
        for (int r = 0; r < ids.length; r++) {
            double[][] h = encode(ids[r], types == null ? null : types[r], mask[r]);
            double[] pooled = linear(h[0], enc("pooler.dense.weight"), enc("pooler.dense.bias"));
            for (int i = 0; i < pooled.length; i++) {
                pooled[i] = Math.tanh(pooled[i]);
            }
            out[r] = linear(pooled, cw, cb);
            if (out[r].length != labels) {
                throw new IllegalStateException("classifier shape");
            }
        }
        return out;
    }

    /** BertModel's last hidden state for one padded batch: [batch][seq][hidden]. */
    public double[][][] lastHiddenState(long[][] ids, long[][] types, long[][] mask) {
        double[][][] out = new double[ids.length][][];
        for (int r = 0; r < ids.length; r++) {
            out[r] = encode(ids[r], types == null ? null : types[r], mask[r]);
        }
        return out;
    }

    /** One sequence through embeddings and every layer; padded keys are masked out. */
    private double[][] encode(long[] ids, long[] types, long[] mask) {
        int seq = ids.length;
        double[] words = enc("embeddings.word_embeddings.weight");
        double[] pos = enc("embeddings.position_embeddings.weight");
        double[] typ = enc("embeddings.token_type_embeddings.weight");
        double[][] x = new double[seq][hidden];
        for (int t = 0; t < seq; t++) {
            int type = types == null ? 0 : (int) types[t];
            for (int i = 0; i < hidden; i++) {
                x[t][i] =
                        words[(int) ids[t] * hidden + i]
                                + pos[t * hidden + i]
                                + typ[type * hidden + i];
            }
            x[t] = layerNorm(x[t], "embeddings.LayerNorm");
        }
        int d = hidden / heads;
        for (int l = 0; l < layers; l++) {
            String p = "encoder.layer." + l + ".";
            double[][] q = new double[seq][];
            double[][] k = new double[seq][];
            double[][] v = new double[seq][];
            for (int t = 0; t < seq; t++) {
                q[t] = linear(x[t], p + "attention.self.query");
                k[t] = linear(x[t], p + "attention.self.key");
                v[t] = linear(x[t], p + "attention.self.value");
            }
            double[][] ctx = new double[seq][hidden];
            for (int hd = 0; hd < heads; hd++) {
                for (int t = 0; t < seq; t++) {
                    double[] s = new double[seq];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int u = 0; u < seq; u++) {
                        if (mask[u] == 0) {
                            s[u] = Double.NEGATIVE_INFINITY;
                            continue;
                        }
                        double dot = 0;
                        for (int i = 0; i < d; i++) {
                            dot += q[t][hd * d + i] * k[u][hd * d + i];
                        }
                        s[u] = dot / Math.sqrt(d);
                        max = Math.max(max, s[u]);
                    }
                    double sum = 0;
                    for (int u = 0; u < seq; u++) {
                        s[u] = mask[u] == 0 ? 0 : Math.exp(s[u] - max);
                        sum += s[u];
                    }
                    for (int u = 0; u < seq; u++) {
                        for (int i = 0; i < d; i++) {
                            ctx[t][hd * d + i] += s[u] / sum * v[u][hd * d + i];
                        }
                    }
                }
            }
            for (int t = 0; t < seq; t++) {
                double[] a = linear(ctx[t], p + "attention.output.dense");
                for (int i = 0; i < hidden; i++) {
                    a[i] += x[t][i];
                }
                a = layerNorm(a, p + "attention.output.LayerNorm");
                double[] f = linear(a, p + "intermediate.dense");
                for (int i = 0; i < f.length; i++) {
                    f[i] = 0.5 * f[i] * (1 + Erf.erf(f[i] / Math.sqrt(2)));
                }
                double[] o = linear(f, p + "output.dense");
                for (int i = 0; i < hidden; i++) {
                    o[i] += a[i];
                }
                x[t] = layerNorm(o, p + "output.LayerNorm");
            }
        }
        return x;
    }

    private double[] linear(double[] in, String prefix) {
        return linear(in, enc(prefix + ".weight"), enc(prefix + ".bias"));
    }

    /** y = W x + b with W stored [out, in], as torch's Linear. */
    private static double[] linear(double[] in, double[] w, double[] b) {
        double[] y = new double[b.length];
        for (int o = 0; o < b.length; o++) {
            double s = b[o];
            for (int i = 0; i < in.length; i++) {
                s += w[o * in.length + i] * in[i];
            }
            y[o] = s;
        }
        return y;
    }

    private double[] layerNorm(double[] x, String prefix) {
        double[] w = enc(prefix + ".weight");
        double[] b = enc(prefix + ".bias");
        double mean = 0;
        for (double v : x) {
            mean += v;
        }
        mean /= x.length;
        double var = 0;
        for (double v : x) {
            var += (v - mean) * (v - mean);
        }
        var /= x.length;
        double[] y = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            y[i] = (x[i] - mean) / Math.sqrt(var + eps) * w[i] + b[i];
        }
        return y;
    }
}
