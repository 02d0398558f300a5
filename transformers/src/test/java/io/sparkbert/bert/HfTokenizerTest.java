package io.sparkbert.bert;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkbert.bert.TokenizerOptions.Padding;
import io.sparkbert.bert.TokenizerOptions.Truncation;
import io.sparkbert.testing.Fixtures;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Loading, options, API contracts and bad input of {@link HfTokenizer}. */
class HfTokenizerTest {
    private static HfTokenizer builtIn;

    @BeforeAll
    static void open() {
        builtIn = HfTokenizer.builtIn(TokenizerOptions.defaults());
    }

    @AfterAll
    static void shut() {
        builtIn.close();
    }

    @Test
    void seedExample() {
        List<String> tokens = builtIn.tokenize("COVID-19 pandemic");
        assertEquals(List.of("co", "##vid", "-", "19", "pan", "##de", "##mic"), tokens);
        long[] ids = builtIn.convertTokensToIds(tokens);
        assertArrayEquals(new long[] {2522, 17258, 1011, 2539, 6090, 3207, 7712}, ids);
        assertEquals("covid - 19 pandemic", builtIn.decode(ids, true, true));
    }

    @Test
    void modelFacts() {
        assertEquals(30522, builtIn.vocabSize());
        assertEquals(512, builtIn.modelMaxLength());
        assertEquals(512, builtIn.maxLength());
        assertEquals(0, builtIn.padTokenId());
        try (HfTokenizer tiny =
                HfTokenizer.fromDirectory(Fixtures.tinyBert(), TokenizerOptions.defaults())) {
            assertEquals(30522, tiny.vocabSize());
            // tokenizer_config.json model_max_length and config.json positions are both 128.
            assertEquals(128, tiny.modelMaxLength());
            assertEquals(128, tiny.maxLength());
            assertEquals(0, tiny.padTokenId());
        }
        try (HfTokenizer small =
                HfTokenizer.builtIn(TokenizerOptions.defaults().withMaxLength(16))) {
            assertEquals(16, small.maxLength());
        }
    }

    @Test
    void unknownTokensMapToUnk() {
        assertArrayEquals(
                new long[] {100, 101, 7592},
                builtIn.convertTokensToIds(List.of("no-such-token", "[CLS]", "hello")));
    }

    @Test
    void toJsonRoundTripKeepsBehaviourAndModelMaximum() throws Exception {
        try (HfTokenizer tiny =
                        HfTokenizer.fromDirectory(
                                Fixtures.tinyBert(), TokenizerOptions.defaults());
                HfTokenizer copy = HfTokenizer.fromJson(tiny.toJson(), tiny.options())) {
            assertEquals(128, copy.modelMaxLength());
            String text = "Let's fo for a work, U.S.A. costs $100.00!";
            assertArrayEquals(tiny.encode(text).inputIds(), copy.encode(text).inputIds());
            assertEquals(tiny.toJson(), copy.toJson());
        }
        try (HfTokenizer copy = HfTokenizer.fromJson(builtIn.toJson(), builtIn.options())) {
            assertEquals(512, copy.modelMaxLength());
        }
    }

    @Test
    void directoryWithTokenizerJsonIsPreferred(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("tokenizer.json"), builtIn.toJson());
        Files.writeString(dir.resolve("vocab.txt"), "not used\n");
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"model_max_length\": 64}");
        try (HfTokenizer t = HfTokenizer.fromDirectory(dir, TokenizerOptions.defaults())) {
            assertEquals(64, t.modelMaxLength());
            assertArrayEquals(new long[] {101, 2522, 17258, 102}, t.encode("covid").inputIds());
        }
    }

    @Test
    void vocabOnlyHonoursTokenizerConfig(@TempDir Path dir) throws Exception {
        Files.copy(Fixtures.tinyBert().resolve("vocab.txt"), dir.resolve("vocab.txt"));
        Files.writeString(
                dir.resolve("tokenizer_config.json"),
                "{\"do_lower_case\": false, \"model_max_length\": 1e30}");
        try (HfTokenizer cased = HfTokenizer.fromDirectory(dir, TokenizerOptions.defaults())) {
            // The uncased vocabulary has no "Hello": cased input falls apart or becomes [UNK].
            assertEquals(List.of("[UNK]"), cased.tokenize("Héllo"));
            // HF's "no limit" is ignored: no config.json, so the fallback 512 applies.
            assertEquals(512, cased.modelMaxLength());
        }
    }

    @Test
    void missingOrCorruptFilesNameThePath(@TempDir Path dir) throws Exception {
        Path missing = dir.resolve("nope");
        IllegalArgumentException e =
                assertThrows(
                        IllegalArgumentException.class,
                        () -> HfTokenizer.fromDirectory(missing, TokenizerOptions.defaults()));
        assertTrue(e.getMessage().contains(missing.toString()), e.getMessage());

        Path empty = Files.createDirectory(dir.resolve("empty"));
        e =
                assertThrows(
                        IllegalArgumentException.class,
                        () -> HfTokenizer.fromDirectory(empty, TokenizerOptions.defaults()));
        assertTrue(e.getMessage().contains("neither tokenizer.json nor vocab.txt"), e.getMessage());

        Path corrupt = Files.createDirectory(dir.resolve("corrupt"));
        Files.writeString(corrupt.resolve("tokenizer.json"), "{\"model\": [truncated");
        e =
                assertThrows(
                        IllegalArgumentException.class,
                        () -> HfTokenizer.fromDirectory(corrupt, TokenizerOptions.defaults()));
        assertTrue(e.getMessage().contains(corrupt.resolve("tokenizer.json").toString()));

        Path noUnk = Files.createDirectory(dir.resolve("nounk"));
        Files.writeString(noUnk.resolve("vocab.txt"), "[PAD]\n[CLS]\n[SEP]\nhello\n");
        e =
                assertThrows(
                        IllegalArgumentException.class,
                        () -> HfTokenizer.fromDirectory(noUnk, TokenizerOptions.defaults()));
        assertTrue(e.getMessage().contains(noUnk.resolve("vocab.txt").toString()));
        assertTrue(e.getMessage().contains("[UNK]"));

        Path badConfig = Files.createDirectory(dir.resolve("badconfig"));
        Files.copy(Fixtures.tinyBert().resolve("vocab.txt"), badConfig.resolve("vocab.txt"));
        Files.writeString(badConfig.resolve("tokenizer_config.json"), "{oops");
        e =
                assertThrows(
                        IllegalArgumentException.class,
                        () -> HfTokenizer.fromDirectory(badConfig, TokenizerOptions.defaults()));
        assertTrue(e.getMessage().contains("tokenizer_config.json"), e.getMessage());

        e =
                assertThrows(
                        IllegalArgumentException.class,
                        () -> HfTokenizer.fromJson("[1, 2]", TokenizerOptions.defaults()));
        assertTrue(e.getMessage().contains("not a tokenizer.json"), e.getMessage());
    }

    @Test
    void optionNamesParseAndListAllowedValues() {
        assertEquals(Truncation.ONLY_SECOND, Truncation.fromHfName("only_second"));
        assertEquals(Truncation.NONE, Truncation.fromHfName("NONE"));
        assertEquals(Padding.MAX_LENGTH, Padding.fromHfName("max_length"));
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> Truncation.fromHfName("true"));
        assertEquals(
                "Invalid truncation 'true': must be one of"
                        + " [longest_first|only_first|only_second|none]",
                e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Padding.fromHfName("yes"));
        assertEquals(
                "Invalid padding 'yes': must be one of [none|longest|max_length]", e.getMessage());
        assertThrows(
                IllegalArgumentException.class, () -> TokenizerOptions.defaults().withMaxLength(0));
    }

    @Test
    void nullInputIsRejected() {
        assertThrows(IllegalArgumentException.class, () -> builtIn.encode(null));
        assertThrows(IllegalArgumentException.class, () -> builtIn.encode("a", null));
        assertThrows(IllegalArgumentException.class, () -> builtIn.tokenize(null));
        assertThrows(IllegalArgumentException.class, () -> builtIn.decode(null, true, true));
        IllegalArgumentException e =
                assertThrows(
                        IllegalArgumentException.class,
                        () -> builtIn.encodeBatch(Arrays.asList("a", null)));
        assertTrue(e.getMessage().contains("text #1"), e.getMessage());
        assertThrows(
                IllegalArgumentException.class,
                () -> builtIn.encodeBatch(List.of("a"), List.of("b", "c")));
        assertThrows(IllegalArgumentException.class, () -> HfTokenizer.builtIn(null));
    }

    @Test
    void emptyAndWhitespaceOnlyGiveSpecialTokensOnly() {
        for (String text : new String[] {"", "   ", "\t\n\r ", "\u00a0\u2003"}) {
            assertEquals(List.of(), builtIn.tokenize(text), "tokens of '" + text + "'");
            Encoding e = builtIn.encode(text);
            assertArrayEquals(new long[] {101, 102}, e.inputIds());
            assertArrayEquals(new String[] {"[CLS]", "[SEP]"}, e.tokens());
        }
        assertEquals(0, builtIn.encodeBatch(List.of()).length);
    }

    @Test
    void megabyteTextIsTruncatedOrKeptWhole() {
        String text = "word ".repeat(200_000); // 1,000,000 characters, 200,000 tokens
        Encoding cut = builtIn.encode(text);
        assertEquals(512, cut.length());
        assertEquals(101, cut.inputIds()[0]);
        assertEquals(2773, cut.inputIds()[1]); // "word"
        assertEquals(102, cut.inputIds()[511]);
        try (HfTokenizer whole =
                HfTokenizer.builtIn(TokenizerOptions.defaults().withTruncation(Truncation.NONE))) {
            assertEquals(200_002, whole.encode(text).length());
        }
    }

    @Test
    void controlCharactersAreDropped() {
        assertEquals(
                List.of("a", "b", "c"), builtIn.tokenize("a\u0000 b\u0007\u001b c\u200b\ufeff"));
        assertEquals(List.of("ab"), builtIn.tokenize("a\u0001\u0002b"));
    }

    @Test
    void loneSurrogatesAreDroppedLikeReplacementCharacters() {
        // U+D800 without its low half cannot be UTF-8 encoded; it arrives as U+FFFD, which the
        // BERT normaliser removes, so "a?b" tokenizes as "ab".
        assertEquals(List.of("ab", "c"), builtIn.tokenize("a\ud800b \udc00 c"));
        assertEquals(builtIn.tokenize("a\ufffdb c"), builtIn.tokenize("a\ud800b \udc00 c"));
    }

    @Test
    void nonBmpEmojiBecomeUnknown() {
        Encoding e = builtIn.encode("ok \ud83d\ude00\ud83c\udf89 fine");
        assertArrayEquals(new String[] {"[CLS]", "ok", "[UNK]", "fine", "[SEP]"}, e.tokens());
        assertArrayEquals(new long[] {101, 7929, 100, 2986, 102}, e.inputIds());
    }

    @Test
    void onlySecondOnSingleLongTextIsRefused() {
        try (HfTokenizer t =
                HfTokenizer.builtIn(
                        TokenizerOptions.defaults()
                                .withMaxLength(4)
                                .withTruncation(Truncation.ONLY_SECOND))) {
            assertArrayEquals(new long[] {101, 7592, 102}, t.encode("hello").inputIds());
            IllegalArgumentException e =
                    assertThrows(IllegalArgumentException.class, () -> t.encode("a b c d e f"));
            assertTrue(e.getMessage().contains("only_second needs a second text"));
        }
    }

    @Test
    void maxLengthTooSmallForSpecialTokensIsRefused() {
        try (HfTokenizer t = HfTokenizer.builtIn(TokenizerOptions.defaults().withMaxLength(1))) {
            IllegalArgumentException e =
                    assertThrows(IllegalArgumentException.class, () -> t.encode("hello world"));
            assertTrue(e.getMessage().contains("maxLength 1"), e.getMessage());
        }
    }

    @Test
    void paddingToMaxLengthAndWithoutSpecialTokens() {
        try (HfTokenizer t =
                HfTokenizer.builtIn(
                        TokenizerOptions.defaults()
                                .withMaxLength(6)
                                .withPadding(Padding.MAX_LENGTH)
                                .withAddSpecialTokens(false))) {
            Encoding e = t.encode("hello world");
            assertArrayEquals(new long[] {7592, 2088, 0, 0, 0, 0}, e.inputIds());
            assertArrayEquals(new long[] {1, 1, 0, 0, 0, 0}, e.attentionMask());
            assertEquals("[PAD]", e.tokens()[2]);
        }
    }

    @Test
    void decodeRejectsIdsOutsideTheVocabulary() {
        IllegalArgumentException e =
                assertThrows(
                        IllegalArgumentException.class,
                        () -> builtIn.decode(new long[] {7592, 30522}, true, true));
        assertTrue(e.getMessage().contains("30522"), e.getMessage());
        assertThrows(
                IllegalArgumentException.class, () -> builtIn.decode(new long[] {-1}, true, true));
    }

    @Test
    void cleanUpMatchesTransformers() {
        assertEquals(
                "i'm here, they're not. we've can't it's! ok? a : b",
                HfTokenizer.cleanUpTokenizationSpaces(
                        "i 'm here , they 're not . we 've ca n't it 's ! ok ? a : b"));
        assertEquals("let's", HfTokenizer.cleanUpTokenizationSpaces("let ' s"));
    }

    @Test
    void closeIsIdempotentAndLaterUseFails() {
        HfTokenizer t = HfTokenizer.builtIn(TokenizerOptions.defaults());
        t.close();
        t.close();
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> t.encode("x"));
        assertTrue(e.getMessage().contains("closed"));
    }

    @Test
    void concurrentUseGivesTheSameResults() throws Exception {
        List<String> texts = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            texts.add("sentence number " + i + " about COVID-19 and caf\u00e9s, isn't it?");
        }
        List<long[]> expected = new ArrayList<>();
        for (String s : texts) {
            expected.add(builtIn.encode(s).inputIds());
        }
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Future<Integer>> results = new ArrayList<>();
            for (int w = 0; w < 8; w++) {
                final int offset = w;
                results.add(
                        pool.submit(
                                () -> {
                                    int mismatches = 0;
                                    for (int k = 0; k < texts.size(); k++) {
                                        int i = (k + offset * 25) % texts.size();
                                        if (!Arrays.equals(
                                                expected.get(i),
                                                builtIn.encode(texts.get(i)).inputIds())) {
                                            mismatches++;
                                        }
                                    }
                                    return mismatches;
                                }));
            }
            for (Future<Integer> f : results) {
                assertEquals(0, f.get());
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void batchWithOnlyFirstOrOnlySecondFailsCleanlyInsteadOfAbortingTheJvm() {
        // DJL's native batch would panic (and abort the JVM) on this fixture case (pair[12]).
        String a = "A man is playing a guitar on stage in front of a large crowd of people.";
        String b = "Someone performs music.";
        try (HfTokenizer t =
                HfTokenizer.builtIn(
                        TokenizerOptions.defaults()
                                .withMaxLength(14)
                                .withTruncation(Truncation.ONLY_SECOND))) {
            IllegalArgumentException e =
                    assertThrows(
                            IllegalArgumentException.class,
                            () -> t.encodeBatch(List.of("ok", a), List.of("fine", b)));
            assertTrue(e.getMessage().contains("Sequence to truncate too short"), e.getMessage());
            assertThrows(
                    IllegalArgumentException.class,
                    () -> t.encodeBatch(List.of("a b c d e f g h i j k l m n o p")));
        }
    }

    @Test
    void javaBatchPaddingEqualsNativeBatchPadding() {
        List<String> a = List.of("The weather is nice", "How old are you?", "short");
        List<String> b = List.of("Let's fo for a work", "I am 6 years old.", "x");
        TokenizerOptions longest = TokenizerOptions.defaults().withPadding(Padding.LONGEST);
        try (HfTokenizer nativeBatch = HfTokenizer.builtIn(longest);
                HfTokenizer javaBatch =
                        HfTokenizer.builtIn(longest.withTruncation(Truncation.ONLY_FIRST))) {
            Encoding[] want = nativeBatch.encodeBatch(a, b);
            Encoding[] got = javaBatch.encodeBatch(a, b);
            Encoding[] wantSingle = nativeBatch.encodeBatch(a);
            Encoding[] gotSingle = javaBatch.encodeBatch(a);
            assertEquals(15, want[0].length());
            for (int i = 0; i < a.size(); i++) {
                assertArrayEquals(want[i].inputIds(), got[i].inputIds());
                assertArrayEquals(want[i].tokenTypeIds(), got[i].tokenTypeIds());
                assertArrayEquals(want[i].attentionMask(), got[i].attentionMask());
                assertArrayEquals(want[i].tokens(), got[i].tokens());
                assertArrayEquals(wantSingle[i].inputIds(), gotSingle[i].inputIds());
                assertArrayEquals(wantSingle[i].tokens(), gotSingle[i].tokens());
            }
            assertEquals("[PAD]", got[2].tokens()[got[2].length() - 1]);
        }
    }

    @Test
    void vocabularyKeepsLastLineForDuplicates() {
        assertEquals(
                java.util.Map.of("a", 2, "b", 1), WordPieceJson.vocabulary(List.of("a", "b", "a")));
        assertEquals("x", new String("x".getBytes(StandardCharsets.UTF_8), StandardCharsets.UTF_8));
    }
}
