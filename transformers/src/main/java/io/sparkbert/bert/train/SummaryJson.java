package io.sparkbert.bert.train;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.util.ArrayList;
import java.util.List;

/**
 * The one JSON format of a {@link TrainingSummary}, snake_case, as the train job's {@code
 * metrics.json} shows it (see {@link TrainingSummary#toJson()} for the keys); also recognises the
 * camelCase JSON of earlier versions. Stateless and thread-safe.
 */
final class SummaryJson {
    private static final Gson PRETTY =
            new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().create();

    private SummaryJson() {}

    static String write(TrainingSummary s) {
        JsonObject n = new JsonObject();
        JsonArray steps = new JsonArray();
        for (TrainingSummary.Step st : s.steps()) {
            JsonObject o = new JsonObject();
            o.addProperty("step", st.step());
            number(o, "loss", st.loss());
            number(o, "lr", st.learningRate());
            o.addProperty("epoch", st.epoch());
            number(o, "grad_norm", st.gradNorm());
            o.addProperty("skipped", st.skipped());
            steps.add(o);
        }
        n.add("steps", steps);
        JsonArray epochs = new JsonArray();
        for (TrainingSummary.Epoch e : s.epochs()) {
            JsonObject o = new JsonObject();
            o.addProperty("epoch", e.epoch());
            number(o, "train_loss", e.trainLoss());
            number(o, "samples_per_second", e.samplesPerSecond());
            number(o, "seconds", e.seconds());
            if (e.valLoss() != null) {
                number(o, "val_loss", e.valLoss());
            }
            if (e.valAccuracy() != null) {
                number(o, "val_accuracy", e.valAccuracy());
            }
            epochs.add(o);
        }
        n.add("epochs", epochs);
        n.addProperty("best_epoch", s.bestEpoch());
        n.addProperty("stopped_early", s.stoppedEarly());
        n.addProperty("train_examples", s.trainExamples());
        n.addProperty("validation_examples", s.validationExamples());
        number(n, "samples_per_second", s.samplesPerSecond());
        number(n, "wall_seconds", s.wallSeconds());
        n.addProperty("device", s.device());
        n.addProperty("config", s.config());
        n.addProperty("skipped_steps", s.skippedSteps());
        LinearProbe.Result probe = s.linearProbe();
        if (probe != null) {
            JsonObject o = new JsonObject();
            o.addProperty("examples", probe.examples());
            number(o, "l2", probe.l2());
            o.addProperty("steps", probe.steps());
            number(o, "loss", probe.loss());
            number(o, "accuracy", probe.accuracy());
            number(o, "grad_norm", probe.gradNorm());
            number(o, "seconds", probe.seconds());
            n.add("linear_probe", o);
        }
        return PRETTY.toJson(n);
    }

    /** Whether {@code json} is the camelCase format of earlier versions. */
    static boolean isLegacy(String json) {
        JsonElement e = json == null ? null : JsonParser.parseString(json);
        return e != null
                && e.isJsonObject()
                && (e.getAsJsonObject().has("bestEpoch") || e.getAsJsonObject().has("wallSeconds"));
    }

    /** Reads what {@link #write} wrote (the job's extra fields around it are ignored). */
    static TrainingSummary read(String json) {
        JsonElement root = json == null ? null : JsonParser.parseString(json);
        if (root == null || !root.isJsonObject()) {
            return null;
        }
        JsonObject n = root.getAsJsonObject();
        if (!n.has("steps") || !n.has("epochs")) {
            return null;
        }
        List<TrainingSummary.Step> steps = new ArrayList<>();
        for (JsonElement x : n.getAsJsonArray("steps")) {
            JsonObject o = x.getAsJsonObject();
            steps.add(
                    new TrainingSummary.Step(
                            o.get("step").getAsInt(),
                            o.get("epoch").getAsInt(),
                            number(o, "loss"),
                            number(o, "lr"),
                            number(o, "grad_norm"),
                            o.get("skipped").getAsBoolean()));
        }
        List<TrainingSummary.Epoch> epochs = new ArrayList<>();
        for (JsonElement x : n.getAsJsonArray("epochs")) {
            JsonObject o = x.getAsJsonObject();
            epochs.add(
                    new TrainingSummary.Epoch(
                            o.get("epoch").getAsInt(),
                            number(o, "train_loss"),
                            o.has("val_loss") ? number(o, "val_loss") : null,
                            o.has("val_accuracy") ? number(o, "val_accuracy") : null,
                            number(o, "samples_per_second"),
                            number(o, "seconds")));
        }
        LinearProbe.Result probe = null;
        if (n.has("linear_probe") && n.get("linear_probe").isJsonObject()) {
            JsonObject o = n.getAsJsonObject("linear_probe");
            probe =
                    new LinearProbe.Result(
                            o.get("examples").getAsInt(),
                            number(o, "l2"),
                            o.get("steps").getAsInt(),
                            number(o, "loss"),
                            number(o, "accuracy"),
                            number(o, "grad_norm"),
                            number(o, "seconds"));
        }
        return new TrainingSummary(
                steps,
                epochs,
                n.get("best_epoch").getAsInt(),
                n.has("stopped_early") && n.get("stopped_early").getAsBoolean(),
                n.get("train_examples").getAsInt(),
                n.get("validation_examples").getAsInt(),
                number(n, "samples_per_second"),
                n.has("wall_seconds") ? number(n, "wall_seconds") : 0,
                n.has("device") ? n.get("device").getAsString() : null,
                n.has("config") ? n.get("config").getAsString() : null,
                probe);
    }

    /** A number, or its name as a string when it is NaN or infinite. */
    private static void number(JsonObject o, String key, double v) {
        if (Double.isFinite(v)) {
            o.addProperty(key, v);
        } else {
            o.addProperty(key, Double.toString(v));
        }
    }

    /** A number written by {@link #number(JsonObject, String, double)}. */
    private static double number(JsonObject o, String key) {
        JsonElement e = o.get(key);
        if (e.getAsJsonPrimitive().isString()) {
            return Double.parseDouble(e.getAsString());
        }
        return e.getAsDouble();
    }
}
