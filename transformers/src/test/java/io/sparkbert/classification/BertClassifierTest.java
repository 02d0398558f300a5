package io.sparkbert.classification;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import io.sparkbert.bert.BertModel;
import io.sparkbert.bert.ClassifierHead;
import io.sparkbert.bert.HfTokenizer;
import io.sparkbert.bert.TokenizerOptions;
import io.sparkbert.inference.ModelCache;
import io.sparkbert.testing.BertArrays;
import io.sparkbert.testing.Fixtures;
import io.sparkbert.testing.SparkTestSession;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.spark.ml.Pipeline;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.PipelineStage;
import org.apache.spark.ml.attribute.NominalAttribute;
import org.apache.spark.ml.evaluation.BinaryClassificationEvaluator;
import org.apache.spark.ml.evaluation.MulticlassClassificationEvaluator;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.tuning.CrossValidator;
import org.apache.spark.ml.tuning.CrossValidatorModel;
import org.apache.spark.ml.tuning.ParamGridBuilder;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** BertClassifier / BertClassificationModel on Spark local[2] with the tiny random BERT. */
class BertClassifierTest {
    static final String[] TEXTS = {
        "This movie is fantastic!",
        "Terrible film, waste of time.",
        "Amazing plot and great acting.",
        "Boring and predictable.",
        "I loved every minute of it.",
        "The worst thing I have seen this year.",
        "A delightful surprise.",
        "Dull, slow and far too long."
    };
    static final double[] LABELS = {1, 0, 1, 0, 1, 0, 1, 0};
    static final StructType SCHEMA =
            new StructType()
                    .add("text", DataTypes.StringType, true)
                    .add("label", DataTypes.DoubleType, true);

    static SparkSession spark;
    static Dataset<Row> data;

    @TempDir static Path tmp;

    @BeforeAll
    static void setUp() {
        spark = SparkTestSession.get();
        data = frame(TEXTS, LABELS);
    }

    static Dataset<Row> frame(String[] texts, double[] labels) {
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < texts.length; i++) {
            rows.add(RowFactory.create(texts[i], labels[i]));
        }
        return spark.createDataFrame(rows, SCHEMA).repartition(2);
    }

    static BertClassifier tiny() {
        return new BertClassifier()
                .setModel(Fixtures.tinyBert().toString())
                .setEpochs(2)
                .setBatchSize(4)
                .setLearningRate(1e-3)
                .setLogEverySteps(0)
                .setDevice("cpu");
    }

    /** tinybert's encoder and pooler without a classification head, in a temp dir. */
    static Path headless() throws IOException {
        return headless(tmp);
    }

    /** Like {@link #headless()}, in {@code tmp}. */
    static Path headless(Path tmp) throws IOException {
        return Fixtures.headlessTinyBert(tmp.resolve("headless"));
    }

    static List<Row> sorted(Dataset<Row> out) {
        return out.orderBy("text").collectAsList();
    }

    @Test
    void fitTransformAndEvaluate() throws IOException {
        BertClassificationModel model = tiny().fit(data);
        assertEquals(2, model.numClasses());
        assertEquals("pooler", model.pooling());
        assertEquals(4, model.summary().steps().size());
        assertEquals(2, model.summary().epochs().size());

        int loadsBefore = ModelCache.loadCount();
        Dataset<Row> out = model.transform(data);
        out.count();
        model.transform(data).count();
        // One load per JVM for this model, however many tasks and transforms.
        assertEquals(loadsBefore + 1, ModelCache.loadCount());
        assertEquals(
                Arrays.asList("text", "label", "prediction", "probability", "rawPrediction"),
                Arrays.asList(out.columns()));
        List<Row> rows = sorted(out);
        assertEquals(8, rows.size());

        // The logits equal what the engine computes from the saved HF folder.
        Path saved = tmp.resolve("fit-transform");
        model.write().save(saved.toString());
        List<String> texts = new ArrayList<>();
        rows.forEach(r -> texts.add(r.getString(0)));
        float[][] expected;
        try (BertModel hf = BertModel.load(saved.resolve("hf"), Device.cpu());
                HfTokenizer tok =
                        HfTokenizer.fromDirectory(
                                saved.resolve("hf"),
                                TokenizerOptions.defaults().withMaxLength(128))) {
            expected =
                    BertArrays.logits(
                            ClassifierHead.POOLER, hf, Arrays.asList(tok.encodeBatch(texts)));
        }
        long correct = 0;
        for (int i = 0; i < rows.size(); i++) {
            Row r = rows.get(i);
            double[] raw = ((Vector) r.getAs("rawPrediction")).toArray();
            double[] prob = ((Vector) r.getAs("probability")).toArray();
            for (int j = 0; j < 2; j++) {
                assertEquals(expected[i][j], raw[j], 1e-5, "logit " + i + "," + j);
            }
            assertEquals(1.0, prob[0] + prob[1], 1e-9);
            assertEquals(Math.exp(raw[1]) / (Math.exp(raw[0]) + Math.exp(raw[1])), prob[1], 1e-6);
            double pred = r.getAs("prediction");
            assertEquals(raw[1] > raw[0] ? 1.0 : 0.0, pred);
            if (pred == (double) r.getAs("label")) {
                correct++;
            }
        }
        double accuracy =
                new MulticlassClassificationEvaluator().setMetricName("accuracy").evaluate(out);
        assertEquals(correct / 8.0, accuracy, 1e-12);
        double auc = new BinaryClassificationEvaluator().evaluate(out);
        assertTrue(auc >= 0 && auc <= 1, "AUC " + auc);

        // Thresholds follow MLlib: a 0 threshold makes its class win.
        List<Row> forced =
                model.copy(new ParamMap())
                        .setThresholds(new double[] {1, 0})
                        .transform(data)
                        .select("prediction")
                        .collectAsList();
        forced.forEach(r -> assertEquals(1.0, r.getDouble(0)));
    }

    @Test
    void saveLoadRoundTripGivesIdenticalPredictions() throws IOException {
        BertClassificationModel model = tiny().setEpochs(1).fit(data);
        assertEquals(8192, model.getWindowSize());
        // Windows of 3 rows sort and batch differently, and give the same scores per row.
        List<Row> wide = sorted(model.transform(data));
        model.setWindowSize(3);
        List<Row> narrow = sorted(model.transform(data));
        assertEquals(wide.size(), narrow.size());
        for (int i = 0; i < wide.size(); i++) {
            assertEquals(wide.get(i).getString(0), narrow.get(i).getString(0));
            assertArrayEquals(
                    ((Vector) wide.get(i).getAs("rawPrediction")).toArray(),
                    ((Vector) narrow.get(i).getAs("rawPrediction")).toArray(),
                    1e-5);
        }
        String path = tmp.resolve("round-trip").toString();
        model.write().save(path);
        assertThrows(IOException.class, () -> model.write().save(path));
        BertClassificationModel loaded = BertClassificationModel.load(path);
        assertEquals(model.uid(), loaded.uid());
        assertEquals(model.getBatchSize(), loaded.getBatchSize());
        assertEquals(3, loaded.getWindowSize());
        assertArrayEquals(model.summary().lossPerStep(), loaded.summary().lossPerStep());
        List<Row> a = sorted(model.transform(data));
        List<Row> b = sorted(loaded.transform(data));
        for (int i = 0; i < a.size(); i++) {
            assertArrayEquals(
                    ((Vector) a.get(i).getAs("rawPrediction")).toArray(),
                    ((Vector) b.get(i).getAs("rawPrediction")).toArray());
        }
        String config = Files.readString(Path.of(path, "hf", "config.json"));
        assertTrue(config.contains("\"sparkbert\""), config);
        assertTrue(config.contains("\"id2label\""), config);

        // A layout version this code does not know is refused.
        Path info = Path.of(path, "sparkbert.json");
        Files.writeString(
                info,
                Files.readString(info).replace("\"formatVersion\":2", "\"formatVersion\":99"),
                StandardCharsets.UTF_8);
        // Hadoop's local file system keeps a checksum beside each file; drop the stale one.
        Files.deleteIfExists(Path.of(path, ".sparkbert.json.crc"));
        IllegalArgumentException e =
                assertThrows(
                        IllegalArgumentException.class, () -> BertClassificationModel.load(path));
        assertTrue(e.getMessage().contains("format version 99"), e.getMessage());
    }

    @Test
    void sameSeedGivesIdenticalWeights() {
        BertClassificationModel a = tiny().setEpochs(1).setSeed(5).fit(data);
        BertClassificationModel b = tiny().setEpochs(1).setSeed(5).fit(data);
        assertArrayEquals(a.payload().weights, b.payload().weights);
        assertArrayEquals(a.summary().lossPerStep(), b.summary().lossPerStep());
        BertClassificationModel c = tiny().setEpochs(1).setSeed(6).fit(data);
        assertFalse(Arrays.equals(a.payload().weights, c.payload().weights));
    }

    @Test
    void shuffleFalseKeepsTheInputOrderWhateverTheSeed() {
        // tinybert has dropout 0 and its own head, so with a fixed batch order the seed no longer
        // matters; with shuffling it does (sameSeedGivesIdenticalWeights).
        BertClassifier clf = tiny().setEpochs(2).setShuffle(false);
        assertEquals(false, clf.getOrDefault(clf.shuffle()));
        BertClassificationModel a = clf.copy(new ParamMap()).setSeed(5).fit(data);
        BertClassificationModel b = clf.copy(new ParamMap()).setSeed(6).fit(data);
        assertArrayEquals(a.payload().weights, b.payload().weights);
        assertArrayEquals(a.summary().lossPerStep(), b.summary().lossPerStep());
        BertClassificationModel shuffled = tiny().setEpochs(2).setSeed(6).fit(data);
        assertFalse(Arrays.equals(a.summary().lossPerStep(), shuffled.summary().lossPerStep()));
        BertClassifier defaults = tiny();
        assertEquals(true, defaults.getOrDefault(defaults.shuffle()));
    }

    @Test
    void overflowWindowAveragesOverWindowsOfLongTexts() {
        BertClassificationModel m = tiny().setEpochs(1).fit(data);
        assertEquals("truncate", m.getOverflow());
        String longText =
                String.join(" ", java.util.Collections.nCopies(12, "the movie was great but long"));
        Dataset<Row> one = frame(new String[] {longText}, new double[] {1});
        double[] truncated =
                ((Vector) m.setMaxLength(16).transform(one).first().getAs("probability")).toArray();
        double[] windowed =
                ((Vector)
                                m.setMaxLength(16)
                                        .setOverflow("window")
                                        .setStride(4)
                                        .transform(one)
                                        .first()
                                        .getAs("probability"))
                        .toArray();
        assertEquals(1.0, windowed[0] + windowed[1], 1e-9);
        assertTrue(
                Math.abs(truncated[0] - windowed[0]) > 1e-7,
                "a 72-word text in windows of 16 tokens must see more than the first window");
    }

    @Test
    void pipelineWithCrossValidatorOverLearningRates() throws IOException {
        BertClassifier clf = tiny().setEpochs(1);
        Pipeline pipeline = new Pipeline().setStages(new PipelineStage[] {clf});
        ParamMap[] grid =
                new ParamGridBuilder()
                        .addGrid(clf.learningRate(), new double[] {1e-3, 1e-4})
                        .build();
        CrossValidator cv =
                new CrossValidator()
                        .setEstimator(pipeline)
                        .setEstimatorParamMaps(grid)
                        .setEvaluator(new MulticlassClassificationEvaluator())
                        .setNumFolds(2)
                        .setSeed(1);
        CrossValidatorModel cvModel = cv.fit(data);
        assertEquals(2, cvModel.avgMetrics().length);
        for (double m : cvModel.avgMetrics()) {
            assertTrue(m >= 0 && m <= 1, "metric " + m);
        }
        PipelineModel best = (PipelineModel) cvModel.bestModel();
        String path = tmp.resolve("pipeline").toString();
        best.write().save(path);
        PipelineModel loaded = PipelineModel.load(path);
        List<Row> a = sorted(best.transform(data));
        List<Row> b = sorted(loaded.transform(data));
        for (int i = 0; i < a.size(); i++) {
            assertArrayEquals(
                    ((Vector) a.get(i).getAs("rawPrediction")).toArray(),
                    ((Vector) b.get(i).getAs("rawPrediction")).toArray());
        }
        // The unfitted estimator saves and loads too.
        String estPath = tmp.resolve("estimator").toString();
        clf.write().save(estPath);
        BertClassifier back = BertClassifier.load(estPath);
        assertEquals(clf.getModel(), back.getModel());
    }

    @Test
    void headlessCheckpointTakesClassCountFromMetadataOrMaxLabel() throws IOException {
        String dir = headless().toString();
        // max label + 1 = 3 classes; mean pooling by choice.
        double[] three = {0, 1, 2, 0, 1, 2, 0, 1};
        BertClassificationModel m =
                tiny().setModel(dir).setPooling("mean").setEpochs(1).fit(frame(TEXTS, three));
        assertEquals(3, m.numClasses());
        assertEquals("mean", m.pooling());
        Row r = m.transform(data).first();
        assertEquals(3, ((Vector) r.getAs("probability")).size());
        // Metadata declares 4 classes although only 0..1 occur.
        Dataset<Row> withMeta =
                data.withColumn(
                        "label",
                        data.col("label")
                                .as(
                                        "label",
                                        NominalAttribute.defaultAttr()
                                                .withName("label")
                                                .withNumValues(4)
                                                .toMetadata()));
        BertClassificationModel m4 = tiny().setModel(dir).setEpochs(1).fit(withMeta);
        assertEquals(4, m4.numClasses());
        assertEquals("pooler", m4.pooling());
    }

    /**
     * LP-FT's probe fits a new head (on by default) and never a checkpoint's own trained head; its
     * result is in the summary, also after save and load.
     */
    @Test
    void theLinearProbeFitsANewHeadOnly() throws IOException {
        String dir = headless().toString();
        BertClassificationModel fresh =
                tiny().setModel(dir).setPooling("mean").setEpochs(1).fit(data);
        assertNotNull(fresh.summary().linearProbe());
        assertEquals(TEXTS.length, fresh.summary().linearProbe().examples());
        assertEquals(1e-3, fresh.summary().linearProbe().l2());
        String path = tmp.resolve("probed").toString();
        fresh.write().save(path);
        assertEquals(
                fresh.summary().linearProbe(),
                BertClassificationModel.load(path).summary().linearProbe());
        BertClassifier off = tiny().setModel(dir).setPooling("mean").setEpochs(1);
        assertNull(off.setLinearProbe(false).fit(data).summary().linearProbe());
        // tinybert has a trained head: fine-tuned as it is, whatever the param says.
        BertClassificationModel own = tiny().setEpochs(1).setLinearProbe(true).fit(data);
        assertNull(own.summary().linearProbe());
        assertTrue(own.summary().config().contains("linearProbe=false"), own.summary().config());
        assertThrows(IllegalArgumentException.class, () -> tiny().setLinearProbeL2(0));
    }

    /** The label column with NominalAttribute class names, as StringIndexer leaves it. */
    static Dataset<Row> named(Dataset<Row> df, String... names) {
        return df.withColumn(
                "label",
                df.col("label")
                        .as(
                                "label",
                                NominalAttribute.defaultAttr()
                                        .withName("label")
                                        .withValues(names)
                                        .toMetadata()));
    }

    /**
     * The checkpoint's own head is fine-tuned under the class names of the label column: they are
     * what the saved config.json says, not the checkpoint's LABEL_0/LABEL_1.
     */
    @Test
    void aCheckpointHeadTakesTheClassNamesOfTheLabelColumn() throws IOException {
        BertClassificationModel m = tiny().setEpochs(1).fit(named(data, "neg", "pos"));
        assertEquals(List.of("neg", "pos"), m.labels());
        String path = tmp.resolve("named-head").toString();
        m.write().save(path);
        try (BertModel saved = BertModel.load(Path.of(path, "hf"), Device.cpu())) {
            assertEquals(List.of("neg", "pos"), saved.config().labels());
        }
        assertEquals(List.of("neg", "pos"), BertClassificationModel.load(path).labels());
        // without names the checkpoint's own are kept
        assertEquals(List.of("LABEL_0", "LABEL_1"), tiny().setEpochs(1).fit(data).labels());
        // fewer names than the head has classes: the checkpoint names the rest
        double[] zeros = new double[TEXTS.length];
        assertEquals(
                List.of("only", "LABEL_1"),
                tiny().setEpochs(1).fit(named(frame(TEXTS, zeros), "only")).labels());
        assertFitError(
                tiny(),
                named(data, "a", "b", "c"),
                "'label'",
                "names 3 classes [a, b, c]",
                "head has 2");
        assertFitError(tiny(), named(frame(TEXTS, zeros), "LABEL_1"), "'label'", "repeat a name");
    }

    static void assertFitError(BertClassifier clf, Dataset<Row> df, String... fragments) {
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> clf.fit(df));
        for (String f : fragments) {
            assertTrue(e.getMessage().contains(f), e.getMessage());
        }
    }

    @Test
    void badLabelsAreNamed() throws IOException {
        double[] y = LABELS.clone();
        y[2] = Double.NaN;
        assertFitError(tiny(), frame(TEXTS, y), "'label'", "labelCol", "NaN");
        y[2] = -1;
        assertFitError(tiny(), frame(TEXTS, y), "'label'", "-1.0");
        y[2] = 0.5;
        assertFitError(tiny(), frame(TEXTS, y), "'label'", "0.5");
        y[2] = 2;
        assertFitError(tiny(), frame(TEXTS, y), "'label'", "has label 2", "2 classes");
        List<Row> rows = new ArrayList<>();
        rows.add(RowFactory.create("a", null));
        rows.add(RowFactory.create("b", 1.0));
        assertFitError(tiny(), spark.createDataFrame(rows, SCHEMA), "'label'", "null");
        double[] single = new double[TEXTS.length];
        assertFitError(
                tiny().setModel(headless().toString()), frame(TEXTS, single), "single class");
        Dataset<Row> stringLabels = data.withColumn("label", data.col("label").cast("string"));
        assertFitError(tiny(), stringLabels, "must be numeric", "StringIndexer");
    }

    @Test
    void badDataIsNamed() {
        assertFitError(tiny(), data.limit(0), "empty");
        List<Row> rows = new ArrayList<>();
        rows.add(RowFactory.create("a", 0.0));
        rows.add(RowFactory.create(null, 1.0));
        assertFitError(tiny(), spark.createDataFrame(rows, SCHEMA), "'text'", "textCol", "null");
        assertFitError(
                tiny().setMaxTrainingRows(5), data, "maxTrainingRows = 5", "setMaxTrainingRows");
        assertFitError(tiny().setTextCol("nope"), data, "'nope'", "textCol");
        assertFitError(tiny().setEarlyStoppingPatience(1), data, "validationFraction");
        assertFitError(tiny().setClassWeights(new double[] {1, 2, 3}), data, "classWeights has 3");
        assertFitError(tiny().setThresholds(new double[] {0.5}), data, "thresholds has 1");
    }

    /** Blank texts are refused like null ones, counted, with the first row named. */
    @Test
    void blankTextsAreRefusedLikeNullOnes() {
        List<Row> single = new ArrayList<>();
        for (int i = 0; i < TEXTS.length; i++) {
            single.add(RowFactory.create(i == 2 ? "" : i == 5 ? "  \t" : TEXTS[i], LABELS[i]));
        }
        assertFitError(
                tiny(),
                spark.createDataFrame(single, SCHEMA),
                "text column 'text' (param textCol) has 2 null or blank (whitespace-only) values"
                        + " (the first at row 2)");
        StructType pairSchema =
                new StructType()
                        .add("text", DataTypes.StringType)
                        .add("second", DataTypes.StringType)
                        .add("label", DataTypes.DoubleType);
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < TEXTS.length; i++) {
            rows.add(RowFactory.create(TEXTS[i], i == 3 ? " " : TEXTS[i], LABELS[i]));
        }
        assertFitError(
                tiny().setTextPairCol("second"),
                spark.createDataFrame(rows, pairSchema),
                "text pair column 'second' (param textPairCol) has 1 null or blank"
                        + " (whitespace-only) value (the first at row 3)");
    }

    @Test
    void invalidTextsFollowHandleInvalid() {
        BertClassificationModel m = tiny().setEpochs(1).fit(data);
        String[] texts = {"A delightful surprise.", null, " \t\n", "Boring and predictable.", ""};
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < texts.length; i++) {
            rows.add(RowFactory.create(texts[i], (double) (i % 2)));
        }
        Dataset<Row> df = spark.createDataFrame(rows, SCHEMA).coalesce(1);

        Exception e = assertThrows(Exception.class, () -> m.transform(df).collectAsList());
        StringBuilder msg = new StringBuilder();
        for (Throwable c = e; c != null; c = c.getCause()) {
            msg.append(c.getMessage()).append(" | ");
        }
        assertTrue(msg.toString().contains("'text'"), msg.toString());
        assertTrue(msg.toString().contains("handleInvalid"), msg.toString());
        assertFalse(m.transformSchema(df.schema()).apply("prediction").nullable());

        Dataset<Row> keptDf = m.copy(new ParamMap()).setHandleInvalid("keep").transform(df);
        assertTrue(keptDf.schema().apply("probability").nullable());
        List<Row> kept = keptDf.collectAsList();
        assertEquals(texts.length, kept.size());
        for (int i = 0; i < texts.length; i++) {
            assertEquals(texts[i], kept.get(i).getString(0), "row " + i + " in its place");
            boolean valid = i == 0 || i == 3;
            for (String c : new String[] {"prediction", "probability", "rawPrediction"}) {
                assertEquals(valid, kept.get(i).getAs(c) != null, c + " of row " + i);
            }
        }
        // The kept rows score as the row alone does (up to batch padding: within 1e-6).
        Vector alone = m.transform(df.limit(1)).first().getAs("probability");
        assertArrayEquals(
                alone.toArray(), ((Vector) kept.get(0).getAs("probability")).toArray(), 1e-6);

        List<Row> skipped =
                m.copy(new ParamMap()).setHandleInvalid("skip").transform(df).collectAsList();
        assertEquals(2, skipped.size());
        assertEquals(texts[0], skipped.get(0).getString(0));
        assertEquals(texts[3], skipped.get(1).getString(0));
        assertArrayEquals(
                ((Vector) kept.get(3).getAs("rawPrediction")).toArray(),
                ((Vector) skipped.get(1).getAs("rawPrediction")).toArray(),
                1e-6);
        assertThrows(IllegalArgumentException.class, () -> m.setHandleInvalid("drop"));
    }

    @Test
    void columnNamesWithDotsAreTakenLiterally() {
        Dataset<Row> dotted =
                data.withColumnRenamed("text", "review.text").withColumnRenamed("label", "y.label");
        BertClassificationModel m =
                tiny().setEpochs(1).setTextCol("review.text").setLabelCol("y.label").fit(dotted);
        assertEquals(TEXTS.length, m.summary().trainExamples());
        assertEquals(TEXTS.length, m.transform(dotted).count());
    }

    @Test
    void validationAndEarlyStoppingReachTheSummary() {
        BertClassificationModel m =
                tiny().setEpochs(3)
                        .setValidationFraction(0.25)
                        .setEarlyStoppingPatience(1)
                        .fit(data);
        assertEquals(6, m.summary().trainExamples());
        assertEquals(2, m.summary().validationExamples());
        assertTrue(m.summary().epochs().get(0).valAccuracy() != null);
        assertTrue(m.summary().bestEpoch() >= 1);
    }
}
