package io.sparkbert.bert;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The files of a fine-tuned classifier's {@code hf/} folder, laid out so that HuggingFace reads
 * them with the meaning spark-bert gives them (docs/design.md, "What hf/ means to HF").
 *
 * <ul>
 *   <li>Head pooling {@code pooler}: {@code config.json} (architecture {@code
 *       BertForSequenceClassification}) and {@code model.safetensors} with {@code bert.*}, the
 *       trained {@code bert.pooler.dense.*} and {@code classifier.*}: HF's {@code
 *       BertForSequenceClassification.from_pretrained} computes the same logits.
 *   <li>Head pooling {@code mean} or {@code cls}: HF has no such sequence classifier, so the folder
 *       claims none. {@code config.json} says {@code BertModel}; {@code model.safetensors} holds
 *       the encoder only (no pooler: it was never trained); the head's {@code classifier.weight} /
 *       {@code classifier.bias} are in {@value #HEAD}, which HF does not read. The README shows the
 *       few lines of Python that pool and apply the head. A {@code BertForSequenceClassification}
 *       loaded from such a folder has no pooler or classifier weights, and HF says so when loading.
 * </ul>
 *
 * <p>In both cases {@code config.json} carries a {@code sparkbert} object with the head pooling (HF
 * ignores unknown keys). Folders written before this layout, with a mean or cls head under {@code
 * BertForSequenceClassification} and an untrained pooler, still load and score as before; {@link
 * #warnIfMisleading} names them once. Stateless and thread-safe.
 */
public final class HfExport {
    private static final Logger LOG = LoggerFactory.getLogger(HfExport.class);

    /** The HF config file. */
    public static final String CONFIG = Checkpoints.CONFIG;

    /** The weights file HF reads. */
    public static final String WEIGHTS = Checkpoints.WEIGHTS;

    /** The file of a mean- or cls-pooled head, beside an encoder-only {@value #WEIGHTS}. */
    public static final String HEAD = "classifier.safetensors";

    /** The tokenizer file. */
    public static final String TOKENIZER = "tokenizer.json";

    private static final Set<String> WARNED = ConcurrentHashMap.newKeySet();

    private HfExport() {}

    /**
     * The files of a classifier's hf/ folder, by file name, in writing order.
     *
     * @param configJson the classifier's config.json text (with its {@code sparkbert} key)
     * @param weights all its weights, as {@link BertModel#toSafetensorsBytes()} writes them
     * @param tokenizerJson tokenizer.json text
     * @param pooling the head's pooling: {@code pooler}, {@code cls} or {@code mean}
     * @return file name to bytes
     */
    public static Map<String, byte[]> classifierFiles(
            String configJson, byte[] weights, String tokenizerJson, String pooling) {
        Map<String, byte[]> files = new LinkedHashMap<>();
        boolean pooler = "pooler".equals(pooling);
        JsonObject cfg = parse(configJson, "the classifier's config.json");
        JsonObject sb =
                cfg.has("sparkbert") && cfg.get("sparkbert").isJsonObject()
                        ? cfg.getAsJsonObject("sparkbert")
                        : new JsonObject();
        sb.addProperty("pooling", pooling);
        if (pooler) {
            sb.remove("head");
        } else {
            sb.addProperty("head", HEAD);
        }
        cfg.add("sparkbert", sb);
        // BertConfig writes the architecture (BertForSequenceClassification or BertModel), the
        // label maps and the key order of every other config.json.
        BertConfig config = BertConfig.parse(cfg.toString(), "the classifier's config.json");
        files.put(CONFIG, bytes(config.toJson(pooler)));
        if (pooler) {
            files.put(WEIGHTS, weights);
        } else {
            SafetensorsBytes.Header h =
                    SafetensorsBytes.parseHeader(weights, "the classifier's weights");
            Map<String, SafetensorsBytes.Entry> encoder = new LinkedHashMap<>();
            Map<String, SafetensorsBytes.Entry> head = new LinkedHashMap<>();
            for (SafetensorsBytes.Entry e : h.entries().values()) {
                String name = Checkpoints.normalize(e.key());
                if (name.startsWith("classifier.")) {
                    head.put(name, e);
                } else if (!name.startsWith("pooler.")) {
                    // HF BertModel keys carry no prefix.
                    encoder.put(name, e);
                }
            }
            files.put(WEIGHTS, SafetensorsBytes.select(weights, h, encoder));
            files.put(HEAD, SafetensorsBytes.select(weights, h, head));
        }
        files.put(TOKENIZER, bytes(tokenizerJson));
        return files;
    }

    /**
     * A classifier's weights, as {@link BertModel#fromBytes} reads them, from the files of its hf/
     * folder.
     *
     * @param model the bytes of {@value #WEIGHTS}
     * @param head the bytes of {@value #HEAD}, or null when the folder has none
     * @param where the folder, for error messages
     * @return one safetensors buffer
     */
    public static byte[] classifierWeights(byte[] model, byte[] head, String where) {
        if (head == null) {
            return model;
        }
        return SafetensorsBytes.concat(model, where + "/" + WEIGHTS, head, where + "/" + HEAD);
    }

    /**
     * The head pooling a config.json records under its {@code sparkbert} key, or {@code pooler}
     * when it records none (a plain HF checkpoint).
     *
     * @param configJson config.json text
     * @return pooler, cls or mean
     */
    public static String pooling(String configJson) {
        JsonObject cfg = parse(configJson, "config.json");
        JsonElement sb = cfg.get("sparkbert");
        if (sb != null && sb.isJsonObject() && sb.getAsJsonObject().has("pooling")) {
            return sb.getAsJsonObject().get("pooling").getAsString();
        }
        return "pooler";
    }

    /**
     * Whether a config.json claims {@code BertForSequenceClassification} while its head pools
     * otherwise: a folder written before this layout, which HF reads with another meaning (its
     * pooler is the untrained initialisation).
     *
     * @param configJson config.json text
     * @return true for such a folder
     */
    public static boolean isMisleading(String configJson) {
        if ("pooler".equals(pooling(configJson))) {
            return false;
        }
        JsonElement arch = parse(configJson, "config.json").get("architectures");
        return arch != null
                && arch.toString().contains("\"BertForSequenceClassification\"")
                && !arch.toString().contains("\"BertModel\"");
    }

    /**
     * Logs once per JVM and config a warning that the hf/ folder at {@code where} does not mean to
     * HF what it means to spark-bert, naming the fix. Scoring is unaffected.
     *
     * @param configJson config.json text
     * @param where the folder or model path, for the message
     */
    public static void warnIfMisleading(String configJson, String where) {
        if (isMisleading(configJson) && WARNED.add(configJson)) {
            LOG.warn(
                    "{}: this model's hf/ folder says BertForSequenceClassification, but its head"
                            + " uses {} pooling, which HF does not apply: from_pretrained() there gives"
                            + " an untrained pooler and other logits than spark-bert. spark-bert scores"
                            + " it as before. Fix: re-export it (BertClassificationModel.load(path)"
                            + ".write().save(newPath) writes hf/ as BertModel + {}), or retrain it with"
                            + " the default pooling (pooler), which HF reads as it is.",
                    where,
                    pooling(configJson),
                    HEAD);
        }
    }

    private static JsonObject parse(String json, String what) {
        try {
            return JsonParser.parseString(json).getAsJsonObject();
        } catch (JsonParseException | IllegalStateException e) {
            throw new IllegalArgumentException(
                    what + " is not a JSON object: " + e.getMessage(), e);
        }
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
