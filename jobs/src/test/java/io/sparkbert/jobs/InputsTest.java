package io.sparkbert.jobs;

import static org.apache.spark.sql.functions.spark_partition_id;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkbert.testing.SparkTestSession;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class InputsTest {
    @TempDir Path tmp;

    private final SparkSession spark = SparkTestSession.get();

    private Dataset<Row> read(Path p, String format) {
        return Inputs.read(spark, p.toString(), Inputs.format(format), null);
    }

    private static List<String> texts(Dataset<Row> df) {
        return df.orderBy("text")
                .select("text")
                .as(org.apache.spark.sql.Encoders.STRING())
                .collectAsList();
    }

    @Test
    void eachFormatByExtension() throws IOException {
        Path jsonl = tmp.resolve("a.jsonl");
        Files.writeString(
                jsonl, "{\"text\":\"good\",\"label\":1}\n{\"text\":\"bad\",\"label\":0}\n");
        assertEquals(List.of("bad", "good"), texts(read(jsonl, "auto")));

        Path json = tmp.resolve("b.json");
        Files.writeString(
                json,
                "[\n {\"text\": \"x, y\", \"label\": 1},\n {\"text\": \"z\", \"label\": 0}\n]\n");
        Dataset<Row> j = read(json, "auto");
        assertEquals(List.of("x, y", "z"), texts(j));

        Path csv = tmp.resolve("c.csv");
        Files.writeString(csv, "id,text\n1,\"hello, \"\"world\"\"\"\n2,plain\n");
        Dataset<Row> c = read(csv, "auto");
        assertArrayEquals(new String[] {"id", "text"}, c.columns());
        assertEquals(List.of("hello, \"world\"", "plain"), texts(c));

        Path txt = tmp.resolve("d.txt");
        Files.writeString(txt, "one text\nanother, text\n");
        Dataset<Row> t = read(txt, "auto");
        assertArrayEquals(new String[] {"text"}, t.columns());
        assertEquals(List.of("another, text", "one text"), texts(t));

        Path parquet = tmp.resolve("e.parquet");
        c.write().parquet(parquet.toString());
        assertEquals(List.of("hello, \"world\"", "plain"), texts(read(parquet, "auto")));

        Path noExt = tmp.resolve("f.data");
        Files.writeString(noExt, "{\"text\":\"q\"}\n");
        assertEquals(List.of("q"), texts(read(noExt, "jsonl")), "--input-format overrides");
    }

    @Test
    void directoryOfFiles() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("dir"));
        Files.writeString(dir.resolve("1.jsonl"), "{\"text\":\"a\"}\n");
        Files.writeString(dir.resolve("2.jsonl"), "{\"text\":\"b\"}\n{\"text\":\"c\"}\n");
        Files.writeString(dir.resolve("_SUCCESS"), "");
        assertEquals(List.of("a", "b", "c"), texts(read(dir, "auto")));
        Files.writeString(dir.resolve("3.csv"), "text\nd\n");
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> read(dir, "auto"));
        assertTrue(e.getMessage().contains("--input-format"), e.getMessage());
    }

    @Test
    void clearErrors() throws IOException {
        IllegalArgumentException e =
                assertThrows(
                        IllegalArgumentException.class,
                        () -> read(tmp.resolve("nope.jsonl"), "auto"));
        assertTrue(e.getMessage().contains("does not exist"), e.getMessage());

        Path empty = tmp.resolve("empty.csv");
        Files.writeString(empty, "text,label\n");
        e = assertThrows(IllegalArgumentException.class, () -> read(empty, "auto"));
        assertTrue(e.getMessage().contains("holds no rows"), e.getMessage());

        Path emptyDir = Files.createDirectories(tmp.resolve("emptydir"));
        e = assertThrows(IllegalArgumentException.class, () -> read(emptyDir, "auto"));
        assertTrue(e.getMessage().contains("holds no data files"), e.getMessage());

        Path unknown = tmp.resolve("x.xml");
        Files.writeString(unknown, "<a/>");
        e = assertThrows(IllegalArgumentException.class, () -> read(unknown, "auto"));
        assertTrue(e.getMessage().contains("x.xml"), e.getMessage());

        Path broken = tmp.resolve("broken.jsonl");
        Files.writeString(broken, "{\"text\": \"a\"}\n{not json\n");
        e = assertThrows(IllegalArgumentException.class, () -> read(broken, "auto").count());
        assertTrue(e.getMessage().contains("broken.jsonl"), e.getMessage());

        Path unreadable = tmp.resolve("secret.jsonl");
        Files.writeString(unreadable, "{\"text\":\"a\"}\n");
        unreadable.toFile().setReadable(false);
        if (!Files.isReadable(unreadable)) { // root can read anything
            e = assertThrows(IllegalArgumentException.class, () -> read(unreadable, "auto"));
            assertTrue(e.getMessage().contains("cannot read"), e.getMessage());
        }

        Path ok = tmp.resolve("ok.jsonl");
        Files.writeString(ok, "{\"text\":\"a\",\"n\":1}\n");
        Dataset<Row> df = read(ok, "auto");
        e =
                assertThrows(
                        IllegalArgumentException.class,
                        () -> Inputs.requireStringColumn(df, "body", "text-col"));
        assertEquals(
                "--text-col: the input has no column 'body' (columns: [n, text]); set --text-col"
                        + " to one of them.",
                e.getMessage());
        e =
                assertThrows(
                        IllegalArgumentException.class,
                        () -> Inputs.requireStringColumn(df, "n", "text-col"));
        assertTrue(e.getMessage().contains("must hold strings but is bigint"), e.getMessage());
    }

    /**
     * What counts as an input without records (read refuses it, readIfAny gives empty), and what
     * does not: blank lines of a .txt file are rows, and {} lines are records without a field.
     */
    @Test
    void inputsWithoutRecords() throws IOException {
        Path zero = Files.writeString(tmp.resolve("zero.jsonl"), "");
        Path blankLines = Files.writeString(tmp.resolve("blank.jsonl"), "\n   \n\n");
        Path header = Files.writeString(tmp.resolve("header.csv"), "id,text\n");
        Path zeroCsv = Files.writeString(tmp.resolve("zero.csv"), "");
        Path emptyArray = Files.writeString(tmp.resolve("array.json"), "[]\n");
        for (Path p : List.of(zero, blankLines, header, zeroCsv, emptyArray)) {
            assertTrue(
                    Inputs.readIfAny(spark, p.toString(), Inputs.Format.AUTO, null).isEmpty(),
                    p.toString());
            IllegalArgumentException e =
                    assertThrows(IllegalArgumentException.class, () -> read(p, "auto"));
            assertEquals(
                    "--input: '" + p + "' holds no rows; give a non-empty input.", e.getMessage());
        }
        Path txt = Files.writeString(tmp.resolve("blank.txt"), "\n\n");
        assertEquals(List.of("", ""), texts(read(txt, "auto")), "a .txt line is a row");

        Path braces = Files.writeString(tmp.resolve("braces.jsonl"), "{}\n{}\n");
        IllegalArgumentException e =
                assertThrows(
                        IllegalArgumentException.class,
                        () -> Inputs.readIfAny(spark, braces.toString(), Inputs.Format.AUTO, null));
        assertEquals(
                "--input: '"
                        + braces
                        + "' holds 2 jsonl records without any field; give records with a text"
                        + " field.",
                e.getMessage());
    }

    @Test
    void smallJsonLinesInputsAreSplitAcrossCoresInFileOrder() throws IOException {
        StringBuilder lines = new StringBuilder();
        int n = 3000;
        for (int i = 0; i < n; i++) {
            lines.append("{\"id\":")
                    .append(i)
                    .append(",\"text\":\"a sentence of about one hundred bytes to score, number ")
                    .append(i)
                    .append("\"}\n");
        }
        Path file = tmp.resolve("small.jsonl");
        Files.writeString(file, lines.toString());
        try {
            spark.conf().unset(JobRunner.OPEN_COST);
            // Spark's default: an input under 4 MB is one partition, so one core works.
            assertEquals(
                    1,
                    Inputs.read(spark, file.toString(), Inputs.Format.JSONL, null)
                            .rdd()
                            .getNumPartitions());
            JobRunner.splitSmallInputs(spark);
            Dataset<Row> df = Inputs.read(spark, file.toString(), Inputs.Format.JSONL, null);
            int parts = spark.sparkContext().defaultParallelism();
            assertEquals(parts, df.rdd().getNumPartitions());
            // Equal shares of the rows (equal-length rows): no task gets a tail of extra work.
            for (Row r : df.groupBy(spark_partition_id()).count().collectAsList()) {
                assertEquals(n / (double) parts, r.getLong(1), n * 0.01, "rows of a partition");
            }
            List<Row> rows = df.select("id").collectAsList();
            assertEquals(n, rows.size());
            for (int i = 0; i < n; i++) {
                assertEquals(i, rows.get(i).getLong(0), "file order kept");
            }
            // A value the user chose is kept.
            spark.conf().set(JobRunner.OPEN_COST, "4194304");
            JobRunner.splitSmallInputs(spark);
            assertEquals("4194304", spark.conf().get(JobRunner.OPEN_COST));
        } finally {
            spark.conf().unset(JobRunner.OPEN_COST);
        }
    }
}
