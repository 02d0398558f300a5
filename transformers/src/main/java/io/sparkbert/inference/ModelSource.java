package io.sparkbert.inference;

import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Locale;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.spark.SparkContext;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;

/**
 * Where executors get a model and its tokenizer from: a location ({@code default} for the built-in
 * all-MiniLM-L6-v2, a local directory, or any Hadoop FileSystem URI of a HuggingFace-layout
 * directory), or the bytes of an in-memory model shipped once per executor in a Spark broadcast.
 *
 * <p>Serializable and small: the broadcast handle travels with the task, the bytes do not; an
 * executor reads the broadcast value only when its {@link ModelCache} does not hold the model yet.
 * Immutable and thread-safe.
 */
public final class ModelSource implements Serializable {
    private static final long serialVersionUID = 1L;

    /** The location string of the built-in model. */
    public static final String DEFAULT = "default";

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
     */
    public static ModelSource location(String location) {
        if (location == null || location.isBlank()) {
            throw new IllegalArgumentException(
                    "The model location is empty: set the model param to \"default\" (the built-in"
                            + " all-MiniLM-L6-v2) or to the URI of a HuggingFace model directory.");
        }
        return new ModelSource(location.trim(), null, null, null);
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

    /** The location, or null for a shipped model. */
    public String locationOrNull() {
        return location;
    }

    /** Whether this is the built-in model. */
    public boolean isDefault() {
        return location != null && location.equalsIgnoreCase(DEFAULT);
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
     * else a copy of the remote directory in a temporary folder of this JVM.
     */
    Path localDirectory() {
        if (location == null || isDefault()) {
            throw new IllegalStateException("model source " + key() + " has no directory");
        }
        URI uri;
        try {
            uri = new URI(location);
        } catch (java.net.URISyntaxException e) {
            uri = null;
        }
        String scheme = uri == null ? null : uri.getScheme();
        if (scheme == null || scheme.length() == 1) { // plain path (or a Windows drive letter)
            return checkDir(Paths.get(location));
        }
        if (scheme.toLowerCase(Locale.ROOT).equals("file")) {
            return checkDir(Paths.get(uri));
        }
        try {
            Path target = Files.createTempDirectory("sparkbert-model-");
            org.apache.hadoop.fs.Path remote = new org.apache.hadoop.fs.Path(location);
            FileSystem fs = remote.getFileSystem(new Configuration());
            fs.copyToLocalFile(false, remote, new org.apache.hadoop.fs.Path(target.toUri()), true);
            Path copied = target.resolve(remote.getName());
            return checkDir(Files.isDirectory(copied) ? copied : target);
        } catch (IOException e) {
            throw new UncheckedIOException(
                    "Cannot copy model directory "
                            + location
                            + " to a local folder; check the URI and the Hadoop credentials.",
                    e);
        }
    }

    private Path checkDir(Path dir) {
        if (!Files.isDirectory(dir)) {
            throw new IllegalArgumentException(
                    "Model location "
                            + location
                            + " is not a directory on this machine: set the model param to"
                            + " \"default\" or to a HuggingFace model directory (config.json,"
                            + " model.safetensors, tokenizer.json or vocab.txt) reachable from"
                            + " every executor.");
        }
        return dir;
    }

    @Override
    public String toString() {
        return "ModelSource(" + key() + ")";
    }
}
