package io.sparkbert.udfs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import io.sparkbert.bert.BertModel;
import io.sparkbert.bert.ClassifierHead;
import io.sparkbert.bert.HfTokenizer;
import io.sparkbert.bert.ProblemType;
import io.sparkbert.bert.TokenizerOptions;
import io.sparkbert.classification.BertClassificationModel;
import io.sparkbert.classification.BertClassifier;
import io.sparkbert.testing.BertArrays;
import io.sparkbert.testing.Fixtures;
import io.sparkbert.testing.SparkTestSession;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * bert_classify on multi-label and regression checkpoints (config.json problem_type): the struct of
 * each type, its values against the engine's logits.
 */
class ProblemTypeFunctionsTest {
    static final List<String> TEXTS =
            List.of("a red car", "blue and green", "nothing at all", "red blue green");

    @TempDir Path tmp;

    /** The tiny checkpoint with a fresh head of {@code k} outputs declared as {@code type}. */
    private Path checkpoint(ProblemType type, List<String> labels) throws IOException {
        Path dir = tmp.resolve(type.id());
        try (BertModel base = BertModel.load(Fixtures.tinyBert(), Device.cpu());
                BertModel fresh = base.withFreshClassifier(labels, 11);
                BertModel m =
                        BertModel.fromBytes(
                                fresh.config().with("problem_type", type.hfName()),
                                fresh.toSafetensorsBytes(),
                                Device.cpu())) {
            m.save(dir);
        }
        for (String f : List.of("vocab.txt", "tokenizer_config.json")) {
            Files.copy(Fixtures.tinyBert().resolve(f), dir.resolve(f));
        }
        return dir;
    }

    /** The engine's logits of TEXTS from {@code dir}. */
    private static float[][] logits(Path dir) {
        try (BertModel m = BertModel.load(dir, Device.cpu());
                HfTokenizer tok = HfTokenizer.fromDirectory(dir, TokenizerOptions.defaults())) {
            return BertArrays.logits(
                    ClassifierHead.POOLER, m, Arrays.asList(tok.encodeBatch(TEXTS)));
        }
    }

    private static List<Row> classify(SparkSession spark, String fn) {
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < TEXTS.size(); i++) {
            rows.add(RowFactory.create(i, TEXTS.get(i)));
        }
        StructType schema =
                new StructType().add("id", DataTypes.IntegerType).add("text", DataTypes.StringType);
        spark.createDataFrame(rows, schema).repartition(2).createOrReplaceTempView("pt_texts");
        return spark.sql("SELECT id, " + fn + "(text) AS c FROM pt_texts ORDER BY id")
                .collectAsList();
    }

    @Test
    void multiLabelAndRegressionStructs() throws IOException {
        SparkSession spark = SparkTestSession.get();
        List<String> colours = List.of("blue", "green", "red");
        Path multi = checkpoint(ProblemType.MULTI_LABEL, colours);
        SparkBertFunctions.register(spark, "multi", multi.toString());
        float[][] z = logits(multi);
        List<Row> rows = classify(spark, "multi_classify");
        assertEquals(
                SparkBertFunctions.MULTI_LABEL_CLASSIFY_TYPE,
                spark.sql("SELECT multi_classify(text) AS c FROM pt_texts")
                        .schema()
                        .apply("c")
                        .dataType());
        for (Row r : rows) {
            int i = r.getInt(0);
            Row c = r.getStruct(1);
            List<Double> p = c.getList(c.fieldIndex("probability"));
            List<Double> want = new ArrayList<>();
            List<String> names = new ArrayList<>();
            for (int k = 0; k < 3; k++) {
                double s = 1 / (1 + Math.exp(-z[i][k]));
                assertEquals(s, p.get(k), 1e-5, "text " + i + " class " + k);
                if (s > 0.5) {
                    want.add((double) k);
                    names.add(colours.get(k));
                }
            }
            assertEquals(want, c.getList(c.fieldIndex("prediction")));
            assertEquals(names, c.getList(c.fieldIndex("predictedLabels")));
        }

        Path reg = checkpoint(ProblemType.REGRESSION, List.of("LABEL_0"));
        SparkBertFunctions.register(spark, "reg", reg.toString());
        float[][] v = logits(reg);
        for (Row r : classify(spark, "reg_classify")) {
            Row c = r.getStruct(1);
            assertEquals(1, c.size());
            assertEquals(v[r.getInt(0)][0], c.getDouble(0), 1e-5);
        }
    }

    @Test
    void multiLabelUsesTheThresholdTheModelWasSavedWith() throws IOException {
        SparkSession spark = SparkTestSession.get();
        List<String> colours = List.of("blue", "green", "red");
        List<Row> rows = new ArrayList<>();
        String[][] labels = {{"red"}, {"blue", "green"}, {}, {"red", "blue", "green"}};
        for (int i = 0; i < TEXTS.size(); i++) {
            rows.add(RowFactory.create(i, TEXTS.get(i), Arrays.asList(labels[i])));
        }
        StructType schema =
                new StructType()
                        .add("id", DataTypes.IntegerType)
                        .add("text", DataTypes.StringType)
                        .add("label", DataTypes.createArrayType(DataTypes.StringType));
        Dataset<Row> data = spark.createDataFrame(rows, schema);
        // The checkpoint's own head, barely moved: probabilities stay near 0.5, so a threshold of
        // 0.3 predicts classes that 0.5 would not.
        BertClassificationModel model =
                new BertClassifier()
                        .setModel(checkpoint(ProblemType.MULTI_LABEL, colours).toString())
                        .setEpochs(1)
                        .setLearningRate(1e-7)
                        .setBatchSize(4)
                        .setLogEverySteps(0)
                        .setDevice("cpu")
                        .setThreshold(0.3)
                        .fit(data);
        Path saved = tmp.resolve("saved-multi");
        model.write().save(saved.toString());
        List<Row> want = model.transform(data).orderBy("id").collectAsList();

        SparkBertFunctions.register(spark, "thr", saved.toString());
        List<Row> got = classify(spark, "thr_classify");
        boolean between = false;
        for (int i = 0; i < TEXTS.size(); i++) {
            Row w = want.get(i);
            Row c = got.get(i).getStruct(1);
            List<Double> prediction = w.getList(w.fieldIndex("prediction"));
            List<String> names = new ArrayList<>();
            for (double k : prediction) {
                names.add(colours.get((int) k));
            }
            assertEquals(names, c.getList(c.fieldIndex("predictedLabels")), "text " + i);
            assertEquals(prediction, c.getList(c.fieldIndex("prediction")), "text " + i);
            for (double p : ((Vector) w.get(w.fieldIndex("probability"))).toArray()) {
                between |= p > 0.3 && p <= 0.5;
            }
        }
        assertTrue(between, "no probability in (0.3, 0.5]: the test would not see 0.5 used");
    }
}
