package io.sparkbert.udfs;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.sparkbert.bert.ProblemType;
import io.sparkbert.classification.ProblemOutputs;
import io.sparkbert.inference.LoadedModel;
import io.sparkbert.inference.ModelCache;
import io.sparkbert.inference.ModelSource;
import io.sparkbert.inference.ScoringSpec;
import io.sparkbert.persistence.ModelLocation;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.api.java.UDF1;

/**
 * The {@code bert_classify} / {@code <name>_classify} functions of {@link SparkBertFunctions}: the
 * result struct per problem type (single-label, multi-label over the model's saved thresholds,
 * regression) and what the model directory says about its head.
 */
final class ClassifyFunctions {
    private ClassifyFunctions() {}

    /** Registers the classify functions of one model; see {@link SparkBertFunctions}. */
    static void register(
            SparkSession spark,
            BatchedInferenceStrategy strategy,
            String name,
            String model,
            String location,
            ModelInfo info,
            int maxLength,
            int batchSize,
            int windowSize,
            String device) {
        for (String fn : List.of("bert_classify", name.toLowerCase(Locale.ROOT) + "_classify")) {
            if (info.labels == null) {
                String message =
                        fn
                                + ": the model "
                                + model
                                + " has no classification head; register a fine-tuned"
                                + " classifier (a train job output or an HF checkpoint with"
                                + " classifier weights), or use bert_embed.";
                spark.udf()
                        .register(
                                fn,
                                (UDF1<String, Row>)
                                        text -> {
                                            throw new IllegalArgumentException(message);
                                        },
                                SparkBertFunctions.CLASSIFY_TYPE);
                SparkBertFunctions.requireStringArgument(spark, fn);
                continue;
            }
            ScoringSpec spec =
                    new ScoringSpec(ModelSource.location(location), ScoringSpec.Output.LOGITS)
                            .columns(fn, "text", null)
                            .classifierHead(info.head)
                            .maxLength(maxLength)
                            .batchSize(batchSize)
                            .windowSize(windowSize)
                            .device(device)
                            .handleInvalid("keep");
            List<String> labels = info.labels;
            if (info.type != ProblemType.SINGLE_LABEL) {
                double[] thresholds =
                        info.type == ProblemType.MULTI_LABEL
                                ? savedThresholds(spark, model, labels.size())
                                : null;
                SparkBertFunctions.registerModelFunction(
                        spark,
                        strategy,
                        new BatchedCall(
                                fn,
                                spec,
                                SparkBertFunctions.classifyType(info.type),
                                problemStruct(info.type, labels, thresholds)));
                continue;
            }
            SparkBertFunctions.registerModelFunction(
                    spark,
                    strategy,
                    new BatchedCall(
                            fn, spec, SparkBertFunctions.CLASSIFY_TYPE, singleLabelStruct(labels)));
        }
    }

    /** The struct of one single-label result: the most probable class, by name and index. */
    private static BatchedCall.ValueMapper singleLabelStruct(List<String> labels) {
        return score -> {
            if (score == null) {
                return null;
            }
            double[] p = score.probabilities();
            int best = 0;
            for (int i = 1; i < p.length; i++) {
                if (p[i] > p[best]) {
                    best = i;
                }
            }
            return RowFactory.create(labels.get(best), (double) best, p.clone());
        };
    }

    /**
     * The struct of one multi-label (classes over their thresholds; null: 0.5 for every class) or
     * regression (the value) result.
     */
    private static BatchedCall.ValueMapper problemStruct(
            ProblemType type, List<String> labels, double[] thresholds) {
        return score -> {
            if (score == null) {
                return null;
            }
            if (type == ProblemType.REGRESSION) {
                return RowFactory.create((double) score.values()[0]);
            }
            double[] p = ProblemOutputs.sigmoid(score.values());
            double[] predicted = ProblemOutputs.predictLabels(p, thresholds, 0.5);
            String[] names = new String[predicted.length];
            for (int i = 0; i < names.length; i++) {
                names[i] = labels.get((int) predicted[i]);
            }
            return RowFactory.create(names, predicted, p);
        };
    }

    /**
     * The multi-label thresholds a saved BertClassificationModel at {@code model} scores with (see
     * {@link ProblemOutputs#savedThresholds}), or null (an HF checkpoint: 0.5, as the model's
     * default threshold).
     */
    private static double[] savedThresholds(SparkSession spark, String model, int k) {
        ModelLocation location = ModelLocation.of(model);
        if (location.builtIn() != null) {
            return null;
        }
        return ProblemOutputs.savedThresholds(
                location.toLocalDirectory(spark.sparkContext().hadoopConfiguration()), k);
    }

    /** Labels (null without a classifier head) and the recorded head pooling of a model. */
    static final class ModelInfo {
        final List<String> labels;
        final String head;
        final ProblemType type;

        private ModelInfo(List<String> labels, String head) {
            this(labels, head, ProblemType.SINGLE_LABEL);
        }

        private ModelInfo(List<String> labels, String head, ProblemType type) {
            this.labels = labels;
            this.head = head;
            this.type = type;
        }

        static ModelInfo read(SparkSession spark, String location) {
            if (ModelLocation.of(location).builtIn() != null) {
                return new ModelInfo(null, null);
            }
            Path dir =
                    ModelLocation.of(location)
                            .toLocalDirectory(spark.sparkContext().hadoopConfiguration());
            try {
                JsonObject config =
                        JsonParser.parseString(
                                        Files.readString(
                                                dir.resolve("config.json"), StandardCharsets.UTF_8))
                                .getAsJsonObject();
                String head =
                        config.has("sparkbert")
                                        && config.getAsJsonObject("sparkbert").has("pooling")
                                ? config.getAsJsonObject("sparkbert").get("pooling").getAsString()
                                : "pooler";
                // Loaded once per JVM and kept in the cache that local-mode tasks share.
                LoadedModel loaded = ModelCache.get(ModelSource.location(location), "cpu");
                if (!loaded.model().hasClassifier()) {
                    return new ModelInfo(null, head);
                }
                return new ModelInfo(
                        loaded.model().config().labels(),
                        head,
                        ProblemType.of(loaded.model().config()));
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read " + dir.resolve("config.json"), e);
            }
        }
    }
}
