package io.sparkbert.classification;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import io.sparkbert.bert.ProblemType;
import io.sparkbert.inference.Score;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.apache.spark.ml.linalg.Vectors;

/**
 * The outputs of multi-label and regression heads, read from their logits: a sigmoid per class and
 * the classes over their thresholds, or the value. Shared by {@link BertClassificationModel} and
 * the SQL functions. Stateless and thread-safe.
 */
public final class ProblemOutputs {
    private ProblemOutputs() {}

    /**
     * Multi-label: prediction (class indices whose sigmoid probability is above their threshold),
     * probability (a sigmoid per class), rawPrediction (logits); regression: prediction (the
     * value). Computed from the logits (for a windowed text, their mean over the windows).
     */
    static Object[] row(Score score, ProblemType type, double[] thresholds, double threshold) {
        if (score == null) {
            return type == ProblemType.REGRESSION
                    ? new Object[] {null}
                    : new Object[] {null, null, null};
        }
        float[] logits = score.values();
        if (type == ProblemType.REGRESSION) {
            return new Object[] {(double) logits[0]};
        }
        double[] prob = sigmoid(logits);
        double[] raw = new double[logits.length];
        for (int j = 0; j < raw.length; j++) {
            raw[j] = logits[j];
        }
        return new Object[] {
            predictLabels(prob, thresholds, threshold), Vectors.dense(prob), Vectors.dense(raw)
        };
    }

    /** A sigmoid per logit, in double precision. */
    public static double[] sigmoid(float[] logits) {
        double[] p = new double[logits.length];
        for (int j = 0; j < p.length; j++) {
            p[j] = 1.0 / (1.0 + Math.exp(-(double) logits[j]));
        }
        return p;
    }

    /**
     * The multi-label prediction: the indices (as doubles, ascending) of the classes whose
     * probability is strictly above their threshold ({@code thresholds[c]} when given, else {@code
     * threshold}).
     */
    public static double[] predictLabels(
            double[] probability, double[] thresholds, double threshold) {
        return IntStream.range(0, probability.length)
                .filter(c -> probability[c] > (thresholds == null ? threshold : thresholds[c]))
                .asDoubleStream()
                .toArray();
    }

    /**
     * The per-class multi-label thresholds a saved {@link BertClassificationModel} scores with: its
     * {@code thresholds} param when set, else its {@code threshold} param (as set, or the default
     * it was saved with) for every class; read from the Spark metadata under {@code dir}.
     *
     * @param dir a local directory, the model's save path
     * @param k the number of classes
     * @return null when {@code dir} holds no saved model metadata (e.g. an HF checkpoint)
     * @throws IllegalArgumentException when the metadata cannot be read or its thresholds do not
     *     have {@code k} entries
     */
    public static double[] savedThresholds(Path dir, int k) {
        Path meta = dir.resolve("metadata");
        if (!Files.isDirectory(meta)) {
            return null;
        }
        try (Stream<Path> files = Files.list(meta)) {
            Path part =
                    files.filter(p -> p.getFileName().toString().startsWith("part-"))
                            .sorted()
                            .findFirst()
                            .orElse(null);
            if (part == null) {
                return null;
            }
            JsonObject json =
                    JsonParser.parseString(Files.readString(part, StandardCharsets.UTF_8).trim())
                            .getAsJsonObject();
            JsonObject set = json.getAsJsonObject("paramMap");
            JsonObject defaults = json.getAsJsonObject("defaultParamMap");
            if (set != null && set.has("thresholds")) {
                JsonArray a = set.getAsJsonArray("thresholds");
                if (a.size() != k) {
                    throw new IllegalArgumentException(
                            part
                                    + ": thresholds has "
                                    + a.size()
                                    + " entries for "
                                    + k
                                    + " classes; save the model again.");
                }
                double[] t = new double[k];
                for (int c = 0; c < k; c++) {
                    t[c] = a.get(c).getAsDouble();
                }
                return t;
            }
            JsonObject from =
                    set != null && set.has("threshold")
                            ? set
                            : defaults != null && defaults.has("threshold") ? defaults : null;
            if (from == null) {
                return null;
            }
            double[] t = new double[k];
            Arrays.fill(t, from.get("threshold").getAsDouble());
            return t;
        } catch (IOException | JsonParseException | IllegalStateException e) {
            throw new IllegalArgumentException(
                    "Cannot read the saved model params under " + meta + ": " + e.getMessage(), e);
        }
    }
}
