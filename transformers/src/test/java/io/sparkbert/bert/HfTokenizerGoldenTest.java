package io.sparkbert.bert;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

import io.sparkbert.testing.Fixtures;
import io.sparkbert.testing.TokenizerGolden;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Every case of tokenizer-golden.json, run with the built-in tokenizer.json and with the
 * vocab.txt-only tinybert directory (both hold the bert-base-uncased vocabulary).
 */
class HfTokenizerGoldenTest {
    private static final TokenizerGolden GOLDEN = TokenizerGolden.load();

    private static final List<Source> SOURCES =
            List.of(
                    new Source("built-in", HfTokenizer::builtIn),
                    new Source(
                            "tinybert vocab.txt",
                            o -> HfTokenizer.fromDirectory(Fixtures.tinyBert(), o)));

    private static final class Source {
        final String name;
        final Function<TokenizerOptions, HfTokenizer> factory;

        Source(String name, Function<TokenizerOptions, HfTokenizer> factory) {
            this.name = name;
            this.factory = factory;
        }
    }

    /** Maps HF call kwargs to options; as in HF, max_length alone switches on longest_first. */
    static TokenizerOptions options(TokenizerGolden.Kwargs k) {
        TokenizerOptions o = TokenizerOptions.defaults();
        if (k.maxLength != null) {
            o = o.withMaxLength(k.maxLength);
        }
        String t = k.truncation;
        if (t == null) {
            o = o.withTruncation(k.maxLength != null ? "longest_first" : "none");
        } else {
            o = o.withTruncation("true".equals(t) ? "longest_first" : t);
        }
        String p = k.padding;
        o = o.withPadding(p == null ? "none" : "true".equals(p) ? "longest" : p);
        return o;
    }

    @TestFactory
    Stream<DynamicNode> singleCases() {
        return SOURCES.stream()
                .map(src -> DynamicContainer.dynamicContainer(src.name, singleTests(src)));
    }

    private static Stream<DynamicTest> singleTests(Source src) {
        List<DynamicTest> tests = new ArrayList<>();
        for (TokenizerGolden.Single c : GOLDEN.single) {
            tests.add(
                    dynamicTest(
                            abbreviate(c.text),
                            () -> {
                                try (HfTokenizer tok =
                                        src.factory.apply(TokenizerOptions.defaults())) {
                                    assertEquals(c.tokens, tok.tokenize(c.text), "tokens");
                                    assertArrayEquals(
                                            c.ids, tok.convertTokensToIds(c.tokens), "ids");
                                    Encoding e = tok.encode(c.text);
                                    assertArrayEquals(
                                            c.encoding.inputIds, e.inputIds(), "input_ids");
                                    assertArrayEquals(
                                            c.encoding.tokenTypeIds,
                                            e.tokenTypeIds(),
                                            "token_type_ids");
                                    assertArrayEquals(
                                            c.encoding.attentionMask,
                                            e.attentionMask(),
                                            "attention_mask");
                                    assertEquals(
                                            c.decodeClean,
                                            tok.decode(c.ids, false, true),
                                            "decode_clean");
                                    assertEquals(
                                            c.decodeRaw,
                                            tok.decode(c.ids, false, false),
                                            "decode_raw");
                                    assertEquals(
                                            c.decodeSkipSpecial,
                                            tok.decode(c.ids, true, true),
                                            "decode_skip_special");
                                }
                            }));
        }
        return tests.stream();
    }

    @TestFactory
    Stream<DynamicNode> pairCases() {
        return SOURCES.stream()
                .map(src -> DynamicContainer.dynamicContainer(src.name, pairTests(src)));
    }

    private static Stream<DynamicTest> pairTests(Source src) {
        List<DynamicTest> tests = new ArrayList<>();
        for (TokenizerGolden.Pair c : GOLDEN.pair) {
            tests.add(
                    dynamicTest(
                            abbreviate(c.a) + " | " + c.kwargs,
                            () -> {
                                try (HfTokenizer tok = src.factory.apply(options(c.kwargs))) {
                                    if (c.error != null) {
                                        IllegalArgumentException e =
                                                assertThrows(
                                                        IllegalArgumentException.class,
                                                        () -> tok.encode(c.a, c.b));
                                        assertTrue(
                                                e.getMessage().contains(c.error), e.getMessage());
                                        assertTrue(
                                                e.getMessage().contains("only_second"),
                                                e.getMessage());
                                        // The batch path must refuse it too (not abort the JVM).
                                        assertThrows(
                                                IllegalArgumentException.class,
                                                () -> tok.encodeBatch(List.of(c.a), List.of(c.b)));
                                        return;
                                    }
                                    assertEncoding(c.encoding, tok.encode(c.a, c.b));
                                    // The batch path must agree with the single path.
                                    Encoding[] batch = tok.encodeBatch(List.of(c.a), List.of(c.b));
                                    assertEquals(1, batch.length);
                                    assertEncoding(c.encoding, batch[0]);
                                }
                            }));
        }
        return tests.stream();
    }

    @TestFactory
    Stream<DynamicNode> batchCases() {
        return SOURCES.stream()
                .map(src -> DynamicContainer.dynamicContainer(src.name, batchTests(src)));
    }

    private static Stream<DynamicTest> batchTests(Source src) {
        List<DynamicTest> tests = new ArrayList<>();
        for (TokenizerGolden.Batch c : GOLDEN.batch) {
            tests.add(
                    dynamicTest(
                            abbreviate(c.texts.get(0)) + "... | " + c.kwargs,
                            () -> {
                                try (HfTokenizer tok = src.factory.apply(options(c.kwargs))) {
                                    Encoding[] out = tok.encodeBatch(c.texts);
                                    assertEquals(c.encodings.size(), out.length);
                                    for (int i = 0; i < out.length; i++) {
                                        assertEncoding(c.encodings.get(i), out[i]);
                                    }
                                }
                            }));
        }
        return tests.stream();
    }

    private static void assertEncoding(TokenizerGolden.Enc want, Encoding got) {
        assertArrayEquals(want.inputIds, got.inputIds(), "input_ids");
        assertArrayEquals(want.tokenTypeIds, got.tokenTypeIds(), "token_type_ids");
        assertArrayEquals(want.attentionMask, got.attentionMask(), "attention_mask");
    }

    private static String abbreviate(String s) {
        String oneLine = s.replaceAll("\\s", " ");
        String shown = oneLine.length() > 40 ? oneLine.substring(0, 40) + "…" : oneLine;
        return "\"" + shown + "\"";
    }
}
