package io.sparkbert.classification;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.sparkbert.bert.BertModel;
import io.sparkbert.bert.Devices;
import io.sparkbert.bert.HfTokenizer;
import io.sparkbert.bert.TokenizerOptions;
import io.sparkbert.persistence.ModelLocation;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.UUID;
import org.apache.spark.ml.util.Identifiable;
import org.apache.spark.sql.SparkSession;

/**
 * Builds a {@link BertClassificationModel} straight from an HF checkpoint directory with a trained
 * classification head (see {@link BertClassificationModel#fromCheckpoint}). Stateless and
 * thread-safe.
 */
final class CheckpointModels {
    private CheckpointModels() {}

    static BertClassificationModel fromCheckpoint(String path) {
        Path dir =
                ModelLocation.of(path)
                        .toLocalDirectory(
                                SparkSession.active().sparkContext().hadoopConfiguration());
        try (HfTokenizer tok = HfTokenizer.fromDirectory(dir, TokenizerOptions.defaults());
                BertModel m = BertModel.load(dir, Devices.resolve("cpu"))) {
            if (!m.hasClassifier()) {
                throw new IllegalArgumentException(
                        "The checkpoint "
                                + path
                                + " has no classification head (classifier.weight); fine-tune it"
                                + " with BertClassifier (or the train job) first.");
            }
            // The checkpoint's own config.json keeps its id2label and any pooling record that
            // BertClassifier wrote; without one the head is HF's (pooler).
            String config = Files.readString(dir.resolve("config.json"), StandardCharsets.UTF_8);
            JsonObject json = JsonParser.parseString(config).getAsJsonObject();
            String pooling =
                    json.has("sparkbert") && json.getAsJsonObject("sparkbert").has("pooling")
                            ? json.getAsJsonObject("sparkbert").get("pooling").getAsString()
                            : "pooler";
            ClassifierPayload payload =
                    new ClassifierPayload(
                            "checkpoint-" + UUID.randomUUID(),
                            config,
                            m.toSafetensorsBytes(),
                            tok.toJson(),
                            pooling,
                            m.numLabels());
            return new BertClassificationModel(
                    Identifiable.randomUID("BertClassificationModel"), payload, null);
        } catch (IOException e) {
            throw new IllegalArgumentException(
                    "Cannot read " + dir.resolve("config.json") + ": " + e.getMessage(), e);
        }
    }
}
