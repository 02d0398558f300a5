package io.sparkbert.classification;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.sparkbert.bert.ProblemType;
import io.sparkbert.testing.Fixtures;
import io.sparkbert.testing.HfSemantics;
import io.sparkbert.testing.SparkTestSession;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.spark.ml.evaluation.RegressionEvaluator;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Multi-label and regression heads on Spark local[2] with the tiny fixture checkpoint: small
 * learnable data sets built here, the outputs, save/load and HF config round trips, bad labels.
 */
class ProblemTypesTest {
    static SparkSession spark;
    @TempDir static Path tmp;

    // Colour words -> labels; texts without a colour have none.
    static final String[] COLOUR_TEXTS = {
        "the red car", "a blue house", "green grass", "red and blue flags",
        "blue and green sea", "red and green lights", "red blue green stripes", "a plain wall",
        "red roses", "blue jeans", "green tea", "an empty room"
    };
    static final String[][] COLOURS = {
        {"red"}, {"blue"}, {"green"}, {"red", "blue"},
        {"blue", "green"}, {"red", "green"}, {"red", "blue", "green"}, {},
        {"red"}, {"blue"}, {"green"}, {}
    };

    // A number word -> its value.
    static final String[] NUMBER_TEXTS = {
        "one apple", "two apples", "three apples", "five apples", "ten apples",
        "one dog", "two dogs", "three dogs", "five dogs", "ten dogs"
    };
    static final double[] NUMBERS = {1, 2, 3, 5, 10, 1, 2, 3, 5, 10};

    @BeforeAll
    static void setUp() {
        spark = SparkTestSession.get();
    }

    static Dataset<Row> colours(String[] texts, String[][] labels) {
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < texts.length; i++) {
            rows.add(
                    RowFactory.create(
                            texts[i], labels[i] == null ? null : Arrays.asList(labels[i])));
        }
        StructType schema =
                new StructType()
                        .add("text", DataTypes.StringType)
                        .add("label", DataTypes.createArrayType(DataTypes.StringType), true);
        return spark.createDataFrame(rows, schema).repartition(2);
    }

    static Dataset<Row> numbers(String[] texts, double[] values) {
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < texts.length; i++) {
            rows.add(RowFactory.create(texts[i], values[i]));
        }
        StructType schema =
                new StructType()
                        .add("text", DataTypes.StringType)
                        .add("label", DataTypes.DoubleType, true);
        return spark.createDataFrame(rows, schema).repartition(2);
    }

    static BertClassifier tiny() {
        return new BertClassifier()
                .setModel(Fixtures.tinyBert().toString())
                .setBatchSize(4)
                .setLearningRate(3e-3)
                .setLogEverySteps(0)
                .setDevice("cpu");
    }

    /** Rows by text, in the order of {@code texts}. */
    static List<Row> byText(Dataset<Row> out, String[] texts) {
        List<Row> rows = out.collectAsList();
        List<Row> ordered = new ArrayList<>();
        for (String t : texts) {
            ordered.add(rows.stream().filter(r -> r.getString(0).equals(t)).findFirst().get());
        }
        return ordered;
    }

    @Test
    void multiLabelLearnsColoursAndRoundTrips() throws IOException {
        Dataset<Row> data = colours(COLOUR_TEXTS, COLOURS);
        // auto + an array column = multi-label; the fixture's own 2-class head is not the right
        // shape for 3 colours, so start from its encoder with problemType set.
        BertClassificationModel model = tiny().setEpochs(15).setModel(headless()).fit(data);
        assertEquals(ProblemType.MULTI_LABEL, model.problemType());
        assertEquals(List.of("blue", "green", "red"), model.labels());
        Dataset<Row> out = model.transform(data);
        assertEquals("array<double>", out.schema().apply("prediction").dataType().simpleString());
        List<Row> rows = byText(out, COLOUR_TEXTS);
        int exact = 0;
        for (int i = 0; i < rows.size(); i++) {
            Row r = rows.get(i);
            Vector p = r.getAs("probability");
            Vector raw = r.getAs("rawPrediction");
            List<Double> pred = r.getList(r.fieldIndex("prediction"));
            List<Double> want = new ArrayList<>();
            for (int c = 0; c < 3; c++) {
                // probability = sigmoid(logit); prediction = classes over 0.5.
                assertEquals(1 / (1 + Math.exp(-raw.apply(c))), p.apply(c), 1e-12);
                if (p.apply(c) > 0.5) {
                    want.add((double) c);
                }
            }
            assertEquals(want, pred);
            List<Double> truth = new ArrayList<>();
            for (String name : COLOURS[i]) {
                truth.add((double) model.labels().indexOf(name));
            }
            truth.sort(null);
            exact += truth.equals(pred) ? 1 : 0;
        }
        assertTrue(exact >= 10, "subset accuracy on the training rows: " + exact + "/12");

        // Per-class thresholds override the default 0.5: a threshold of 1 never predicts.
        Row first =
                byText(model.setThresholds(new double[] {1, 1, 0}).transform(data), COLOUR_TEXTS)
                        .get(0);
        assertEquals(List.of(2.0), first.getList(first.fieldIndex("prediction")));
        model.clear(model.thresholds());

        // save -> load -> identical outputs; config.json says multi-label with the names.
        Path saved = tmp.resolve("multi");
        model.write().save(saved.toString());
        BertClassificationModel loaded = BertClassificationModel.load(saved.toString());
        assertEquals(ProblemType.MULTI_LABEL, loaded.problemType());
        assertEquals(rows, byText(loaded.transform(data), COLOUR_TEXTS));
        JsonObject cfg =
                JsonParser.parseString(Files.readString(saved.resolve("hf/config.json")))
                        .getAsJsonObject();
        assertEquals("multi_label_classification", cfg.get("problem_type").getAsString());
        assertEquals("green", cfg.getAsJsonObject("id2label").get("1").getAsString());
        assertEquals(2, cfg.getAsJsonObject("label2id").get("red").getAsInt());
        // HF reads the folder as a multi-label head whose logits are our rawPrediction.
        HfSemantics reader = HfSemantics.read(saved.resolve("hf"));
        assertEquals("multi_label_classification", reader.problemType());
        assertEquals("red", reader.label(2));
        double[][] hfLogits = hfLogits(saved.resolve("hf"), COLOUR_TEXTS);
        double[][] ours = new double[rows.size()][];
        for (int i = 0; i < ours.length; i++) {
            ours[i] = ((Vector) rows.get(i).getAs("rawPrediction")).toArray();
        }
        HfExportTest.assertClose(hfLogits, ours, HfExportTest.TOL);
        // The HF folder alone scores the same way.
        BertClassificationModel hf =
                BertClassificationModel.fromCheckpoint(saved.resolve("hf").toString());
        assertEquals(ProblemType.MULTI_LABEL, hf.problemType());
        assertEquals(rows, byText(hf.transform(data), COLOUR_TEXTS));

        // Fine-tuning from it keeps its classes; a name it does not know is an error.
        String[][] purple = COLOURS.clone();
        purple[4] = new String[] {"blue", "purple"};
        IllegalArgumentException e =
                assertThrows(
                        IllegalArgumentException.class,
                        () ->
                                tiny().setEpochs(1)
                                        .setModel(saved.resolve("hf").toString())
                                        .fit(colours(COLOUR_TEXTS, purple)));
        assertTrue(
                e.getMessage().contains("label column 'label'")
                        && e.getMessage().contains("unknown class name 'purple'")
                        && e.getMessage().contains("[blue, green, red]"),
                e.getMessage());
    }

    @Test
    void regressionLearnsNumberWordsAndRoundTrips() throws IOException {
        Dataset<Row> data = numbers(NUMBER_TEXTS, NUMBERS);
        BertClassificationModel model =
                tiny().setEpochs(20).setModel(headless()).setProblemType("regression").fit(data);
        assertEquals(ProblemType.REGRESSION, model.problemType());
        assertEquals(1, model.numClasses());
        Dataset<Row> out = model.transform(data);
        // MLlib regressors add a prediction column only.
        assertEquals(List.of("text", "label", "prediction"), Arrays.asList(out.columns()));
        double r2 = new RegressionEvaluator().setMetricName("r2").evaluate(out);
        assertTrue(r2 > 0.8, "R2 on the training rows " + r2);

        Path saved = tmp.resolve("regression");
        model.write().save(saved.toString());
        List<Row> rows = byText(out, NUMBER_TEXTS);
        assertEquals(
                rows,
                byText(
                        BertClassificationModel.load(saved.toString()).transform(data),
                        NUMBER_TEXTS));
        JsonObject cfg =
                JsonParser.parseString(Files.readString(saved.resolve("hf/config.json")))
                        .getAsJsonObject();
        assertEquals("regression", cfg.get("problem_type").getAsString());
        assertEquals(1, cfg.getAsJsonObject("id2label").size());
        assertEquals("regression", HfSemantics.read(saved.resolve("hf")).problemType());
        double[][] hfValues = hfLogits(saved.resolve("hf"), NUMBER_TEXTS);
        double[][] ours = new double[rows.size()][];
        for (int i = 0; i < ours.length; i++) {
            ours[i] = new double[] {rows.get(i).getDouble(2)};
        }
        HfExportTest.assertClose(hfValues, ours, HfExportTest.TOL);

        // auto on a numeric column from a regression checkpoint stays a regression.
        BertClassificationModel again =
                tiny().setEpochs(1).setModel(saved.resolve("hf").toString()).fit(data);
        assertEquals(ProblemType.REGRESSION, again.problemType());
    }

    @Test
    void transformSchemaUnderAutoFollowsTheCheckpointsHead() throws IOException {
        Dataset<Row> data = numbers(NUMBER_TEXTS, NUMBERS);
        // A new head on a numeric column is single-label: prediction, probability, rawPrediction.
        assertEquals(
                List.of("text", "label", "prediction", "probability", "rawPrediction"),
                Arrays.asList(
                        tiny().setModel(headless()).transformSchema(data.schema()).fieldNames()));

        // A checkpoint whose config.json declares regression: fit trains a regression under auto,
        // and transformSchema says so before any fit.
        Path saved = tmp.resolve("regression-start");
        tiny().setEpochs(1)
                .setModel(headless())
                .setProblemType("regression")
                .fit(data)
                .write()
                .save(saved.toString());
        BertClassifier auto = tiny().setEpochs(1).setModel(saved.resolve("hf").toString());
        StructType predicted = auto.transformSchema(data.schema());
        BertClassificationModel fitted = auto.fit(data);
        assertEquals(ProblemType.REGRESSION, fitted.problemType());
        assertEquals(fitted.transform(data).schema(), predicted);
    }

    @Test
    void badLabelsNameTheColumnTheValueAndTheFix() throws IOException {
        String headless = headless();
        double[] nan = NUMBERS.clone();
        nan[3] = Double.NaN;
        assertFit(
                tiny().setModel(headless).setProblemType("regression"),
                numbers(NUMBER_TEXTS, nan),
                "label column 'label'",
                "the value NaN at row",
                "finite numbers");
        Dataset<Row> strings =
                numbers(NUMBER_TEXTS, NUMBERS).selectExpr("text", "cast(label as string) label");
        assertFit(
                tiny().setModel(headless).setProblemType("regression"),
                strings,
                "label column 'label'",
                "must be numeric for problemType regression but is string",
                "cast it to double");
        String[][] nullRow = COLOURS.clone();
        nullRow[2] = null;
        assertFit(
                tiny().setModel(headless),
                colours(COLOUR_TEXTS, nullRow),
                "label column 'label'",
                "is null at row",
                "empty array for none");
        assertFit(
                tiny().setModel(headless).setProblemType("multi_label"),
                numbers(NUMBER_TEXTS, NUMBERS),
                "must be an array of class names",
                "but is double");
        // Empty arrays are rows without a class: fine, as in the colour data. Only empty ones
        // leave nothing to learn.
        String[][] none = new String[COLOUR_TEXTS.length][0];
        assertFit(
                tiny().setModel(headless), colours(COLOUR_TEXTS, none), "holds only empty arrays");
    }

    /** HF's BertForSequenceClassification logits of {@code texts} from the folder {@code hf}. */
    static double[][] hfLogits(Path hf, String[] texts) throws IOException {
        long[][][] in = HfExportTest.encode(hf, texts);
        return HfSemantics.read(hf).sequenceClassificationLogits(in[0], in[1], in[2]);
    }

    static void assertFit(BertClassifier clf, Dataset<Row> df, String... fragments) {
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> clf.setEpochs(1).fit(df));
        for (String f : fragments) {
            assertTrue(e.getMessage().contains(f), e.getMessage() + " lacks: " + f);
        }
    }

    static String headless() throws IOException {
        return BertClassifierTest.headless(tmp).toString();
    }

    @Test
    void multiLabelIndicesAndTheTransformSchema() {
        assertArrayEquals(
                new double[] {0, 2},
                ProblemOutputs.predictLabels(new double[] {0.9, 0.5, 0.51}, null, 0.5));
        assertArrayEquals(
                new double[] {1},
                ProblemOutputs.predictLabels(
                        new double[] {0.9, 0.5, 0.51}, new double[] {0.95, 0.4, 0.6}, 0.5));
        StructType schema =
                new BertClassifier().transformSchema(colours(COLOUR_TEXTS, COLOURS).schema());
        assertEquals("array<double>", schema.apply("prediction").dataType().simpleString());
        StructType reg =
                new BertClassifier()
                        .setProblemType("regression")
                        .transformSchema(numbers(NUMBER_TEXTS, NUMBERS).schema());
        assertEquals(List.of("text", "label", "prediction"), Arrays.asList(reg.fieldNames()));
    }
}
