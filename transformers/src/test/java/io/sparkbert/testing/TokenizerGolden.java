package io.sparkbert.testing;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;

/**
 * Typed view of {@code tokenizer-golden.json} (HF transformers outputs for bert-base-uncased).
 * Read-only; safe to share.
 */
public final class TokenizerGolden {
    /** input_ids / token_type_ids / attention_mask of one encoding. */
    public static final class Enc {
        public final long[] inputIds;
        public final long[] tokenTypeIds;
        public final long[] attentionMask;

        Enc(long[] inputIds, long[] tokenTypeIds, long[] attentionMask) {
            this.inputIds = inputIds;
            this.tokenTypeIds = tokenTypeIds;
            this.attentionMask = attentionMask;
        }
    }

    /** The HF call arguments of a pair or batch case ({@code null} when not given). */
    public static final class Kwargs {
        /** "longest_first", "only_first", "only_second", "true", or null. */
        public final String truncation;

        /** "max_length", "true", or null. */
        public final String padding;

        public final Integer maxLength;

        Kwargs(JsonObject o) {
            truncation = o.has("truncation") ? o.get("truncation").getAsString() : null;
            padding = o.has("padding") ? o.get("padding").getAsString() : null;
            maxLength = o.has("max_length") ? o.get("max_length").getAsInt() : null;
        }

        @Override
        public String toString() {
            return "truncation="
                    + truncation
                    + ", padding="
                    + padding
                    + ", max_length="
                    + maxLength;
        }
    }

    /** One {@code single[]} entry. */
    public static final class Single {
        public final String text;
        public final List<String> tokens;
        public final long[] ids;
        public final Enc encoding;
        public final String decodeClean;
        public final String decodeRaw;
        public final String decodeSkipSpecial;

        Single(JsonObject o) {
            text = o.get("text").getAsString();
            tokens = strings(o.getAsJsonArray("tokens"));
            ids = longs(o.getAsJsonArray("ids"));
            encoding = enc(o.getAsJsonObject("encoding"));
            decodeClean = o.get("decode_clean").getAsString();
            decodeRaw = o.get("decode_raw").getAsString();
            decodeSkipSpecial = o.get("decode_skip_special").getAsString();
        }
    }

    /** One {@code pair[]} entry: either {@code encoding} or {@code error} is set. */
    public static final class Pair {
        public final String a;
        public final String b;
        public final Kwargs kwargs;
        public final Enc encoding;
        public final String error;

        Pair(JsonObject o) {
            a = o.get("a").getAsString();
            b = o.get("b").getAsString();
            kwargs = new Kwargs(o.getAsJsonObject("kwargs"));
            encoding = o.has("encoding") ? enc(o.getAsJsonObject("encoding")) : null;
            error = o.has("error") ? o.get("error").getAsString() : null;
        }
    }

    /** One {@code batch[]} entry. */
    public static final class Batch {
        public final List<String> texts;
        public final Kwargs kwargs;
        public final List<Enc> encodings = new ArrayList<>();

        Batch(JsonObject o) {
            texts = strings(o.getAsJsonArray("texts"));
            kwargs = new Kwargs(o.getAsJsonObject("kwargs"));
            JsonObject e = o.getAsJsonObject("encoding");
            JsonArray ids = e.getAsJsonArray("input_ids");
            for (int i = 0; i < ids.size(); i++) {
                encodings.add(
                        new Enc(
                                longs(ids.get(i).getAsJsonArray()),
                                longs(e.getAsJsonArray("token_type_ids").get(i).getAsJsonArray()),
                                longs(e.getAsJsonArray("attention_mask").get(i).getAsJsonArray())));
            }
        }
    }

    public final List<Single> single = new ArrayList<>();
    public final List<Pair> pair = new ArrayList<>();
    public final List<Batch> batch = new ArrayList<>();

    private TokenizerGolden(JsonObject root) {
        root.getAsJsonArray("single").forEach(e -> single.add(new Single(e.getAsJsonObject())));
        root.getAsJsonArray("pair").forEach(e -> pair.add(new Pair(e.getAsJsonObject())));
        root.getAsJsonArray("batch").forEach(e -> batch.add(new Batch(e.getAsJsonObject())));
    }

    /** Reads the fixture file. */
    public static TokenizerGolden load() {
        try {
            String text = Files.readString(Fixtures.tokenizerGolden(), StandardCharsets.UTF_8);
            return new TokenizerGolden(JsonParser.parseString(text).getAsJsonObject());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Enc enc(JsonObject o) {
        return new Enc(
                longs(o.getAsJsonArray("input_ids")),
                longs(o.getAsJsonArray("token_type_ids")),
                longs(o.getAsJsonArray("attention_mask")));
    }

    private static List<String> strings(JsonArray a) {
        List<String> out = new ArrayList<>();
        for (JsonElement e : a) {
            out.add(e.getAsString());
        }
        return out;
    }

    private static long[] longs(JsonArray a) {
        long[] out = new long[a.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = a.get(i).getAsLong();
        }
        return out;
    }
}
