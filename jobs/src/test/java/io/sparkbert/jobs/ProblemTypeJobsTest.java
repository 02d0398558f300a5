package io.sparkbert.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sparkbert.testing.Fixtures;
import io.sparkbert.testing.SparkTestSession;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * train --problem-type, score and evaluate for multi-label and regression models on the tiny
 * checkpoint's encoder: the outputs' shapes and the evaluate metrics against hand computations from
 * the score job's own outputs.
 */
class ProblemTypeJobsTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String[] COLOURS = {"red", "blue", "green"};
    private final SparkSession spark = SparkTestSession.get();
    private final BertBackend backend = new BertBackend();

    @TempDir Path tmp;

    /** The tiny checkpoint's config with fresh encoder weights and no head. */
    private Path headless() throws IOException {
        return Fixtures.headlessTinyBert(tmp.resolve("headless"));
    }

    /** 24 JSON lines: colour words in the text, the colours as the label array. */
    private static List<String> colourLines() {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < 24; i++) {
            List<String> names = new ArrayList<>();
            StringBuilder text = new StringBuilder("a");
            for (int c = 0; c < 3; c++) {
                if (((i + 1) >> c & 1) == 1 && i % 8 != 7) {
                    names.add("\"" + COLOURS[c] + "\"");
                    text.append(' ').append(COLOURS[c]);
                }
            }
            text.append(" thing number ").append(i);
            out.add(
                    String.format(
                            "{\"id\":%d,\"text\":\"%s\",\"labels\":[%s]}",
                            i, text, String.join(",", names)));
        }
        return out;
    }

    /** 20 JSON lines: a number word in the text, its value as the label. */
    private static List<String> numberLines() {
        String[] words = {"one", "two", "three", "five", "ten"};
        double[] values = {1, 2, 3, 5, 10};
        List<String> out = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            out.add(
                    String.format(
                            "{\"id\":%d,\"text\":\"%s apples in box %d\",\"value\":%s}",
                            i, words[i % 5], i, values[i % 5]));
        }
        return out;
    }

    private String[] train(Path input, Path output, String label, String... more)
            throws IOException {
        List<String> args =
                new ArrayList<>(
                        List.of(
                                "--input",
                                input.toString(),
                                "--output",
                                output.toString(),
                                "--model",
                                headless().toString(),
                                "--label-col",
                                label,
                                "--epochs",
                                "3",
                                "--batch-size",
                                "8",
                                "--learning-rate",
                                "3e-3",
                                "--max-length",
                                "32"));
        args.addAll(List.of(more));
        return args.toArray(new String[0]);
    }

    private List<Row> score(Path model, Path input, String format) {
        Path out = tmp.resolve("scores-" + format);
        ScoreJob job = new ScoreJob(backend);
        job.run(
                spark,
                job.parse(
                        "--model", model.toString(),
                        "--input", input.toString(),
                        "--output", out.toString(),
                        "--format", format));
        return format.equals("json")
                ? spark.read().json(out.toString()).orderBy("id").collectAsList()
                : spark.read().option("header", "true").csv(out.toString()).collectAsList();
    }

    private JsonNode evaluate(Path model, Path input, String label) throws IOException {
        Path out = tmp.resolve("eval");
        EvaluateJob job = new EvaluateJob(backend);
        job.run(
                spark,
                job.parse(
                        "--model", model.toString(),
                        "--input", input.toString(),
                        "--output", out.toString(),
                        "--label-col", label));
        assertTrue(
                Files.readString(out.resolve("report.html")).contains("subset_accuracy")
                        || Files.readString(out.resolve("report.html")).contains("rmse"));
        return JSON.readTree(out.resolve("metrics.json").toFile());
    }

    @Test
    void multiLabelTrainScoreEvaluate() throws IOException {
        Path input = JobFixtures.write(tmp.resolve("colours.jsonl"), colourLines());
        Path model = tmp.resolve("multi");
        TrainJob t = new TrainJob(backend);
        JobResult r = t.run(spark, t.parse(train(input, model, "labels")));
        assertTrue(r.note().startsWith("3 classes"), r.note());
        JsonNode cfg = JSON.readTree(model.resolve("hf/config.json").toFile());
        assertEquals("multi_label_classification", cfg.get("problem_type").asText());

        // Scores: prediction = indices over 0.5, predictedLabel = their names (sorted classes).
        List<String> classes = List.of("blue", "green", "red");
        Map<Long, List<String>> truth = new TreeMap<>();
        for (Row row : spark.read().json(input.toString()).collectAsList()) {
            truth.put(row.getLong(row.fieldIndex("id")), row.getList(row.fieldIndex("labels")));
        }
        List<Row> rows = score(model, input, "json");
        int exact = 0;
        int wrongEntries = 0;
        for (Row row : rows) {
            List<Double> p = row.getList(row.fieldIndex("probability"));
            List<Double> pred = row.getList(row.fieldIndex("prediction"));
            List<String> names = row.getList(row.fieldIndex("predictedLabel"));
            List<Double> want = new ArrayList<>();
            List<String> wantNames = new ArrayList<>();
            for (int c = 0; c < 3; c++) {
                if (p.get(c) > 0.5) {
                    want.add((double) c);
                    wantNames.add(classes.get(c));
                }
            }
            assertEquals(want, pred);
            assertEquals(wantNames, names);
            List<String> t0 = new ArrayList<>(truth.get(row.getLong(row.fieldIndex("id"))));
            t0.sort(null);
            exact += t0.equals(names) ? 1 : 0;
            for (String c : classes) {
                wrongEntries += t0.contains(c) != names.contains(c) ? 1 : 0;
            }
        }
        // CSV has no arrays: the array columns are JSON strings there.
        Row csv = score(model, input, "csv").get(0);
        assertTrue(csv.getString(csv.fieldIndex("probability")).startsWith("["));
        assertTrue(csv.getString(csv.fieldIndex("prediction")).startsWith("["));

        JsonNode m = evaluate(model, input, "labels");
        assertEquals("multi_label_classification", m.get("problem_type").asText());
        assertEquals(24, m.get("rows").asInt());
        assertEquals(exact / 24.0, m.get("subset_accuracy").asDouble(), 1e-12);
        assertEquals(wrongEntries / 72.0, m.get("hamming_loss").asDouble(), 1e-12);
        assertTrue(m.has("micro_f1") && m.has("macro_f1"), m.toString());

        // A name the model does not know is refused, naming it.
        IllegalArgumentException e =
                evaluateRefused(
                        model,
                        "{\"id\":1,\"text\":\"a purple thing\",\"labels\":[\"purple\"]}",
                        "labels");
        assertTrue(
                e.getMessage().contains("[purple]") && e.getMessage().contains("--label-col"),
                e.getMessage());
    }

    @Test
    void regressionTrainScoreEvaluate() throws IOException {
        Path input = JobFixtures.write(tmp.resolve("numbers.jsonl"), numberLines());
        Path model = tmp.resolve("regression");
        TrainJob t = new TrainJob(backend);
        JobResult r =
                t.run(spark, t.parse(train(input, model, "value", "--problem-type", "regression")));
        assertTrue(r.note().startsWith("1 output"), r.note());
        JsonNode cfg = JSON.readTree(model.resolve("hf/config.json").toFile());
        assertEquals("regression", cfg.get("problem_type").asText());

        List<Row> rows = score(model, input, "json");
        assertFalse(List.of(rows.get(0).schema().fieldNames()).contains("probability"));
        double[] values = {1, 2, 3, 5, 10};
        double se = 0;
        double ae = 0;
        for (Row row : rows) {
            double y = values[(int) (row.getLong(row.fieldIndex("id")) % 5)];
            double d = row.getDouble(row.fieldIndex("prediction")) - y;
            se += d * d;
            ae += Math.abs(d);
        }
        JsonNode m = evaluate(model, input, "value");
        assertEquals("regression", m.get("problem_type").asText());
        assertEquals(Math.sqrt(se / 20), m.get("rmse").asDouble(), 1e-9);
        assertEquals(ae / 20, m.get("mae").asDouble(), 1e-9);
        // variance of the labels: mean 4.2, so sum of squares = 4 * sum((v - 4.2)^2)
        double ssTot = 0;
        for (double v : values) {
            ssTot += 4 * (v - 4.2) * (v - 4.2);
        }
        assertEquals(1 - se / ssTot, m.get("r2").asDouble(), 1e-9);

        // --problem-type auto (the default) from a regression checkpoint stays a regression.
        Path again = tmp.resolve("regression-again");
        JobResult r2 =
                t.run(
                        spark,
                        t.parse(
                                "--input",
                                input.toString(),
                                "--output",
                                again.toString(),
                                "--model",
                                model.resolve("hf").toString(),
                                "--label-col",
                                "value",
                                "--epochs",
                                "1",
                                "--max-length",
                                "32"));
        assertTrue(r2.note().startsWith("1 output"), r2.note());
        assertEquals(
                "regression",
                JSON.readTree(again.resolve("hf/config.json").toFile())
                        .get("problem_type")
                        .asText());

        // A string label column is not a regression target.
        IllegalArgumentException e =
                evaluateRefused(
                        model, "{\"id\":1,\"text\":\"one apple\",\"value\":\"one\"}", "value");
        assertTrue(e.getMessage().contains("must be numeric"), e.getMessage());
    }

    /** The error of an evaluate run of {@code model} on the one JSON line {@code line}. */
    private IllegalArgumentException evaluateRefused(Path model, String line, String label)
            throws IOException {
        Path input = JobFixtures.write(tmp.resolve("bad.jsonl"), List.of(line));
        return JobFixtures.refused(
                spark,
                new EvaluateJob(backend),
                "--model",
                model.toString(),
                "--input",
                input.toString(),
                "--output",
                tmp.resolve("eval-bad").toString(),
                "--label-col",
                label);
    }
}
