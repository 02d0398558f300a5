package io.sparkbert.bert;

import com.google.gson.JsonElement;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads what {@link HfTokenizer} is built from: a model directory's {@code tokenizer.json}, or its
 * {@code vocab.txt} and {@code tokenizer_config.json} turned into the equivalent tokenizer.json
 * ({@link WordPieceJson}), the model maximum length from the configs, and the vocabulary and
 * special-token ids of a tokenizer.json document. Errors name the file. Stateless and thread-safe.
 */
final class TokenizerFiles {
    private TokenizerFiles() {}

    /** A tokenizer.json document, the model maximum length and where both came from. */
    record Found(JsonObject doc, int modelMaxLength, String source) {}

    /**
     * The tokenizer of a model directory; see {@link HfTokenizer#fromDirectory}.
     *
     * @throws IllegalArgumentException naming the path when the directory or its files are missing
     *     or unreadable
     */
    static Found read(Path dir) {
        if (dir == null) {
            throw new IllegalArgumentException("Tokenizer directory must not be null");
        }
        if (!Files.isDirectory(dir)) {
            throw new IllegalArgumentException(
                    "Tokenizer directory "
                            + dir
                            + " does not exist or is not a directory: pass a model directory"
                            + " holding tokenizer.json or vocab.txt.");
        }
        JsonObject config = readOptionalJson(dir.resolve("tokenizer_config.json"));
        JsonObject modelConfig = readOptionalJson(dir.resolve("config.json"));
        Integer configured = positiveInt(config, "model_max_length");
        Integer positions = positiveInt(modelConfig, "max_position_embeddings");
        Integer fromConfigs = configured;
        if (positions != null) {
            fromConfigs =
                    configured == null
                            ? positions
                            : Integer.valueOf(Math.min(configured, positions));
        }
        Path tokenizerJson = dir.resolve("tokenizer.json");
        if (Files.isRegularFile(tokenizerJson)) {
            JsonObject doc = parse(readString(tokenizerJson), tokenizerJson.toString());
            int max = fromConfigs != null ? fromConfigs : recordedMaxLength(doc);
            return new Found(doc, max, tokenizerJson.toString());
        }
        Path vocabFile = dir.resolve("vocab.txt");
        if (!Files.isRegularFile(vocabFile)) {
            throw new IllegalArgumentException(
                    "Tokenizer directory "
                            + dir
                            + " has neither tokenizer.json nor vocab.txt: save the tokenizer"
                            + " with the model (HF save_pretrained writes both).");
        }
        WordPieceJson.Settings settings = settings(config);
        List<String> lines;
        try {
            lines = Files.readAllLines(vocabFile, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalArgumentException(
                    "Cannot read vocabulary " + vocabFile + ": " + e.getMessage(), e);
        }
        if (lines.isEmpty()) {
            throw new IllegalArgumentException("Vocabulary " + vocabFile + " is empty");
        }
        int max = fromConfigs != null ? fromConfigs : HfTokenizer.FALLBACK_MODEL_MAX_LENGTH;
        JsonObject doc =
                WordPieceJson.build(
                        WordPieceJson.vocabulary(lines), settings, max, vocabFile.toString());
        return new Found(doc, max, vocabFile.toString());
    }

    static JsonObject parse(String text, String source) {
        try {
            JsonElement e = JsonParser.parseString(text);
            if (!e.isJsonObject() || !e.getAsJsonObject().has("model")) {
                throw new IllegalArgumentException(
                        "Tokenizer file "
                                + source
                                + " is not a tokenizer.json document (no \"model\" object)");
            }
            return e.getAsJsonObject();
        } catch (JsonParseException | IllegalStateException e) {
            throw new IllegalArgumentException(
                    "Tokenizer file " + source + " is not valid JSON: " + e.getMessage(), e);
        }
    }

    private static String readString(Path file) {
        try {
            return Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalArgumentException("Cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    private static JsonObject readOptionalJson(Path file) {
        if (!Files.isRegularFile(file)) {
            return null;
        }
        try {
            JsonElement e = JsonParser.parseString(readString(file));
            if (!e.isJsonObject()) {
                throw new IllegalArgumentException(file + " is not a JSON object");
            }
            return e.getAsJsonObject();
        } catch (JsonParseException e) {
            throw new IllegalArgumentException(file + " is not valid JSON: " + e.getMessage(), e);
        }
    }

    /** A positive integer setting; HF's "no limit" (1e30) and non-numbers count as absent. */
    private static Integer positiveInt(JsonObject o, String key) {
        if (o == null || !o.has(key) || !o.get(key).isJsonPrimitive()) {
            return null;
        }
        try {
            double v = o.get(key).getAsDouble();
            return v >= 1 && v <= Integer.MAX_VALUE ? (int) v : null;
        } catch (NumberFormatException e) {
            return null;
        }
    }

    static int recordedMaxLength(JsonObject doc) {
        JsonElement t = doc.get("truncation");
        if (t != null && t.isJsonObject()) {
            Integer v = positiveInt(t.getAsJsonObject(), "max_length");
            if (v != null) {
                return v;
            }
        }
        return HfTokenizer.FALLBACK_MODEL_MAX_LENGTH;
    }

    private static WordPieceJson.Settings settings(JsonObject config) {
        WordPieceJson.Settings s = new WordPieceJson.Settings();
        if (config == null) {
            return s;
        }
        s.doLowerCase = bool(config, "do_lower_case", true);
        JsonElement strip = config.get("strip_accents");
        s.stripAccents =
                strip == null || strip.isJsonNull() ? null : Boolean.valueOf(strip.getAsBoolean());
        s.tokenizeChineseChars = bool(config, "tokenize_chinese_chars", true);
        s.unkToken = token(config, "unk_token", s.unkToken);
        s.clsToken = token(config, "cls_token", s.clsToken);
        s.sepToken = token(config, "sep_token", s.sepToken);
        s.padToken = token(config, "pad_token", s.padToken);
        s.maskToken = token(config, "mask_token", s.maskToken);
        return s;
    }

    private static boolean bool(JsonObject o, String key, boolean dflt) {
        JsonElement e = o.get(key);
        return e == null || e.isJsonNull() ? dflt : e.getAsBoolean();
    }

    /** A special token name: a string, or an AddedToken object with "content". */
    private static String token(JsonObject o, String key, String dflt) {
        JsonElement e = o.get(key);
        if (e == null || e.isJsonNull()) {
            return dflt;
        }
        if (e.isJsonObject() && e.getAsJsonObject().has("content")) {
            return e.getAsJsonObject().get("content").getAsString();
        }
        return e.getAsString();
    }

    static JsonObject object(JsonObject doc, String key, String source) {
        JsonElement e = doc.get(key);
        if (e == null || !e.isJsonObject()) {
            throw new IllegalArgumentException(
                    "Tokenizer " + source + " has no \"" + key + "\" object");
        }
        return e.getAsJsonObject();
    }

    /** WordPiece/BPE vocabularies are objects token→id; Unigram ones are [token, score] lists. */
    static Map<String, Integer> readVocab(JsonObject model, String source) {
        JsonElement v = model.get("vocab");
        Map<String, Integer> out = new HashMap<>();
        if (v != null && v.isJsonObject()) {
            for (Map.Entry<String, JsonElement> e : v.getAsJsonObject().entrySet()) {
                out.put(e.getKey(), e.getValue().getAsInt());
            }
        } else if (v != null && v.isJsonArray()) {
            List<JsonElement> list = new ArrayList<>();
            v.getAsJsonArray().forEach(list::add);
            for (int i = 0; i < list.size(); i++) {
                JsonElement entry = list.get(i);
                String token =
                        entry.isJsonArray()
                                ? entry.getAsJsonArray().get(0).getAsString()
                                : entry.getAsString();
                out.put(token, i);
            }
        } else {
            throw new IllegalArgumentException("Tokenizer " + source + " has no model vocabulary");
        }
        return out;
    }

    /**
     * The unknown token's id (added tokens first, then the vocabulary), or -1 when there is none.
     */
    static long readUnkId(
            JsonObject model, Map<String, Integer> addedTokens, Map<String, Integer> vocab) {
        JsonElement unk = model.get("unk_token");
        if (unk != null && unk.isJsonPrimitive()) {
            Integer id = addedTokens.getOrDefault(unk.getAsString(), vocab.get(unk.getAsString()));
            return id == null ? -1 : id;
        }
        JsonElement unkIdElement = model.get("unk_id");
        if (unkIdElement != null && unkIdElement.isJsonPrimitive()) {
            return unkIdElement.getAsLong();
        }
        return -1;
    }

    /**
     * The padding id: the document's own, else that of [PAD] (then recorded in the document so that
     * the native padding uses it too), else 0.
     */
    static long readPadId(
            JsonObject doc, Map<String, Integer> addedTokens, Map<String, Integer> vocab) {
        JsonElement padding = doc.get("padding");
        if (padding != null && padding.isJsonObject() && padding.getAsJsonObject().has("pad_id")) {
            return padding.getAsJsonObject().get("pad_id").getAsLong();
        }
        Integer id = addedTokens.getOrDefault("[PAD]", vocab.get("[PAD]"));
        if (id != null) {
            // Let the native padding use the same id.
            JsonObject p = new JsonObject();
            p.add("strategy", JsonParser.parseString("\"BatchLongest\""));
            p.addProperty("direction", "Right");
            p.add("pad_to_multiple_of", JsonNull.INSTANCE);
            p.addProperty("pad_id", id);
            p.addProperty("pad_type_id", 0);
            p.addProperty("pad_token", "[PAD]");
            doc.add("padding", p);
            return id;
        }
        return 0;
    }
}
