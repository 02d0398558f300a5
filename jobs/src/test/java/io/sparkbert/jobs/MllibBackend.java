package io.sparkbert.jobs;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sparkbert.bert.train.TrainingOption;
import java.util.List;
import java.util.Optional;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.ml.Pipeline;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.PipelineStage;
import org.apache.spark.ml.classification.LogisticRegression;
import org.apache.spark.ml.classification.LogisticRegressionModel;
import org.apache.spark.ml.feature.HashingTF;
import org.apache.spark.ml.feature.RegexTokenizer;
import org.apache.spark.ml.feature.SQLTransformer;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;

/**
 * A test stand-in backend built from stock MLlib stages (RegexTokenizer, HashingTF, multinomial
 * LogisticRegression). It exercises the job framework (inputs, labels, outputs, commits, metrics)
 * in seconds, without model weights; it has no HF form. {@code --epochs} maps to {@code 20 *
 * epochs} optimizer iterations, the loss of each iteration is reported as a step.
 *
 * <p>Stateless and thread-safe.
 */
final class MllibBackend implements ModelBackend {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Override
    public String name() {
        return "mllib";
    }

    @Override
    public Optional<List<String>> checkpointLabels(String model, Configuration hadoopConf) {
        return Optional.empty();
    }

    @Override
    public Fitted fit(
            Dataset<Row> data, List<String> labels, boolean hasPair, TrainSettings settings) {
        String words = INTERNAL_PREFIX + "words";
        PipelineStage join =
                new SQLTransformer()
                        .setStatement(
                                hasPair
                                        ? "SELECT *, concat_ws(' ', "
                                                + TEXT
                                                + ", "
                                                + PAIR
                                                + ") AS "
                                                + INTERNAL_PREFIX
                                                + "joined FROM __THIS__"
                                        : "SELECT *, "
                                                + TEXT
                                                + " AS "
                                                + INTERNAL_PREFIX
                                                + "joined FROM __THIS__");
        RegexTokenizer tok =
                new RegexTokenizer()
                        .setInputCol(INTERNAL_PREFIX + "joined")
                        .setOutputCol(words)
                        .setPattern("\\W+");
        HashingTF tf =
                new HashingTF()
                        .setInputCol(words)
                        .setOutputCol(INTERNAL_PREFIX + "tf")
                        .setNumFeatures(1 << 14);
        LogisticRegression lr =
                new LogisticRegression()
                        .setFeaturesCol(INTERNAL_PREFIX + "tf")
                        .setLabelCol(LABEL)
                        .setFamily("multinomial")
                        .setMaxIter(20 * settings.get(TrainingOption.EPOCHS))
                        .setRegParam(settings.get(TrainingOption.WEIGHT_DECAY))
                        .setTol(0);
        PipelineModel model =
                new Pipeline().setStages(new PipelineStage[] {join, tok, tf, lr}).fit(data);
        LogisticRegressionModel fitted = (LogisticRegressionModel) model.stages()[3];
        ObjectNode summary = JSON.createObjectNode();
        summary.put("backend", name());
        ArrayNode steps = summary.putArray("steps");
        double[] history = fitted.summary().objectiveHistory();
        for (int i = 0; i < history.length; i++) {
            steps.addObject().put("step", i + 1).put("loss", history[i]).put("lr", 0.0);
        }
        ArrayNode epochs = summary.putArray("epochs");
        epochs.addObject()
                .put("epoch", 1)
                .put("train_loss", history[history.length - 1])
                .put("train_accuracy", fitted.summary().accuracy());
        return new Fitted(model, summary, labels);
    }

    @Override
    public boolean writeHfCheckpoint(PipelineModel model, String savedPipeline, String hfDir) {
        return false;
    }

    @Override
    public LoadedModel loadCheckpoint(String dir, boolean hasPair) {
        throw new IllegalArgumentException(
                "--model: '"
                        + dir
                        + "' is not a model dir written by the train job, and the MLlib"
                        + " stand-in backend cannot load HF checkpoints.");
    }

    @Override
    public void configureScoring(PipelineModel model, JobOptions options) {}
}
