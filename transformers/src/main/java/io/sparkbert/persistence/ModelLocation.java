package io.sparkbert.persistence;

import io.sparkbert.bert.BuiltInModel;
import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.Locale;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;

/**
 * The value of a stage's {@code model} param: the name of a built-in encoder ({@code "default"},
 * {@code "bge-small-en-v1.5"}, ...; see {@link BuiltInModel}), a local path ({@code /models/bert},
 * {@code file:/models/bert}) or any Hadoop FileSystem URI ({@code hdfs://nn/models/bert}, {@code
 * s3a://...}). Remote directories are copied once per JVM host into {@code
 * java.io.tmpdir/sparkbert-models/<hash of the URI>} and reused afterwards.
 *
 * <p>Immutable, serializable and thread-safe; concurrent copies of the same URI (threads or JVMs on
 * one host) each write a private folder and the first atomic rename wins.
 */
public final class ModelLocation implements Serializable {
    private static final long serialVersionUID = 1L;

    /** The {@code model} value that selects the built-in model. */
    public static final String DEFAULT = "default";

    private static final String COMPLETE_MARKER = ".sparkbert-complete";

    private final String value;

    private ModelLocation(String value) {
        this.value = value;
    }

    /**
     * Parses a {@code model} value.
     *
     * @throws IllegalArgumentException when it is null, blank or not a valid URI/path
     */
    public static ModelLocation of(String model) {
        if (model == null || model.trim().isEmpty()) {
            throw new IllegalArgumentException(
                    "Model location is empty: use \"default\" for the built-in model, a local"
                            + " directory or a Hadoop URI such as hdfs://host/path/model.");
        }
        String trimmed = model.trim();
        // A built-in's name (bge-small-en-v1.5, ...) is kept in its canonical spelling.
        BuiltInModel named =
                trimmed.equalsIgnoreCase(DEFAULT) ? null : BuiltInModel.find(trimmed).orElse(null);
        String v = named != null ? named.id() : trimmed;
        if (!v.equalsIgnoreCase(DEFAULT) && hasScheme(v)) {
            try {
                new URI(v);
            } catch (URISyntaxException e) {
                throw new IllegalArgumentException(
                        "Model location '" + model + "' is not a valid URI: " + e.getMessage(), e);
            }
        }
        return new ModelLocation(v.equalsIgnoreCase(DEFAULT) ? DEFAULT : v);
    }

    /** Whether this is the built-in model. */
    public boolean isDefault() {
        return DEFAULT.equals(value);
    }

    /**
     * The built-in encoder this location names ({@code default} or a {@link BuiltInModel} id), or
     * null for a directory location.
     */
    public BuiltInModel builtIn() {
        return BuiltInModel.find(value).orElse(null);
    }

    /** Whether the directory is on this machine's file system (no copy needed). */
    public boolean isLocal() {
        if (builtIn() != null) {
            return false;
        }
        if (!hasScheme(value)) {
            return true;
        }
        return "file".equalsIgnoreCase(URI.create(value).getScheme());
    }

    /** The value as given (trimmed; {@code default} lower-cased). */
    public String value() {
        return value;
    }

    /**
     * The local directory of a local location, without touching remote file systems.
     *
     * @throws IllegalArgumentException when the directory does not exist
     * @throws IllegalStateException for {@code default} or a remote location
     */
    public Path localPath() {
        if (!isLocal()) {
            throw new IllegalStateException(value + " is not a local model location");
        }
        Path p = hasScheme(value) ? Paths.get(URI.create(value)) : Paths.get(value);
        p = p.toAbsolutePath().normalize();
        if (!Files.isDirectory(p)) {
            throw new IllegalArgumentException(
                    "Model directory "
                            + p
                            + " (from '"
                            + value
                            + "') does not exist or is not a directory: pass \"default\" or"
                            + " the directory that holds the model files.");
        }
        return p;
    }

    /**
     * A local directory holding the model: the path itself for local locations, else a cached copy
     * made with the Hadoop FileSystem of the URI.
     *
     * @throws IllegalArgumentException when the location does not exist or is not a directory
     * @throws IllegalStateException for {@code default}, which has no directory
     */
    public Path toLocalDirectory(Configuration hadoopConf) {
        if (builtIn() != null) {
            throw new IllegalStateException(
                    "The built-in model " + value + " has no directory; check builtIn() first");
        }
        if (isLocal()) {
            return localPath();
        }
        URI uri = URI.create(value);
        try {
            FileSystem fs = FileSystem.get(uri, hadoopConf);
            org.apache.hadoop.fs.Path src = new org.apache.hadoop.fs.Path(uri);
            return copyToCache(fs, src, cacheRoot(), value);
        } catch (IOException e) {
            throw new IllegalArgumentException(
                    "Cannot read model location " + value + ": " + e.getMessage(), e);
        }
    }

    /** {@code java.io.tmpdir/sparkbert-models}. */
    static Path cacheRoot() {
        return Paths.get(System.getProperty("java.io.tmpdir"), "sparkbert-models");
    }

    /**
     * Copies a directory of {@code fs} into {@code root/<sha-256 of key>} unless a complete copy is
     * already there.
     */
    static Path copyToCache(FileSystem fs, org.apache.hadoop.fs.Path src, Path root, String key)
            throws IOException {
        Path target = root.resolve(hash(key));
        if (Files.exists(target.resolve(COMPLETE_MARKER))) {
            return target;
        }
        FileStatus status;
        try {
            status = fs.getFileStatus(src);
        } catch (java.io.FileNotFoundException e) {
            throw new IllegalArgumentException(
                    "Model location "
                            + key
                            + " does not exist: pass \"default\" or the URI of a directory"
                            + " that holds the model files.",
                    e);
        }
        if (!status.isDirectory()) {
            throw new IllegalArgumentException(
                    "Model location " + key + " is a file, not a directory of model files");
        }
        Files.createDirectories(root);
        Path staging = Files.createTempDirectory(root, "copy-");
        try {
            for (FileStatus child : fs.listStatus(src)) {
                fs.copyToLocalFile(
                        false,
                        child.getPath(),
                        new org.apache.hadoop.fs.Path(
                                staging.resolve(child.getPath().getName()).toUri()),
                        true);
            }
            Files.writeString(staging.resolve(COMPLETE_MARKER), key, StandardCharsets.UTF_8);
            try {
                Files.move(staging, target, StandardCopyOption.ATOMIC_MOVE);
            } catch (FileAlreadyExistsException | AtomicMoveNotSupportedException e) {
                // Another copier won; theirs is complete once the marker is there.
                if (!Files.exists(target.resolve(COMPLETE_MARKER))) {
                    throw new IOException("Incomplete model copy at " + target, e);
                }
            } catch (IOException e) {
                if (!Files.exists(target.resolve(COMPLETE_MARKER))) {
                    throw e;
                }
            }
            return target;
        } finally {
            deleteRecursively(staging);
        }
    }

    private static void deleteRecursively(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String hash(String key) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            return HexFormat.of()
                    .formatHex(md.digest(key.getBytes(StandardCharsets.UTF_8)))
                    .substring(0, 32);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A scheme of two or more letters (one letter would be a Windows drive). */
    private static boolean hasScheme(String v) {
        int colon = v.indexOf(':');
        return colon > 1
                && v.substring(0, colon).toLowerCase(Locale.ROOT).matches("[a-z][a-z0-9+.-]*");
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ModelLocation && ((ModelLocation) o).value.equals(value);
    }

    @Override
    public int hashCode() {
        return value.hashCode();
    }

    @Override
    public String toString() {
        return value;
    }
}
