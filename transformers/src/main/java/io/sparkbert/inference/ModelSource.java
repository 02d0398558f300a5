package io.sparkbert.inference;

import io.sparkbert.bert.BuiltInModel;
import io.sparkbert.persistence.ModelLocation;
import java.io.Serializable;
import java.nio.file.Path;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.SparkContext;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;

/**
 * Where executors get a model and its tokenizer from: a location ({@code default} or another
 * built-in encoder's name, a local directory, or any Hadoop FileSystem URI of a HuggingFace-layout
 * directory), or the bytes of an in-memory model shipped once per executor in a Spark broadcast.
 *
 * <p>Serializable and small: the broadcast handle travels with the task, the bytes do not; an
 * executor reads the broadcast value only when its {@link ModelCache} does not hold the model yet.
 * Immutable and thread-safe.
 */
public final class ModelSource implements Serializable {
    private static final long serialVersionUID = 1L;

    /** The location string of the built-in model. */
    public static final String DEFAULT = ModelLocation.DEFAULT;

    private final String location;
    private final Broadcast<ModelBytes> broadcast;
    private final ModelBytes localBytes;
    private final String contentId;

    private ModelSource(
            String location,
            Broadcast<ModelBytes> broadcast,
            ModelBytes localBytes,
            String contentId) {
        this.location = location;
        this.broadcast = broadcast;
        this.localBytes = localBytes;
        this.contentId = contentId;
    }

    /**
     * A model at a location.
     *
     * @param location {@code default}, a local directory, or a Hadoop URI (hdfs://, s3a://, file:/,
     *     ...) of a directory with config.json, model.safetensors and tokenizer.json or vocab.txt
     * @throws IllegalArgumentException when the location is null or blank
     * @throws IllegalStateException when it names a built-in whose jar is not on the classpath
     */
    public static ModelSource location(String location) {
        if (location == null || location.isBlank()) {
            throw new IllegalArgumentException(
                    "The model location is empty: set the model param to \"default\" (the built-in"
                            + " encoder) or to the URI of a HuggingFace model directory.");
        }
        ModelLocation parsed = ModelLocation.of(location);
        if (parsed.builtIn() != null) {
            // On the driver, before any task: a missing jar is named now, not by a failed task.
            parsed.builtIn().requirePresent();
        }
        return new ModelSource(parsed.value(), null, null, null);
    }

    /**
     * A model held in memory (for example fitted in this session and not saved): broadcasts its
     * bytes once, keyed by their content id.
     *
     * @param sc the active Spark context
     * @param model the model's bytes
     */
    public static ModelSource broadcast(SparkContext sc, ModelBytes model) {
        if (model == null) {
            throw new IllegalArgumentException("ModelBytes must not be null");
        }
        Broadcast<ModelBytes> b = JavaSparkContext.fromSparkContext(sc).broadcast(model);
        return new ModelSource(null, b, null, model.contentId());
    }

    /**
     * The model's bytes without Spark, for driver-side or single-JVM use (no broadcast; the bytes
     * travel with this object if it is serialized).
     */
    public static ModelSource inMemory(ModelBytes model) {
        if (model == null) {
            throw new IllegalArgumentException("ModelBytes must not be null");
        }
        return new ModelSource(null, null, model, model.contentId());
    }

    /** The cache key: {@code location:<uri>} or {@code content:<sha256>}. */
    public String key() {
        return location != null ? "location:" + location : "content:" + contentId;
    }

    /**
     * The current version of a location's files ({@link ModelLocation#fingerprint}: one listing of
     * the directory), so that {@link ModelCache} notices a model rewritten in place; empty for
     * shipped bytes, whose key is their content.
     */
    String version() {
        if (location == null) {
            return "";
        }
        return ModelLocation.of(location).fingerprint(new Configuration());
    }

    /** The location, or null for a shipped model. */
    public String locationOrNull() {
        return location;
    }

    /** The built-in encoder this source names ({@code default} or an id), or null. */
    public BuiltInModel builtIn() {
        return location == null ? null : BuiltInModel.find(location).orElse(null);
    }

    /** The shipped bytes (reads the broadcast); only for sources made from bytes. */
    ModelBytes bytes() {
        if (localBytes != null) {
            return localBytes;
        }
        if (broadcast == null) {
            throw new IllegalStateException("model source " + key() + " carries no bytes");
        }
        return broadcast.value();
    }

    /**
     * The local directory of a location: the path itself for local paths and {@code file:} URIs,
     * else a cached local copy of the remote directory ({@link ModelLocation}) read with the Hadoop
     * configuration of this JVM's classpath.
     */
    Path localDirectory() {
        if (location == null || builtIn() != null) {
            throw new IllegalStateException("model source " + key() + " has no directory");
        }
        return ModelLocation.of(location).toLocalDirectory(new Configuration());
    }

    @Override
    public String toString() {
        return "ModelSource(" + key() + ")";
    }
}
