package io.sparkbert.inference;

import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * A model as bytes, ready to travel to executors in a Spark broadcast: the HF {@code config.json}
 * text, the safetensors weights and the {@code tokenizer.json} text. Its {@link #contentId()} is a
 * SHA-256 over the three, so equal models share one executor cache entry.
 *
 * <p>Immutable (the arrays are not copied: do not change them after construction) and therefore
 * thread-safe.
 */
public final class ModelBytes implements Serializable {
    private static final long serialVersionUID = 1L;

    private final String configJson;
    private final byte[] safetensors;
    private final String tokenizerJson;
    private final String contentId;

    /**
     * @param configJson the model's config.json text (with the classifier labels when it has a
     *     head)
     * @param safetensors the weights, as {@code BertModel.toSafetensorsBytes()} returns them
     * @param tokenizerJson the tokenizer.json text, as {@code HfTokenizer.toJson()} returns it
     */
    public ModelBytes(String configJson, byte[] safetensors, String tokenizerJson) {
        if (configJson == null || safetensors == null || tokenizerJson == null) {
            throw new IllegalArgumentException(
                    "ModelBytes needs the config JSON, the safetensors bytes and the tokenizer"
                            + " JSON; one of them is null.");
        }
        this.configJson = configJson;
        this.safetensors = safetensors;
        this.tokenizerJson = tokenizerJson;
        this.contentId = digest(configJson, safetensors, tokenizerJson);
    }

    /** The config.json text. */
    public String configJson() {
        return configJson;
    }

    /** The safetensors bytes (the array itself; do not modify it). */
    public byte[] safetensors() {
        return safetensors;
    }

    /** The tokenizer.json text. */
    public String tokenizerJson() {
        return tokenizerJson;
    }

    /** A hex SHA-256 over config, weights and tokenizer. */
    public String contentId() {
        return contentId;
    }

    private static String digest(String config, byte[] weights, String tokenizer) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            byte[] c = config.getBytes(StandardCharsets.UTF_8);
            byte[] t = tokenizer.getBytes(StandardCharsets.UTF_8);
            // Lengths first, so that moving bytes between the parts changes the digest.
            for (long len : new long[] {c.length, weights.length, t.length}) {
                for (int i = 0; i < 8; i++) {
                    md.update((byte) (len >>> (8 * i)));
                }
            }
            md.update(c);
            md.update(weights);
            md.update(t);
            StringBuilder sb = new StringBuilder();
            for (byte b : md.digest()) {
                sb.append(String.format("%02x", b));
            }
            return sb.toString();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is not available in this JVM", e);
        }
    }
}
