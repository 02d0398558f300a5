package io.sparkbert.jobs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sparkbert.persistence.HadoopFiles;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.spark.ml.PipelineModel;

/**
 * A model directory written by {@link TrainJob}: the Spark {@code PipelineModel} (its {@code
 * metadata/} and {@code stages/}), {@value #META} with the backend, the class names and the
 * trained-on column names, {@code metrics.json} (the training summary) and, for BERT models, the HF
 * checkpoint under {@code hf/}.
 *
 * <p>Immutable and thread-safe.
 *
 * @param path the directory
 * @param backend the backend name that wrote it
 * @param labels class names, index = class id
 * @param hasPair whether the model reads a second text
 */
public record ModelDir(String path, String backend, List<String> labels, boolean hasPair) {
    /** File name of the job metadata. */
    public static final String META = "sparkbert-model.json";

    /** Format version written and accepted. */
    public static final int FORMAT = 1;

    private static final ObjectMapper JSON = new ObjectMapper();

    /** True when {@code dir} holds {@value #META}. */
    static boolean isModelDir(Configuration conf, String dir) {
        return HadoopFiles.exists(conf, new Path(dir, META));
    }

    /** True when {@code dir} looks like a HF checkpoint (has config.json). */
    static boolean isCheckpointDir(Configuration conf, String dir) {
        return HadoopFiles.exists(conf, new Path(dir, "config.json"));
    }

    /** Writes {@value #META} into {@code dir}. */
    void write(Configuration conf) {
        ObjectNode n = JSON.createObjectNode();
        n.put("format", FORMAT);
        n.put("backend", backend);
        n.put("hasPair", hasPair);
        n.putArray("id2label")
                .addAll(labels.stream().map(JSON.getNodeFactory()::textNode).toList());
        HadoopFiles.writeString(conf, new Path(path, META), n.toPrettyString());
    }

    /**
     * Reads {@value #META} of {@code dir}.
     *
     * @throws IllegalArgumentException when missing, unreadable or of another format version
     */
    static ModelDir read(Configuration conf, String dir) {
        String text = HadoopFiles.readString(conf, new Path(dir, META));
        try {
            JsonNode n = JSON.readTree(text);
            int format = n.path("format").asInt(-1);
            if (format != FORMAT) {
                throw new IllegalArgumentException(
                        "--model: "
                                + dir
                                + "/"
                                + META
                                + " has format "
                                + format
                                + " but this version reads format "
                                + FORMAT
                                + "; retrain the model with this version.");
            }
            List<String> labels = new ArrayList<>();
            n.path("id2label").forEach(l -> labels.add(l.asText()));
            return new ModelDir(
                    dir, n.path("backend").asText(), labels, n.path("hasPair").asBoolean());
        } catch (IOException e) {
            throw new IllegalArgumentException(
                    "--model: cannot parse " + dir + "/" + META + ": " + e.getMessage(), e);
        }
    }

    /** Loads the pipeline. */
    PipelineModel load() {
        return PipelineModel.load(path);
    }
}
