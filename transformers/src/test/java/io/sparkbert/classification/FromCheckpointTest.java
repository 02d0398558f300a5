package io.sparkbert.classification;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.sparkbert.bert.BertModel;
import io.sparkbert.bert.train.TrainingSummaryJsonTest;
import io.sparkbert.testing.Fixtures;
import io.sparkbert.testing.SparkTestSession;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
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

/** {@link BertClassificationModel#fromCheckpoint}: an HF checkpoint scores as HF scores it. */
class FromCheckpointTest {
    private final SparkSession spark = SparkTestSession.get();

    @TempDir Path tmp;

    @Test
    void theReferenceCheckpointGivesTheReferenceProbabilities() throws IOException {
        JsonObject eval =
                JsonParser.parseString(Files.readString(Fixtures.tinyBert().resolve("golden.json")))
                        .getAsJsonObject()
                        .getAsJsonObject("eval");
        JsonArray texts = eval.getAsJsonArray("texts");
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < texts.size(); i++) {
            rows.add(RowFactory.create(i, texts.get(i).getAsString()));
        }
        Dataset<Row> df =
                spark.createDataFrame(
                        rows,
                        new StructType()
                                .add("id", DataTypes.IntegerType)
                                .add("text", DataTypes.StringType));
        BertClassificationModel m =
                BertClassificationModel.fromCheckpoint(Fixtures.tinyBert().toString());
        assertEquals(List.of("LABEL_0", "LABEL_1"), m.labels());
        assertEquals("pooler", m.pooling());
        List<Row> out = m.transform(df).orderBy("id").collectAsList();
        assertEquals(texts.size(), out.size());
        for (Row r : out) {
            int i = r.getInt(0);
            double[] p = ((Vector) r.getAs("probability")).toArray();
            for (int c = 0; c < 2; c++) {
                double expected =
                        eval.getAsJsonArray("probs").get(i).getAsJsonArray().get(c).getAsDouble();
                assertEquals(expected, p[c], 1e-4, "text " + i + " class " + c);
            }
        }
    }

    @Test
    void aCheckpointWithoutAHeadIsRefusedNamingIt() throws IOException {
        Path headless = tmp.resolve("headless");
        try (BertModel m = BertModel.load(Fixtures.tinyBert(), Device.cpu());
                BertModel h = BertModel.initialize(m.config(), true, false, 3, Device.cpu())) {
            h.save(headless);
        }
        for (String f : List.of("vocab.txt", "tokenizer_config.json")) {
            Files.copy(Fixtures.tinyBert().resolve(f), headless.resolve(f));
        }
        IllegalArgumentException e =
                assertThrows(
                        IllegalArgumentException.class,
                        () -> BertClassificationModel.fromCheckpoint(headless.toString()));
        assertTrue(
                e.getMessage().contains(headless.toString())
                        && e.getMessage().contains("no classification head"),
                e.getMessage());
    }

    /**
     * A model saved before the snake_case summary format, with a camelCase training-summary.json,
     * loads with its summary; saving it again writes the one format.
     */
    @Test
    void aSavedModelWithACamelCaseSummaryLoads() throws IOException {
        Path saved = tmp.resolve("old-model");
        BertClassificationModel.fromCheckpoint(Fixtures.tinyBert().toString())
                .write()
                .save(saved.toString());
        Files.writeString(
                saved.resolve("training-summary.json"), TrainingSummaryJsonTest.CAMEL_CASE);
        BertClassificationModel m = BertClassificationModel.load(saved.toString());
        assertTrue(m.hasSummary());
        assertEquals(1, m.summary().bestEpoch());
        assertEquals(3.5, m.summary().wallSeconds());
        assertEquals(0.625, m.summary().epochs().get(0).trainLoss());
        assertEquals(20, m.summary().linearProbe().steps());
        Path again = tmp.resolve("saved-again");
        m.write().save(again.toString());
        JsonObject summary =
                JsonParser.parseString(Files.readString(again.resolve("training-summary.json")))
                        .getAsJsonObject();
        assertEquals(1, summary.get("best_epoch").getAsInt());
        assertEquals(3.5, summary.get("wall_seconds").getAsDouble());
        assertEquals(
                m.summary().lossPerStep()[0],
                BertClassificationModel.load(again.toString()).summary().lossPerStep()[0]);
    }
}
