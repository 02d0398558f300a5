package io.sparkbert.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkbert.data.SentimentData.Split;
import io.sparkbert.testing.SparkTestSession;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The UCI sentiment data and its split on Spark ({@code local[2]}). */
class SentimentDataTest {
    private static SparkSession spark;
    private static Dataset<Row> data;

    @BeforeAll
    static void setUp() {
        spark = SparkTestSession.get();
        data = SentimentData.load(spark).cache();
    }

    @Test
    void loadsSchemaRowsAndFileOrder() {
        assertEquals(SentimentData.SCHEMA, data.schema());
        assertEquals(3000, data.count());
        List<Row> first = data.limit(2).collectAsList();
        assertEquals("amazon-0001", first.get(0).getString(0));
        assertEquals(0.0, first.get(0).getDouble(2));
        assertEquals("amazon", first.get(0).getString(3));
        assertEquals("Good case, Excellent value.", first.get(1).getString(1));
        assertEquals(1.0, first.get(1).getDouble(2));
        assertEquals(1500, data.filter("label = 1.0").count());
        assertEquals(1500, data.filter("label = 0.0").count());
        assertEquals(1000, data.filter("source = 'imdb'").count());
    }

    @Test
    void splitCountsPerSplitAndLabel() {
        Split split = SentimentData.split(data, 0.8, 42);
        assertEquals(2400, split.train().count());
        assertEquals(600, split.test().count());
        assertEquals(1200, split.train().filter("label = 1.0").count());
        assertEquals(1200, split.train().filter("label = 0.0").count());
        assertEquals(300, split.test().filter("label = 1.0").count());
        assertEquals(300, split.test().filter("label = 0.0").count());
        assertEquals(List.of("id", "text", "label", "source"), List.of(split.train().columns()));
    }

    @Test
    void splitIsDisjointCompleteAndDeterministic() {
        Split split = SentimentData.split(data, 0.8, 42);
        Set<String> train = ids(split.train());
        Set<String> test = ids(split.test());
        assertEquals(0, split.train().join(split.test(), "id").count());
        assertEquals(3000, split.train().union(split.test()).distinct().count());
        assertEquals(ids(data), union(train, test));

        Split again = SentimentData.split(data, 0.8, 42);
        assertEquals(train, ids(again.train()));
        assertEquals(test, ids(again.test()));

        // Partitioning and row order of the input do not matter.
        Dataset<Row> shuffled = data.repartition(7).orderBy(functions.rand(1));
        assertEquals(test, ids(SentimentData.split(shuffled, 0.8, 42).test()));
    }

    @Test
    void sparkAndPlainJavaSplitsAgree() {
        SentimentCorpus.ExampleSplit plain = SentimentCorpus.split(SentimentCorpus.load(), 0.8, 42);
        Split split = SentimentData.split(data, 0.8, 42);
        assertEquals(
                plain.test().stream().map(Example::id).collect(Collectors.toSet()),
                ids(split.test()));
        assertEquals(
                plain.train().stream().map(Example::id).collect(Collectors.toSet()),
                ids(split.train()));
    }

    @Test
    void missingColumnIsNamed() {
        IllegalArgumentException e =
                assertThrows(
                        IllegalArgumentException.class,
                        () -> SentimentData.split(data.drop("label"), 0.8, 42));
        assertTrue(e.getMessage().contains("'label' is missing"), e.getMessage());
        IllegalArgumentException type =
                assertThrows(
                        IllegalArgumentException.class,
                        () ->
                                SentimentData.split(
                                        data.withColumn("label", functions.lit("x")), 0.8, 42));
        assertTrue(type.getMessage().contains("'label' must be numeric"), type.getMessage());
    }

    private static Set<String> ids(Dataset<Row> rows) {
        return rows.select("id").collectAsList().stream()
                .map(r -> r.getString(0))
                .collect(Collectors.toSet());
    }

    private static Set<String> union(Set<String> a, Set<String> b) {
        Set<String> u = new java.util.HashSet<>(a);
        u.addAll(b);
        return u;
    }
}
