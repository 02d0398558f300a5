package io.sparkbert.bert.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The one JSON format of a training summary (snake_case), and the camelCase one read as before. */
public class TrainingSummaryJsonTest {
    /** training-summary.json as spark-bert wrote it before the snake_case format. */
    public static final String CAMEL_CASE =
            """
            {
              "steps": [
                {"step": 1, "epoch": 1, "loss": 0.71, "learningRate": 0.0, "gradNorm": 1.5,
                 "skipped": false},
                {"step": 2, "epoch": 1, "loss": NaN, "learningRate": 2.0E-5, "gradNorm": 3.25,
                 "skipped": true}
              ],
              "epochs": [
                {"epoch": 1, "trainLoss": 0.625, "valLoss": 0.5, "valAccuracy": 0.75,
                 "samplesPerSecond": 12.5, "seconds": 2.0}
              ],
              "bestEpoch": 1,
              "stoppedEarly": true,
              "trainExamples": 8,
              "validationExamples": 4,
              "samplesPerSecond": 11.0,
              "wallSeconds": 3.5,
              "device": "cpu()",
              "config": "TrainingConfig{epochs=1, linearProbe=true}",
              "linearProbe": {"examples": 8, "l2": 0.01, "steps": 20, "loss": 0.4,
                              "accuracy": 1.0, "gradNorm": 0.001, "seconds": 0.5}
            }
            """;

    @Test
    void theCamelCaseFormatOfEarlierVersionsIsRead() {
        check(TrainingSummary.fromJson(CAMEL_CASE));
    }

    @Test
    void toJsonWritesSnakeCaseAndReadsItBack() {
        TrainingSummary s = TrainingSummary.fromJson(CAMEL_CASE);
        String json = s.toJson();
        JsonObject o = JsonParser.parseString(json).getAsJsonObject();
        assertEquals(
                List.of(
                        "steps",
                        "epochs",
                        "best_epoch",
                        "stopped_early",
                        "train_examples",
                        "validation_examples",
                        "samples_per_second",
                        "wall_seconds",
                        "device",
                        "config",
                        "skipped_steps",
                        "linear_probe"),
                List.copyOf(o.keySet()));
        JsonObject step = o.getAsJsonArray("steps").get(1).getAsJsonObject();
        assertEquals(
                List.of("step", "loss", "lr", "epoch", "grad_norm", "skipped"),
                List.copyOf(step.keySet()));
        assertEquals("NaN", step.get("loss").getAsString());
        assertEquals(2.0e-5, step.get("lr").getAsDouble());
        JsonObject epoch = o.getAsJsonArray("epochs").get(0).getAsJsonObject();
        assertEquals(
                List.of(
                        "epoch",
                        "train_loss",
                        "samples_per_second",
                        "seconds",
                        "val_loss",
                        "val_accuracy"),
                List.copyOf(epoch.keySet()));
        assertEquals(1, o.get("skipped_steps").getAsInt());
        assertEquals(
                List.of("examples", "l2", "steps", "loss", "accuracy", "grad_norm", "seconds"),
                List.copyOf(o.getAsJsonObject("linear_probe").keySet()));
        assertTrue(json.contains("linearProbe=true"), json);
        check(TrainingSummary.fromJson(json));
    }

    @Test
    void withoutValidationOrProbeThoseKeysAreLeftOut() {
        TrainingSummary s =
                new TrainingSummary(
                        List.of(new TrainingSummary.Step(1, 1, 0.5, 1e-3, 0.25, false)),
                        List.of(new TrainingSummary.Epoch(1, 0.5, null, null, 4.0, 1.0)),
                        1,
                        false,
                        4,
                        0,
                        4.0,
                        1.0,
                        "cpu()",
                        "c",
                        null);
        JsonObject o = JsonParser.parseString(s.toJson()).getAsJsonObject();
        assertFalse(o.has("linear_probe"));
        JsonObject epoch = o.getAsJsonArray("epochs").get(0).getAsJsonObject();
        assertFalse(epoch.has("val_loss"));
        assertFalse(epoch.has("val_accuracy"));
        TrainingSummary back = TrainingSummary.fromJson(s.toJson());
        assertNull(back.linearProbe());
        assertNull(back.epochs().get(0).valLoss());
        assertEquals(0.25, back.steps().get(0).gradNorm());
    }

    @Test
    void somethingElseIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> TrainingSummary.fromJson("{}"));
        assertThrows(IllegalArgumentException.class, () -> TrainingSummary.fromJson("[1, 2"));
    }

    private static void check(TrainingSummary s) {
        assertEquals(2, s.steps().size());
        assertEquals(0.71, s.steps().get(0).loss());
        assertTrue(Double.isNaN(s.steps().get(1).loss()));
        assertEquals(2.0e-5, s.steps().get(1).learningRate());
        assertEquals(3.25, s.steps().get(1).gradNorm());
        assertTrue(s.steps().get(1).skipped());
        assertEquals(1, s.skippedSteps());
        TrainingSummary.Epoch e = s.epochs().get(0);
        assertEquals(0.625, e.trainLoss());
        assertEquals(0.5, e.valLoss());
        assertEquals(0.75, e.valAccuracy());
        assertEquals(12.5, e.samplesPerSecond());
        assertEquals(2.0, e.seconds());
        assertEquals(1, s.bestEpoch());
        assertTrue(s.stoppedEarly());
        assertEquals(8, s.trainExamples());
        assertEquals(4, s.validationExamples());
        assertEquals(11.0, s.samplesPerSecond());
        assertEquals(3.5, s.wallSeconds());
        assertEquals("cpu()", s.device());
        assertEquals("TrainingConfig{epochs=1, linearProbe=true}", s.config());
        assertEquals(new LinearProbe.Result(8, 0.01, 20, 0.4, 1.0, 0.001, 0.5), s.linearProbe());
    }
}
