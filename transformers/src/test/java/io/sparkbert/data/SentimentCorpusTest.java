package io.sparkbert.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkbert.data.SentimentCorpus.ExampleSplit;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Loading and splitting the UCI sentiment data without Spark. */
class SentimentCorpusTest {
    private static List<Example> all;

    @BeforeAll
    static void load() {
        all = SentimentCorpus.load();
    }

    @Test
    void loadsThreeThousandRowsInFileOrder() {
        assertEquals(3000, all.size());
        Map<String, Long> perSource =
                all.stream().collect(Collectors.groupingBy(Example::source, Collectors.counting()));
        assertEquals(Map.of("amazon", 1000L, "imdb", 1000L, "yelp", 1000L), perSource);
        Map<Integer, Long> perLabel =
                all.stream().collect(Collectors.groupingBy(Example::label, Collectors.counting()));
        assertEquals(Map.of(0, 1500L, 1, 1500L), perLabel);

        // First and last rows of each file, as in the npm package (sentinel entries skipped).
        assertEquals(
                new Example(
                        "amazon-0001",
                        "So there is no way for me to plug it in here in the US unless I go by a"
                                + " converter.",
                        0,
                        "amazon"),
                all.get(0));
        assertEquals(
                new Example("amazon-0002", "Good case, Excellent value.", 1, "amazon"), all.get(1));
        assertEquals("amazon-1000", all.get(999).id());
        // IMDb lines carry two trailing spaces in the file; they are stripped.
        assertEquals(
                new Example(
                        "imdb-0001",
                        "A very, very, very slow-moving, aimless movie about a distressed, drifting"
                                + " young man.",
                        0,
                        "imdb"),
                all.get(1000));
        assertEquals(
                new Example("yelp-0001", "Wow... Loved this place.", 1, "yelp"), all.get(2000));
        assertEquals(new Example("yelp-0002", "Crust is not good.", 0, "yelp"), all.get(2001));
        assertEquals("yelp-1000", all.get(2999).id());
        assertEquals(3000, all.stream().map(Example::id).distinct().count());
    }

    @Test
    void splitIsStratifiedDisjointAndComplete() {
        ExampleSplit split = SentimentCorpus.split(all, 0.8, 42);
        assertEquals(2400, split.train().size());
        assertEquals(600, split.test().size());
        assertEquals(1200, split.train().stream().filter(e -> e.label() == 1).count());
        assertEquals(300, split.test().stream().filter(e -> e.label() == 1).count());

        Set<String> train = ids(split.train());
        Set<String> test = ids(split.test());
        assertEquals(2400, train.size());
        assertTrue(train.stream().noneMatch(test::contains), "train and test overlap");
        Set<String> union = new HashSet<>(train);
        union.addAll(test);
        assertEquals(ids(all), union);

        // Both halves keep the input (file) order.
        List<Example> trainInOrder = new ArrayList<>(all);
        trainInOrder.retainAll(split.train());
        assertEquals(trainInOrder, split.train());
    }

    @Test
    void splitIsDeterministicAndIndependentOfInputOrder() {
        ExampleSplit first = SentimentCorpus.split(all, 0.8, 42);
        ExampleSplit second = SentimentCorpus.split(all, 0.8, 42);
        assertEquals(first, second);

        List<Example> reversed = new ArrayList<>(all);
        java.util.Collections.reverse(reversed);
        assertEquals(ids(first.test()), ids(SentimentCorpus.split(reversed, 0.8, 42).test()));

        ExampleSplit otherSeed = SentimentCorpus.split(all, 0.8, 43);
        assertEquals(600, otherSeed.test().size());
        assertNotEquals(ids(first.test()), ids(otherSeed.test()));
    }

    @Test
    void splitKeyIsHexSha256OfIdAndSeed() {
        // sha256("amazon-0001:42"), computed independently with sha256sum.
        assertEquals(
                "01385599a3ea22abecc98e42039becbb93aac4f1da5cb28cc8a9113adfa185f5",
                SentimentCorpus.splitKey("amazon-0001", 42));
    }

    @Test
    void oddGroupSizesRoundHalfUp() {
        assertEquals(4, SentimentCorpus.trainCount(5, 0.7)); // 3.5 -> 4
        assertEquals(3, SentimentCorpus.trainCount(4, 0.8)); // 3.2 -> 3
        assertEquals(1200, SentimentCorpus.trainCount(1500, 0.8));
    }

    @Test
    void badFractionIsRefusedWithTheFix() {
        IllegalArgumentException e =
                assertThrows(
                        IllegalArgumentException.class, () -> SentimentCorpus.split(all, 1.0, 42));
        assertTrue(e.getMessage().contains("trainFraction"), e.getMessage());
    }

    @Test
    void missingAndMalformedFilesNameTheFile(@TempDir Path dir) throws IOException {
        IllegalArgumentException missing =
                assertThrows(IllegalArgumentException.class, () -> SentimentCorpus.load(dir));
        assertTrue(missing.getMessage().contains("amazon.json"), missing.getMessage());
        assertTrue(missing.getMessage().contains("fetch-data.sh"), missing.getMessage());

        Files.writeString(
                dir.resolve("amazon.json"),
                "[{\"text\":\"fine\",\"class\":1},{\"text\":\"odd\",\"class\":2}]",
                StandardCharsets.UTF_8);
        IllegalArgumentException bad =
                assertThrows(IllegalArgumentException.class, () -> SentimentCorpus.load(dir));
        assertTrue(bad.getMessage().contains("amazon.json entry 1"), bad.getMessage());
    }

    @Test
    void sentinelEntriesAreSkipped(@TempDir Path dir) throws IOException {
        for (String source : SentimentCorpus.SOURCES) {
            Files.writeString(
                    dir.resolve(source + ".json"),
                    "[{\"text\":\"a " + source + "\",\"class\":1},{\"text\":\"\",\"class\":null}]",
                    StandardCharsets.UTF_8);
        }
        assertEquals(
                List.of(
                        new Example("amazon-0001", "a amazon", 1, "amazon"),
                        new Example("imdb-0001", "a imdb", 1, "imdb"),
                        new Example("yelp-0001", "a yelp", 1, "yelp")),
                SentimentCorpus.load(dir));
    }

    private static Set<String> ids(List<Example> examples) {
        return examples.stream().map(Example::id).collect(Collectors.toSet());
    }
}
