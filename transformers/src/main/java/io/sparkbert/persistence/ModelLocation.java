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
 * s3a://...}). Remote directories are copied into {@code java.io.tmpdir/sparkbert-models/<hash of
 * the URI>-<hash of its listing>}, where the listing is every file's relative path, length and
 * modification time ({@link #fingerprint}): a model retrained in place at the same URI has another
 * listing and so is copied afresh, while an unchanged one is reused. A copy is written into a
 * private temp folder and renamed into place in one step, so a reader never sees half a model;
 * copies of the same URI that went stale are deleted once they are {@link #STALE_GRACE_MILLIS} old
 * (a JVM that started loading one just before the change still finds its files).
 *
 * <p>Immutable, serializable and thread-safe; concurrent copies of the same URI (threads or JVMs on
 * one host) each write a private folder and the first atomic rename wins.
 */
public final class ModelLocation implements Serializable {
    private static final long serialVersionUID = 1L;

    /** The {@code model} value that selects the built-in model. */
    public static final String DEFAULT = "default";

    private static final String COMPLETE_MARKER = ".sparkbert-complete";

    /** How long a stale copy of a changed remote model is kept for JVMs still loading it. */
    static final long STALE_GRACE_MILLIS = 10 * 60 * 1000L;

    /** Copies made while the source keeps changing are retried this often, then refused. */
    private static final int COPY_ATTEMPTS = 3;

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

    /**
     * A digest of the directory's current contents as its file system lists them: each file's path
     * relative to the directory, its length and its modification time (sorted by path), so that a
     * model rewritten in place gets another value. {@code "builtin:" + id} for a built-in encoder
     * (its weights are in a jar and never change under a running JVM). Costs one recursive listing
     * (no file is read).
     *
     * @throws IllegalArgumentException when the location does not exist or cannot be listed
     */
    public String fingerprint(Configuration hadoopConf) {
        BuiltInModel builtIn = builtIn();
        if (builtIn != null) {
            return "builtin:" + builtIn.id();
        }
        try {
            if (isLocal()) {
                return hash(localListing(localPath()));
            }
            URI uri = URI.create(value);
            FileSystem fs = FileSystem.get(uri, hadoopConf);
            return hash(listing(fs, new org.apache.hadoop.fs.Path(uri), value));
        } catch (IOException e) {
            throw new IllegalArgumentException(
                    "Cannot list model location " + value + ": " + e.getMessage(), e);
        }
    }

    private static String localListing(Path dir) throws IOException {
        StringBuilder sb = new StringBuilder();
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path f : (Iterable<Path>) walk.filter(Files::isRegularFile).sorted()::iterator) {
                sb.append(dir.relativize(f).toString().replace('\\', '/'))
                        .append('\t')
                        .append(Files.size(f))
                        .append('\t')
                        .append(Files.getLastModifiedTime(f).toMillis())
                        .append('\n');
            }
        }
        return sb.toString();
    }

    /**
     * The listing of a directory of {@code fs}: relative path, length and modification time of
     * every file, sorted by path.
     *
     * @throws IllegalArgumentException when {@code src} is missing or a file
     */
    static String listing(FileSystem fs, org.apache.hadoop.fs.Path src, String key)
            throws IOException {
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
        String base = status.getPath().toUri().getPath();
        java.util.TreeMap<String, String> files = new java.util.TreeMap<>();
        org.apache.hadoop.fs.RemoteIterator<org.apache.hadoop.fs.LocatedFileStatus> it =
                fs.listFiles(status.getPath(), true);
        while (it.hasNext()) {
            FileStatus f = it.next();
            String rel = f.getPath().toUri().getPath().substring(base.length());
            files.put(rel, f.getLen() + "\t" + f.getModificationTime());
        }
        StringBuilder sb = new StringBuilder();
        files.forEach((k, v) -> sb.append(k).append('\t').append(v).append('\n'));
        return sb.toString();
    }

    /** {@code java.io.tmpdir/sparkbert-models}. */
    static Path cacheRoot() {
        return Paths.get(System.getProperty("java.io.tmpdir"), "sparkbert-models");
    }

    /**
     * Copies a directory of {@code fs} into {@code root/<hash of key>-<hash of its listing>} unless
     * a complete copy of that listing is already there; stale copies of the same key are deleted
     * after {@link #STALE_GRACE_MILLIS}.
     */
    static Path copyToCache(FileSystem fs, org.apache.hadoop.fs.Path src, Path root, String key)
            throws IOException {
        String before = listing(fs, src, key);
        for (int attempt = 1; ; attempt++) {
            String prefix = hash(key) + "-";
            Path target = root.resolve(prefix + hash(before).substring(0, 16));
            if (Files.exists(target.resolve(COMPLETE_MARKER))) {
                return target;
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
                String after = listing(fs, src, key);
                if (!after.equals(before)) {
                    // The model changed while it was copied: the copy may mix two versions.
                    if (attempt == COPY_ATTEMPTS) {
                        throw new IllegalStateException(
                                "Model location "
                                        + key
                                        + " changed during each of "
                                        + COPY_ATTEMPTS
                                        + " copies; score again once it is written.");
                    }
                    before = after;
                    continue;
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
                deleteStaleCopies(root, prefix, target);
                return target;
            } finally {
                deleteRecursively(staging);
            }
        }
    }

    /** Deletes the other copies named {@code prefix*} once their grace time is over. */
    private static void deleteStaleCopies(Path root, String prefix, Path current) {
        long cutoff = System.currentTimeMillis() - STALE_GRACE_MILLIS;
        try (Stream<Path> copies = Files.list(root)) {
            for (Path p : (Iterable<Path>) copies::iterator) {
                Path marker = p.resolve(COMPLETE_MARKER);
                if (p.equals(current)
                        || !p.getFileName().toString().startsWith(prefix)
                        || !Files.exists(marker)
                        || Files.getLastModifiedTime(marker).toMillis() > cutoff) {
                    continue;
                }
                // Unmark first, so a concurrent reader never takes a half-deleted copy as whole.
                Files.deleteIfExists(marker);
                deleteRecursively(p);
            }
        } catch (IOException | UncheckedIOException e) {
            // Only disk space is at stake; the next copy tries again.
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
