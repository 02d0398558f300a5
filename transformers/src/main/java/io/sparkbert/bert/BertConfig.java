package io.sparkbert.bert;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import com.google.gson.JsonPrimitive;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The architecture of a BERT model as HuggingFace {@code config.json} describes it.
 *
 * <p>Only what the HF-exact engine can compute is accepted: {@code model_type}, when present, must
 * be {@code bert} (other architectures are refused, not guessed), {@code hidden_act} must be {@code
 * gelu} (the erf form), {@code position_embedding_type} must be {@code absolute} and {@code
 * is_decoder} must be false. Keys this class does not interpret are kept, so that {@link #toJson()}
 * writes them back unchanged.
 *
 * <p>Instances are immutable and thread-safe; the {@code with*} methods return copies.
 */
public final class BertConfig {
    private static final Gson GSON =
            new GsonBuilder().setPrettyPrinting().serializeNulls().disableHtmlEscaping().create();

    private final JsonObject raw;
    private final String source;
    private final int hiddenSize;
    private final int numHiddenLayers;
    private final int numAttentionHeads;
    private final int intermediateSize;
    private final int maxPositionEmbeddings;
    private final int typeVocabSize;
    private final int vocabSize;
    private final double layerNormEps;
    private final double hiddenDropoutProb;
    private final double attentionProbsDropoutProb;
    private final double classifierDropout;
    private final double initializerRange;
    private final String problemType;
    private final List<String> labels;

    private BertConfig(JsonObject raw, String source) {
        this.raw = raw;
        this.source = source;
        hiddenSize = positiveInt("hidden_size", 768);
        numHiddenLayers = positiveInt("num_hidden_layers", 12);
        numAttentionHeads = positiveInt("num_attention_heads", 12);
        intermediateSize = positiveInt("intermediate_size", 3072);
        maxPositionEmbeddings = positiveInt("max_position_embeddings", 512);
        typeVocabSize = positiveInt("type_vocab_size", 2);
        vocabSize = positiveInt("vocab_size", 30522);
        layerNormEps = number("layer_norm_eps", 1e-12);
        hiddenDropoutProb = probability("hidden_dropout_prob", 0.1);
        attentionProbsDropoutProb = probability("attention_probs_dropout_prob", 0.1);
        classifierDropout =
                isNull("classifier_dropout")
                        ? hiddenDropoutProb
                        : probability("classifier_dropout", hiddenDropoutProb);
        initializerRange = number("initializer_range", 0.02);
        problemType = isNull("problem_type") ? null : string("problem_type", null);
        String type = string("model_type", "bert");
        if (!"bert".equals(type)) {
            throw bad(
                    "model_type",
                    type,
                    "is not supported: spark-bert computes BERT only (model_type \"bert\","
                            + " e.g. bert-base-uncased, all-MiniLM-L6-v2); other architectures"
                            + " (roberta, distilbert, xlm-roberta, ...) differ in positions, names"
                            + " or token types and are refused rather than guessed");
        }
        if (hiddenSize % numAttentionHeads != 0) {
            throw bad(
                    "hidden_size",
                    hiddenSize,
                    "must be a multiple of num_attention_heads (" + numAttentionHeads + ")");
        }
        String act = string("hidden_act", "gelu");
        if (!"gelu".equals(act)) {
            throw bad(
                    "hidden_act",
                    act,
                    "only \"gelu\" (the exact erf form HF BERT uses) is supported; gelu_new,"
                            + " relu and others are not");
        }
        String pos = string("position_embedding_type", "absolute");
        if (!"absolute".equals(pos)) {
            throw bad("position_embedding_type", pos, "only \"absolute\" is supported");
        }
        if (raw.has("is_decoder") && !raw.get("is_decoder").isJsonNull()) {
            if (raw.get("is_decoder").getAsBoolean()) {
                throw bad("is_decoder", true, "decoder BERT models are not supported");
            }
        }
        labels = parseLabels();
    }

    /**
     * Reads a HuggingFace {@code config.json}.
     *
     * @param file the config file
     * @return the parsed config
     * @throws IllegalArgumentException when the file is unreadable, not JSON, or describes a model
     *     the engine cannot compute
     */
    public static BertConfig load(Path file) {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalArgumentException(
                    "Cannot read BERT config " + file + ": " + e.getMessage(), e);
        }
        return parse(text, file.toString());
    }

    /**
     * Parses config.json text.
     *
     * @param json the JSON text
     * @param source where the text came from, used in error messages
     * @return the parsed config
     */
    public static BertConfig parse(String json, String source) {
        JsonElement element;
        try {
            element = JsonParser.parseString(json);
        } catch (JsonParseException e) {
            throw new IllegalArgumentException(
                    "BERT config " + source + " is not valid JSON: " + e.getMessage(), e);
        }
        if (element == null || !element.isJsonObject()) {
            throw new IllegalArgumentException(
                    "BERT config " + source + " must be a JSON object, got: " + element);
        }
        return new BertConfig(element.getAsJsonObject().deepCopy(), source);
    }

    /**
     * Builds a config from the architecture numbers, with HF defaults for the rest (dropout 0.1,
     * initializer range 0.02, eps 1e-12, two labels).
     *
     * @return the config
     */
    public static BertConfig of(
            int hiddenSize,
            int numHiddenLayers,
            int numAttentionHeads,
            int intermediateSize,
            int maxPositionEmbeddings,
            int typeVocabSize,
            int vocabSize,
            double layerNormEps) {
        JsonObject o = new JsonObject();
        o.addProperty("hidden_size", hiddenSize);
        o.addProperty("num_hidden_layers", numHiddenLayers);
        o.addProperty("num_attention_heads", numAttentionHeads);
        o.addProperty("intermediate_size", intermediateSize);
        o.addProperty("max_position_embeddings", maxPositionEmbeddings);
        o.addProperty("type_vocab_size", typeVocabSize);
        o.addProperty("vocab_size", vocabSize);
        o.addProperty("layer_norm_eps", layerNormEps);
        o.addProperty("hidden_act", "gelu");
        o.addProperty("hidden_dropout_prob", 0.1);
        o.addProperty("attention_probs_dropout_prob", 0.1);
        o.addProperty("initializer_range", 0.02);
        o.addProperty("position_embedding_type", "absolute");
        return new BertConfig(o, "<built in code>");
    }

    /**
     * Returns a copy with the given labels (index = class id); {@code id2label}, {@code label2id}
     * and {@code num_labels} are rewritten.
     *
     * @param newLabels the label names, at least one
     * @return the new config
     */
    public BertConfig withLabels(List<String> newLabels) {
        if (newLabels == null || newLabels.isEmpty()) {
            throw new IllegalArgumentException(
                    "labels must name at least one class, got " + newLabels);
        }
        JsonObject copy = raw.deepCopy();
        JsonObject id2label = new JsonObject();
        JsonObject label2id = new JsonObject();
        for (int i = 0; i < newLabels.size(); i++) {
            id2label.addProperty(Integer.toString(i), newLabels.get(i));
            label2id.addProperty(newLabels.get(i), i);
        }
        copy.add("id2label", id2label);
        copy.add("label2id", label2id);
        copy.remove("num_labels");
        return new BertConfig(copy, source);
    }

    /**
     * Returns a copy with {@code numLabels} default labels {@code LABEL_0..LABEL_n-1}.
     *
     * @param numLabels the number of classes, at least 1
     * @return the new config
     */
    public BertConfig withNumLabels(int numLabels) {
        if (numLabels < 1) {
            throw new IllegalArgumentException("numLabels must be >= 1, got " + numLabels);
        }
        List<String> names = new ArrayList<>();
        for (int i = 0; i < numLabels; i++) {
            names.add("LABEL_" + i);
        }
        return withLabels(names);
    }

    /**
     * Returns a copy with one top-level key set (for keys such as {@code problem_type} or dropout
     * probabilities); the value is validated like a loaded file.
     *
     * @param key the config key
     * @param value a String, Number, Boolean or null
     * @return the new config
     */
    public BertConfig with(String key, Object value) {
        JsonObject copy = raw.deepCopy();
        if (value == null) {
            copy.add(key, com.google.gson.JsonNull.INSTANCE);
        } else if (value instanceof Number) {
            copy.addProperty(key, (Number) value);
        } else if (value instanceof Boolean) {
            copy.addProperty(key, (Boolean) value);
        } else {
            copy.addProperty(key, value.toString());
        }
        return new BertConfig(copy, source);
    }

    /**
     * Writes an HF-loadable config.json: every key that was read (including unknown ones), plus
     * {@code model_type: bert}, {@code architectures} and string-keyed {@code id2label} / {@code
     * label2id}.
     *
     * @param withClassifier whether the weights saved next to it carry a classification head
     *     ({@code BertForSequenceClassification}) or not ({@code BertModel})
     * @return the JSON text
     */
    public String toJson(boolean withClassifier) {
        JsonObject out = raw.deepCopy();
        out.addProperty("model_type", "bert");
        JsonArray arch = new JsonArray();
        arch.add(withClassifier ? "BertForSequenceClassification" : "BertModel");
        out.add("architectures", arch);
        JsonObject id2label = new JsonObject();
        JsonObject label2id = new JsonObject();
        for (int i = 0; i < labels.size(); i++) {
            id2label.addProperty(Integer.toString(i), labels.get(i));
            label2id.addProperty(labels.get(i), i);
        }
        out.add("id2label", id2label);
        out.add("label2id", label2id);
        out.remove("num_labels");
        // Sort for stable, diff-friendly output.
        Map<String, JsonElement> sorted = new TreeMap<>();
        for (Map.Entry<String, JsonElement> e : out.entrySet()) {
            sorted.put(e.getKey(), e.getValue());
        }
        JsonObject ordered = new JsonObject();
        sorted.forEach(ordered::add);
        return GSON.toJson(ordered) + "\n";
    }

    /**
     * Same as {@code toJson(true)}.
     *
     * @return the JSON text
     */
    public String toJson() {
        return toJson(true);
    }

    /** Returns {@code hidden_size}. */
    public int hiddenSize() {
        return hiddenSize;
    }

    /** Returns {@code num_hidden_layers}. */
    public int numHiddenLayers() {
        return numHiddenLayers;
    }

    /** Returns {@code num_attention_heads}. */
    public int numAttentionHeads() {
        return numAttentionHeads;
    }

    /** Returns hidden_size / num_attention_heads. */
    public int headSize() {
        return hiddenSize / numAttentionHeads;
    }

    /** Returns {@code intermediate_size}. */
    public int intermediateSize() {
        return intermediateSize;
    }

    /** Returns {@code max_position_embeddings}. */
    public int maxPositionEmbeddings() {
        return maxPositionEmbeddings;
    }

    /** Returns {@code type_vocab_size}. */
    public int typeVocabSize() {
        return typeVocabSize;
    }

    /** Returns {@code vocab_size}. */
    public int vocabSize() {
        return vocabSize;
    }

    /** Returns {@code layer_norm_eps}. */
    public double layerNormEps() {
        return layerNormEps;
    }

    /** Returns {@code hidden_dropout_prob}. */
    public double hiddenDropoutProb() {
        return hiddenDropoutProb;
    }

    /** Returns {@code attention_probs_dropout_prob}. */
    public double attentionProbsDropoutProb() {
        return attentionProbsDropoutProb;
    }

    /** Returns {@code classifier_dropout}, or {@code hidden_dropout_prob} when that is null. */
    public double classifierDropout() {
        return classifierDropout;
    }

    /** Returns {@code initializer_range} (std of the normal init of new weights). */
    public double initializerRange() {
        return initializerRange;
    }

    /** Returns {@code problem_type}, possibly null. */
    public String problemType() {
        return problemType;
    }

    /** Returns the number of labels (classifier outputs). */
    public int numLabels() {
        return labels.size();
    }

    /** Returns the label names by class id (unmodifiable). */
    public List<String> labels() {
        return labels;
    }

    /** Returns where this config was read from (file path or description). */
    public String source() {
        return source;
    }

    /**
     * Returns the value of any key as read, or null.
     *
     * @param key a top-level config.json key
     * @return the JSON value as a string, or null when absent
     */
    public String rawValue(String key) {
        JsonElement e = raw.get(key);
        return e == null ? null : (e.isJsonPrimitive() ? e.getAsString() : e.toString());
    }

    /** Returns the config as read (every key, unchanged), as compact JSON text. */
    public String rawJson() {
        return raw.toString();
    }

    /**
     * Returns the head pooling recorded under the {@code sparkbert} key ({@code pooler}, {@code
     * cls} or {@code mean}), or null when the config records none (a plain HF checkpoint).
     */
    public String headPooling() {
        JsonElement sb = raw.get("sparkbert");
        if (sb == null || !sb.isJsonObject()) {
            return null;
        }
        JsonElement p = sb.getAsJsonObject().get("pooling");
        return p == null || !p.isJsonPrimitive() ? null : p.getAsString();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof BertConfig && ((BertConfig) o).raw.equals(raw);
    }

    @Override
    public int hashCode() {
        return raw.hashCode();
    }

    @Override
    public String toString() {
        return "BertConfig(hidden="
                + hiddenSize
                + ", layers="
                + numHiddenLayers
                + ", heads="
                + numAttentionHeads
                + ", intermediate="
                + intermediateSize
                + ", vocab="
                + vocabSize
                + ", labels="
                + labels.size()
                + ")";
    }

    private List<String> parseLabels() {
        JsonElement id2label = raw.get("id2label");
        Integer declared = isNull("num_labels") ? null : positiveInt("num_labels", 2);
        List<String> names = new ArrayList<>();
        if (id2label != null && !id2label.isJsonNull()) {
            if (!id2label.isJsonObject()) {
                throw bad("id2label", id2label, "must be an object {\"0\": \"name\", ...}");
            }
            Map<Integer, String> byId = new TreeMap<>();
            for (Map.Entry<String, JsonElement> e : id2label.getAsJsonObject().entrySet()) {
                int id;
                try {
                    id = Integer.parseInt(e.getKey().trim());
                } catch (NumberFormatException ex) {
                    throw bad("id2label", e.getKey(), "keys must be class ids 0..n-1");
                }
                byId.put(id, e.getValue().getAsString());
            }
            for (int i = 0; i < byId.size(); i++) {
                if (!byId.containsKey(i)) {
                    throw bad("id2label", byId.keySet(), "class ids must be exactly 0..n-1");
                }
                names.add(byId.get(i));
            }
            if (declared != null && declared != names.size()) {
                throw bad(
                        "num_labels",
                        declared,
                        "disagrees with id2label, which names " + names.size() + " classes");
            }
        } else {
            int n = declared == null ? 2 : declared;
            for (int i = 0; i < n; i++) {
                names.add("LABEL_" + i);
            }
        }
        return Collections.unmodifiableList(names);
    }

    private boolean isNull(String key) {
        return !raw.has(key) || raw.get(key).isJsonNull();
    }

    private JsonPrimitive primitive(String key) {
        JsonElement e = raw.get(key);
        if (e == null || e.isJsonNull()) {
            return null;
        }
        if (!e.isJsonPrimitive()) {
            throw bad(key, e, "must be a single value");
        }
        return e.getAsJsonPrimitive();
    }

    private int positiveInt(String key, int dflt) {
        JsonPrimitive p = primitive(key);
        if (p == null) {
            return dflt;
        }
        if (!p.isNumber()) {
            throw bad(key, p, "must be a positive integer");
        }
        double d = p.getAsDouble();
        if (d != Math.rint(d) || d < 1 || d > Integer.MAX_VALUE) {
            throw bad(key, p, "must be a positive integer");
        }
        return (int) d;
    }

    private double number(String key, double dflt) {
        JsonPrimitive p = primitive(key);
        if (p == null) {
            return dflt;
        }
        if (!p.isNumber() || !Double.isFinite(p.getAsDouble()) || p.getAsDouble() < 0) {
            throw bad(key, p, "must be a non-negative number");
        }
        return p.getAsDouble();
    }

    private double probability(String key, double dflt) {
        double v = number(key, dflt);
        if (v >= 1) {
            throw bad(key, v, "must be a probability in [0, 1)");
        }
        return v;
    }

    private String string(String key, String dflt) {
        JsonPrimitive p = primitive(key);
        return p == null ? dflt : p.getAsString();
    }

    private IllegalArgumentException bad(String key, Object value, String why) {
        return new IllegalArgumentException(
                "BERT config " + source + ": " + key + "=" + value + " " + why + ".");
    }
}
