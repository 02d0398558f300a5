package io.sparkbert.jobs;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.Optional;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;

/**
 * The seam between the jobs and the classifier stages: everything a job needs from a model family.
 * Pipelines built by a backend read the text from {@link #TEXT}, the optional second segment from
 * {@link #PAIR} and the class index from {@link #LABEL}, and add MLlib's {@code prediction}
 * (double), {@code probability} and {@code rawPrediction} (Vector) columns; columns whose names
 * start with {@link #INTERNAL_PREFIX} are the jobs' own and dropped from outputs.
 *
 * <p>Implementations are stateless and thread-safe.
 */
public interface ModelBackend {
    /** Prefix of the jobs' internal column names. */
    String INTERNAL_PREFIX = "_sb_";

    /** Internal column holding the text. */
    String TEXT = INTERNAL_PREFIX + "text";

    /** Internal column holding the second text of a pair (absent without {@code --pair-col}). */
    String PAIR = INTERNAL_PREFIX + "pair";

    /** Internal column holding the class index (double). */
    String LABEL = INTERNAL_PREFIX + "label";

    /**
     * A fitted pipeline with its training summary and class names.
     *
     * @param labels the class names the fitted model carries (index = class id): the names the fit
     *     was given, followed by the names of any further classes of a checkpoint's head
     */
    record Fitted(PipelineModel model, ObjectNode summary, List<String> labels) {}

    /** Short name stored in model dirs, e.g. {@code bert}. */
    String name();

    /**
     * The label names of the starting checkpoint named by {@code model} (its {@code id2label}), if
     * it has explicit ones; a remote ({@code hdfs://}, {@code s3a://}, ...) checkpoint is read
     * through {@code hadoopConf}.
     */
    Optional<List<String>> checkpointLabels(String model, Configuration hadoopConf);

    /**
     * The {@code problem_type} the starting checkpoint's head declares ({@code
     * single_label_classification}, {@code multi_label_classification} or {@code regression}, as in
     * HF config.json; a head with one output is a regression), if it has a head that says.
     */
    default Optional<String> checkpointProblemType(String model, Configuration hadoopConf) {
        return Optional.empty();
    }

    /**
     * Fits a pipeline.
     *
     * @param data rows with {@link #TEXT}, optionally {@link #PAIR}, and {@link #LABEL}
     * @param labels the class names, index = class id; empty when {@link #LABEL} holds multi-label
     *     arrays or regression values as the user gave them
     * @param hasPair whether {@link #PAIR} is present
     * @param settings the checkpoint, device and training options, checked
     */
    Fitted fit(Dataset<Row> data, List<String> labels, boolean hasPair, TrainSettings settings);

    /**
     * Puts the HF checkpoint of a fitted pipeline (config.json, weights, tokenizer) into {@code
     * hfDir}, or does nothing and returns false when the backend has no HF form. The saved pipeline
     * may then read its weights from there (they are stored once).
     *
     * @param savedPipeline where the pipeline was just saved
     */
    boolean writeHfCheckpoint(PipelineModel model, String savedPipeline, String hfDir);

    /**
     * Loads a HF checkpoint dir with a classification head as a pipeline reading {@link #TEXT} (and
     * {@link #PAIR} when {@code hasPair}).
     *
     * @throws IllegalArgumentException when the dir is not such a checkpoint or the backend cannot
     *     load checkpoints
     */
    LoadedModel loadCheckpoint(String dir, boolean hasPair);

    /**
     * Applies the scoring options (batch-size, max-length, overflow, device) to the stages of a
     * loaded pipeline that take them.
     */
    void configureScoring(PipelineModel model, JobOptions options);

    /** A pipeline and its class names. */
    record LoadedModel(PipelineModel model, List<String> labels) {}
}
