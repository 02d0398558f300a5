package io.sparkbert.bert;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Builds the tokenizer.json document that HuggingFace derives from a classic BERT {@code vocab.txt}
 * (+ {@code tokenizer_config.json}): BertNormalizer, BertPreTokenizer, a WordPiece model ({@code
 * ##} prefix, 100 characters per word at most), the [CLS]/[SEP] template with segment ids 0/1 and
 * the WordPiece decoder. Stateless helper; thread-safe.
 */
final class WordPieceJson {
    private WordPieceJson() {}

    /** Settings read from tokenizer_config.json, with HuggingFace's BertTokenizer defaults. */
    static final class Settings {
        boolean doLowerCase = true;

        /** {@code null} means "same as lower-casing", as in HuggingFace. */
        Boolean stripAccents = null;

        boolean tokenizeChineseChars = true;
        String unkToken = "[UNK]";
        String clsToken = "[CLS]";
        String sepToken = "[SEP]";
        String padToken = "[PAD]";
        String maskToken = "[MASK]";
    }

    /**
     * The vocabulary of a vocab.txt: one token per line, the line number is the id; a token seen
     * twice keeps its last line, as in HuggingFace's {@code load_vocab}.
     */
    static Map<String, Integer> vocabulary(List<String> lines) {
        Map<String, Integer> vocab = new LinkedHashMap<>();
        for (int i = 0; i < lines.size(); i++) {
            vocab.put(lines.get(i), i);
        }
        return vocab;
    }

    /**
     * The tokenizer.json document.
     *
     * @param source names the vocabulary file in error messages
     * @throws IllegalArgumentException when [UNK], [CLS] or [SEP] is not in the vocabulary
     */
    static JsonObject build(Map<String, Integer> vocab, Settings s, int maxLength, String source) {
        for (String required : new String[] {s.unkToken, s.clsToken, s.sepToken}) {
            if (!vocab.containsKey(required)) {
                throw new IllegalArgumentException(
                        "Vocabulary "
                                + source
                                + " has no "
                                + required
                                + " token: a BERT vocab.txt needs [UNK], [CLS] and [SEP] (or"
                                + " the names set in tokenizer_config.json).");
            }
        }
        JsonObject root = new JsonObject();
        root.addProperty("version", "1.0");
        root.add("truncation", truncation(maxLength));
        root.add("padding", JsonNull.INSTANCE);

        JsonArray added = new JsonArray();
        // HF lists the special tokens it knows, in id order, as non-normalized added tokens.
        Map<Integer, String> specials = new java.util.TreeMap<>();
        for (String t :
                new String[] {s.padToken, s.unkToken, s.clsToken, s.sepToken, s.maskToken}) {
            Integer id = vocab.get(t);
            if (id != null) {
                specials.put(id, t);
            }
        }
        for (Map.Entry<Integer, String> e : specials.entrySet()) {
            JsonObject tok = new JsonObject();
            tok.addProperty("id", e.getKey());
            tok.addProperty("content", e.getValue());
            tok.addProperty("single_word", false);
            tok.addProperty("lstrip", false);
            tok.addProperty("rstrip", false);
            tok.addProperty("normalized", false);
            tok.addProperty("special", true);
            added.add(tok);
        }
        root.add("added_tokens", added);

        JsonObject normalizer = new JsonObject();
        normalizer.addProperty("type", "BertNormalizer");
        normalizer.addProperty("clean_text", true);
        normalizer.addProperty("handle_chinese_chars", s.tokenizeChineseChars);
        if (s.stripAccents == null) {
            normalizer.add("strip_accents", JsonNull.INSTANCE);
        } else {
            normalizer.addProperty("strip_accents", s.stripAccents);
        }
        normalizer.addProperty("lowercase", s.doLowerCase);
        root.add("normalizer", normalizer);

        JsonObject pre = new JsonObject();
        pre.addProperty("type", "BertPreTokenizer");
        root.add("pre_tokenizer", pre);

        root.add("post_processor", template(s.clsToken, vocab.get(s.clsToken), s.sepToken, vocab));

        JsonObject decoder = new JsonObject();
        decoder.addProperty("type", "WordPiece");
        decoder.addProperty("prefix", "##");
        decoder.addProperty("cleanup", true);
        root.add("decoder", decoder);

        JsonObject model = new JsonObject();
        model.addProperty("type", "WordPiece");
        model.addProperty("unk_token", s.unkToken);
        model.addProperty("continuing_subword_prefix", "##");
        model.addProperty("max_input_chars_per_word", 100);
        JsonObject v = new JsonObject();
        for (Map.Entry<String, Integer> e : vocab.entrySet()) {
            v.addProperty(e.getKey(), e.getValue());
        }
        model.add("vocab", v);
        root.add("model", model);
        return root;
    }

    /**
     * The truncation block that records the model's maximum length inside the document (HF's
     * call-time settings override it; this project reads it back as the model maximum).
     */
    static JsonObject truncation(int maxLength) {
        JsonObject t = new JsonObject();
        t.addProperty("direction", "Right");
        t.addProperty("max_length", maxLength);
        t.addProperty("strategy", "LongestFirst");
        t.addProperty("stride", 0);
        return t;
    }

    private static JsonObject template(
            String cls, int clsId, String sep, Map<String, Integer> vocab) {
        JsonObject p = new JsonObject();
        p.addProperty("type", "TemplateProcessing");
        p.add("single", pieces(new String[] {"S:" + cls + ":0", "Q:A:0", "S:" + sep + ":0"}));
        p.add(
                "pair",
                pieces(
                        new String[] {
                            "S:" + cls + ":0",
                            "Q:A:0",
                            "S:" + sep + ":0",
                            "Q:B:1",
                            "S:" + sep + ":1"
                        }));
        JsonObject specials = new JsonObject();
        specials.add(cls, special(cls, clsId));
        specials.add(sep, special(sep, vocab.get(sep)));
        p.add("special_tokens", specials);
        return p;
    }

    /** Each spec is {@code S:token:typeId} (special token) or {@code Q:A|B:typeId} (sequence). */
    private static JsonArray pieces(String[] specs) {
        JsonArray out = new JsonArray();
        for (String spec : specs) {
            int first = spec.indexOf(':');
            int last = spec.lastIndexOf(':');
            String kind = spec.substring(0, first);
            String id = spec.substring(first + 1, last);
            int typeId = Integer.parseInt(spec.substring(last + 1));
            JsonObject body = new JsonObject();
            body.addProperty("id", id);
            body.addProperty("type_id", typeId);
            JsonObject piece = new JsonObject();
            piece.add(kind.equals("S") ? "SpecialToken" : "Sequence", body);
            out.add(piece);
        }
        return out;
    }

    private static JsonElement special(String token, int id) {
        JsonObject o = new JsonObject();
        o.addProperty("id", token);
        JsonArray ids = new JsonArray();
        ids.add(id);
        o.add("ids", ids);
        JsonArray tokens = new JsonArray();
        tokens.add(token);
        o.add("tokens", tokens);
        return o;
    }
}
