package io.sparkbert.bert;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.util.PairList;
import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import io.sparkbert.bert.TokenizerOptions.Padding;
import io.sparkbert.bert.TokenizerOptions.Truncation;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A HuggingFace-exact tokenizer over DJL's binding of the Rust {@code tokenizers} library: the same
 * normalisation, WordPiece splitting, [CLS]/[SEP] template, truncation, padding and decoding as
 * {@code transformers}' BertTokenizer (checked against its outputs in the tests).
 *
 * <p><b>Loading.</b> {@link #fromDirectory} reads {@code tokenizer.json}, or a classic {@code
 * vocab.txt} (+ optional {@code tokenizer_config.json}) from which it builds the equivalent
 * tokenizer.json; {@link #builtIn} uses the all-MiniLM-L6-v2 tokenizer shipped in the default model
 * jar; {@link #fromJson} takes tokenizer.json text, such as {@link #toJson()} returns.
 *
 * <p><b>Model maximum length.</b> Taken from {@code tokenizer_config.json} ({@code
 * model_max_length}) and {@code config.json} ({@code max_position_embeddings}), the smaller one
 * wins; else from the {@code truncation.max_length} that {@link #toJson()} records; else 512. The
 * built-in tokenizer has 512 (its model has 512 positions; the 128 stored in its tokenizer.json is
 * a training setting of sentence-transformers). The options' {@code maxLength} is capped by it.
 *
 * <p><b>Inputs.</b> {@code null} texts are rejected with {@link IllegalArgumentException}. Empty
 * and whitespace-only texts encode to the special tokens alone ({@code [CLS] [SEP]}). Control
 * characters, zero-width characters and U+FFFD are removed by the BERT normaliser; unpaired UTF-16
 * surrogates are turned into U+FFFD on the way to the native library and therefore removed too
 * (Python cannot even encode such strings). Characters outside the vocabulary (e.g. emoji beyond
 * the BMP) become {@code [UNK]}; a word longer than 100 characters becomes one {@code [UNK]}. Very
 * long texts (megabytes) are tokenized in full and then truncated; with {@link Truncation#NONE} the
 * encoding keeps every token and may be longer than {@code maxLength}.
 *
 * <p><b>Threads.</b> Thread-safe: the options are fixed at construction and the native tokenizer is
 * only read while encoding. {@link #close()} is idempotent; calling any other method after it
 * throws {@link IllegalStateException}. Not {@link java.io.Serializable}: ship {@link #toJson()}
 * and the options instead.
 */
public final class HfTokenizer implements AutoCloseable {

    /** The maximum length of the built-in model (its position embeddings). */
    static final int BUILT_IN_MODEL_MAX_LENGTH = 512;

    /** The model maximum used when nothing says otherwise. */
    static final int FALLBACK_MODEL_MAX_LENGTH = 512;

    private static final Gson GSON = new GsonBuilder().disableHtmlEscaping().create();

    private final HuggingFaceTokenizer encoder;
    private final HuggingFaceTokenizer plain;
    private final String json;
    private final TokenizerOptions options;
    private final int modelMaxLength;
    private final int maxLength;
    private final Map<String, Integer> vocab;
    private final Map<String, Integer> addedTokens;
    private final long unkId;
    private final long padId;
    private final String padToken;
    private final long maxId;
    private final String source;
    private final TruncationRules rules;
    private final AtomicBoolean closed = new AtomicBoolean();

    private HfTokenizer(
            JsonObject doc, int modelMaxLength, TokenizerOptions options, String source) {
        if (options == null) {
            throw new IllegalArgumentException("TokenizerOptions must not be null");
        }
        this.source = source;
        this.options = options;
        this.modelMaxLength = modelMaxLength;
        this.maxLength = Math.min(options.maxLength(), modelMaxLength);
        JsonObject model = TokenizerFiles.object(doc, "model", source);
        this.vocab = TokenizerFiles.readVocab(model, source);
        this.addedTokens = new HashMap<>();
        long max = vocab.values().stream().mapToLong(Integer::longValue).max().orElse(-1);
        JsonElement added = doc.get("added_tokens");
        if (added != null && added.isJsonArray()) {
            for (JsonElement e : added.getAsJsonArray()) {
                JsonObject t = e.getAsJsonObject();
                int id = t.get("id").getAsInt();
                addedTokens.put(t.get("content").getAsString(), id);
                max = Math.max(max, id);
            }
        }
        this.maxId = max;
        this.unkId = TokenizerFiles.readUnkId(model, addedTokens, vocab);
        this.padId = TokenizerFiles.readPadId(doc, addedTokens, vocab);
        JsonElement padding = doc.get("padding");
        this.padToken =
                padding != null
                                && padding.isJsonObject()
                                && padding.getAsJsonObject().has("pad_token")
                        ? padding.getAsJsonObject().get("pad_token").getAsString()
                        : "[PAD]";
        this.rules = new TruncationRules(options, maxLength, padId, padToken, source);
        // Record the model maximum in the document so that fromJson(toJson()) restores it.
        doc.add("truncation", WordPieceJson.truncation(modelMaxLength));
        this.json = GSON.toJson(doc);

        Map<String, String> enc = new HashMap<>();
        enc.put("addSpecialTokens", String.valueOf(options.addSpecialTokens()));
        enc.put(
                "truncation",
                options.truncation() == Truncation.NONE ? "false" : options.truncation().name());
        enc.put("padding", options.padding() == Padding.NONE ? "false" : options.padding().name());
        enc.put("maxLength", String.valueOf(maxLength));
        enc.put("modelMaxLength", String.valueOf(modelMaxLength));
        Map<String, String> raw = new HashMap<>();
        raw.put("addSpecialTokens", "false");
        raw.put("truncation", "false");
        raw.put("padding", "false");
        raw.put("modelMaxLength", String.valueOf(modelMaxLength));
        HuggingFaceTokenizer first = null;
        try {
            first = create(json, enc);
            this.plain = create(json, raw);
            this.encoder = first;
        } catch (IOException | RuntimeException e) {
            if (first != null) {
                first.close();
            }
            throw new IllegalArgumentException(
                    "Cannot load tokenizer " + source + ": " + e.getMessage(), e);
        }
    }

    private static HuggingFaceTokenizer create(String json, Map<String, String> opts)
            throws IOException {
        try (InputStream in = new ByteArrayInputStream(json.getBytes(StandardCharsets.UTF_8))) {
            return HuggingFaceTokenizer.newInstance(in, opts);
        }
    }

    /**
     * Loads the tokenizer of a model directory: {@code tokenizer.json} when present, else {@code
     * vocab.txt} with the optional {@code tokenizer_config.json} ({@code do_lower_case} default
     * true, {@code strip_accents} default "as lower-casing", {@code tokenize_chinese_chars} default
     * true, {@code model_max_length}, special token names).
     *
     * @throws IllegalArgumentException naming the path when the directory or its files are missing
     *     or unreadable
     */
    public static HfTokenizer fromDirectory(Path dir, TokenizerOptions options) {
        TokenizerFiles.Found found = TokenizerFiles.read(dir);
        return new HfTokenizer(found.doc(), found.modelMaxLength(), options, found.source());
    }

    /**
     * The default built-in's tokenizer ({@link BuiltInModel#defaultModel()}; every built-in ships
     * the bert-base-uncased WordPiece vocabulary); model maximum 512.
     *
     * @throws IllegalStateException when the jar is not on the classpath
     */
    public static HfTokenizer builtIn(TokenizerOptions options) {
        return builtIn(BuiltInModel.defaultModel(), options);
    }

    /**
     * The tokenizer.json shipped in a built-in encoder's jar; model maximum 512 (the position
     * embeddings of every built-in).
     *
     * @throws IllegalStateException naming the Maven coordinate when the jar is not on the
     *     classpath
     */
    public static HfTokenizer builtIn(BuiltInModel which, TokenizerOptions options) {
        which.requirePresent();
        String resource = which.tokenizerResource();
        String text;
        try (InputStream in = HfTokenizer.class.getResourceAsStream(resource)) {
            text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read " + resource, e);
        }
        return new HfTokenizer(
                TokenizerFiles.parse(text, resource),
                BUILT_IN_MODEL_MAX_LENGTH,
                options,
                "built-in " + resource);
    }

    /**
     * A tokenizer from tokenizer.json text, e.g. what {@link #toJson()} returned. The model maximum
     * is read from its {@code truncation.max_length} (512 when absent).
     *
     * @throws IllegalArgumentException when the text is null or not a tokenizer document
     */
    public static HfTokenizer fromJson(String tokenizerJson, TokenizerOptions options) {
        if (tokenizerJson == null) {
            throw new IllegalArgumentException("tokenizer.json text must not be null");
        }
        JsonObject doc = TokenizerFiles.parse(tokenizerJson, "(tokenizer.json text)");
        return new HfTokenizer(
                doc, TokenizerFiles.recordedMaxLength(doc), options, "(tokenizer.json text)");
    }

    /**
     * The tokenizer.json text of this tokenizer, with the model maximum recorded in {@code
     * truncation.max_length}: save it with a model or ship it to executors and rebuild with {@link
     * #fromJson}.
     */
    public String toJson() {
        return json;
    }

    /** The options this tokenizer was built with. */
    public TokenizerOptions options() {
        return options;
    }

    /** Encodes one text with the options' truncation, padding and special tokens. */
    public Encoding encode(String text) {
        requireText(text, "text");
        checkOpen();
        try {
            return rules.checked(
                    TruncationRules.convert(
                            encoder.encode(text, options.addSpecialTokens(), false)));
        } catch (RuntimeException e) {
            throw rules.translate(e, 1);
        }
    }

    /**
     * Encodes a sequence pair ({@code [CLS] a [SEP] b [SEP]}, segment ids 0 then 1).
     *
     * @throws IllegalArgumentException when only_first/only_second truncation cannot fit the pair
     *     into maxLength (as HuggingFace refuses it)
     */
    public Encoding encode(String a, String b) {
        requireText(a, "first text");
        requireText(b, "second text");
        checkOpen();
        try {
            return rules.checked(
                    TruncationRules.convert(
                            encoder.encode(a, b, options.addSpecialTokens(), false)));
        } catch (RuntimeException e) {
            throw rules.translate(e, 2);
        }
    }

    /** Encodes several texts together; {@link Padding#LONGEST} pads to the longest of them. */
    public Encoding[] encodeBatch(List<String> texts) {
        if (texts == null) {
            throw new IllegalArgumentException("texts must not be null");
        }
        String[] array = texts.toArray(new String[0]);
        for (int i = 0; i < array.length; i++) {
            requireText(array[i], "text #" + i);
        }
        checkOpen();
        if (array.length == 0) {
            return new Encoding[0];
        }
        if (!rules.nativeBatchIsSafe()) {
            Encoding[] out = new Encoding[array.length];
            for (int i = 0; i < array.length; i++) {
                out[i] = encode(array[i]);
            }
            return rules.padToLongest(out);
        }
        try {
            return rules.checked(
                    TruncationRules.convert(
                            encoder.batchEncode(array, options.addSpecialTokens(), false)));
        } catch (RuntimeException e) {
            throw rules.translate(e, 1);
        }
    }

    /** Encodes pairs {@code (a[i], b[i])} together; both lists must have the same size. */
    public Encoding[] encodeBatch(List<String> a, List<String> b) {
        if (a == null || b == null) {
            throw new IllegalArgumentException("text lists must not be null");
        }
        if (a.size() != b.size()) {
            throw new IllegalArgumentException(
                    "Pair lists differ in size: " + a.size() + " first vs " + b.size() + " second");
        }
        PairList<String, String> pairs = new PairList<>(a.size());
        for (int i = 0; i < a.size(); i++) {
            requireText(a.get(i), "first text #" + i);
            requireText(b.get(i), "second text #" + i);
            pairs.add(a.get(i), b.get(i));
        }
        checkOpen();
        if (a.isEmpty()) {
            return new Encoding[0];
        }
        if (!rules.nativeBatchIsSafe()) {
            Encoding[] out = new Encoding[a.size()];
            for (int i = 0; i < out.length; i++) {
                out[i] = encode(a.get(i), b.get(i));
            }
            return rules.padToLongest(out);
        }
        try {
            return rules.checked(
                    TruncationRules.convert(
                            encoder.batchEncode(pairs, options.addSpecialTokens(), false)));
        } catch (RuntimeException e) {
            throw rules.translate(e, 2);
        }
    }

    /**
     * The WordPiece tokens of a text, without special tokens, truncation or padding (HF {@code
     * tokenize}).
     */
    public List<String> tokenize(String text) {
        requireText(text, "text");
        checkOpen();
        return Collections.unmodifiableList(
                Arrays.asList(plain.encode(text, false, false).getTokens()));
    }

    /**
     * The ids of tokens (HF {@code convert_tokens_to_ids}): added/special tokens first, then the
     * vocabulary; unknown tokens map to the unknown-token id.
     *
     * @throws IllegalArgumentException for null tokens, or unknown ones when the model has no
     *     unknown token
     */
    public long[] convertTokensToIds(List<String> tokens) {
        if (tokens == null) {
            throw new IllegalArgumentException("tokens must not be null");
        }
        long[] ids = new long[tokens.size()];
        for (int i = 0; i < ids.length; i++) {
            String t = tokens.get(i);
            if (t == null) {
                throw new IllegalArgumentException("token #" + i + " is null");
            }
            Integer id = addedTokens.get(t);
            if (id == null) {
                id = vocab.get(t);
            }
            if (id == null) {
                if (unkId < 0) {
                    throw new IllegalArgumentException(
                            "Token '" + t + "' is not in the vocabulary and there is no [UNK]");
                }
                ids[i] = unkId;
            } else {
                ids[i] = id;
            }
        }
        return ids;
    }

    /**
     * Turns ids back into text, as HF {@code decode(ids, skip_special_tokens,
     * clean_up_tokenization_spaces)} does.
     *
     * <p>Two clean-ups are at work, which is why {@code cleanUpTokenizationSpaces=false} still
     * joins {@code " ,"}, {@code " ."} and {@code " !"}: (1) the WordPiece decoder of
     * tokenizer.json ({@code cleanup: true}) drops "##" and puts a space before every other token,
     * then applies its replacement list to <em>each token on its own</em>: a token {@code " ."}
     * becomes {@code "."}, but the patterns that span two tokens ({@code " ' "}, {@code " 's"},
     * {@code " n't"}) never match a single token, so {@code let ' s} survives. (2) With {@code
     * cleanUpTokenizationSpaces=true}, transformers then applies its own replacement list to the
     * whole string, which joins the apostrophes ({@code let's}, {@code don't}). Neither touches
     * {@code " :"}, {@code " -"} or {@code " ;"}.
     *
     * @throws IllegalArgumentException for null ids or an id outside the vocabulary
     */
    public String decode(long[] ids, boolean skipSpecialTokens, boolean cleanUpTokenizationSpaces) {
        if (ids == null) {
            throw new IllegalArgumentException("ids must not be null");
        }
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] < 0 || ids[i] > maxId) {
                throw new IllegalArgumentException(
                        "id "
                                + ids[i]
                                + " at position "
                                + i
                                + " is outside the vocabulary [0, "
                                + maxId
                                + "]");
            }
        }
        checkOpen();
        String text = plain.decode(ids, skipSpecialTokens);
        return cleanUpTokenizationSpaces ? cleanUpTokenizationSpaces(text) : text;
    }

    /**
     * transformers' {@code clean_up_tokenization}: applied to the whole decoded string, in this
     * order.
     */
    static String cleanUpTokenizationSpaces(String text) {
        return text.replace(" .", ".")
                .replace(" ?", "?")
                .replace(" !", "!")
                .replace(" ,", ",")
                .replace(" ' ", "'")
                .replace(" n't", "n't")
                .replace(" 'm", "'m")
                .replace(" 's", "'s")
                .replace(" 've", "'ve")
                .replace(" 're", "'re");
    }

    /** The size of the model vocabulary, added tokens not counted (HF {@code vocab_size}). */
    public int vocabSize() {
        return vocab.size();
    }

    /** The model's maximum sequence length. */
    public int modelMaxLength() {
        return modelMaxLength;
    }

    /** The effective maximum length: the options' maxLength capped by {@link #modelMaxLength()}. */
    public int maxLength() {
        return maxLength;
    }

    /** The id used for padding. */
    public long padTokenId() {
        return padId;
    }

    /** Frees the native tokenizers; later calls do nothing. */
    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            encoder.close();
            plain.close();
        }
    }

    private void checkOpen() {
        if (closed.get()) {
            throw new IllegalStateException("Tokenizer " + source + " has been closed");
        }
    }

    private static void requireText(String text, String what) {
        if (text == null) {
            throw new IllegalArgumentException(
                    what + " is null: pass a string (empty is allowed) or filter out nulls");
        }
    }
}
