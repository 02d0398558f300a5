package io.sparkbert.jobs;

import io.sparkbert.bert.BuiltInModel;
import io.sparkbert.persistence.HadoopFiles;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Paths;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * The jobs' output directories on any Hadoop file system: staging siblings, the checks before an
 * output is replaced, the replace itself and exclusive creation (lock files). Plain file helpers
 * are in {@link HadoopFiles}. Failures become {@link IllegalStateException}s that name the path.
 *
 * <p>Stateless and thread-safe.
 */
final class OutputDirs {
    private OutputDirs() {}

    /** A fresh hidden sibling path of {@code out} for staging, e.g. {@code .out.staging-<uuid>}. */
    static Path stagingFor(Path out) {
        return new Path(
                out.getParent(), "." + out.getName() + ".staging-" + java.util.UUID.randomUUID());
    }

    /**
     * Checks, before any work, that a job may later replace {@code out} as a whole with {@link
     * #replaceDir}: it must not exist, be an empty directory, or be an earlier output of the same
     * job (it holds {@code marker}); and it must not be, or lie above, any of {@code
     * protectedPaths} (the job's input and model), which the replacement would delete.
     *
     * @param job the job name, for the message
     * @param marker a file every output of the job holds, e.g. {@code _manifest.json}
     * @param protectedPaths paths the job reads (null entries and {@code default} are ignored)
     * @throws IllegalArgumentException naming {@code --output}, the path and the fix
     */
    static void checkReplaceable(
            Configuration conf, Path out, String job, String marker, String... protectedPaths) {
        FileSystem fs = HadoopFiles.fs(conf, out);
        Path qualified = fs.makeQualified(out);
        String outPath = qualified.toUri().getPath();
        String outPrefix = outPath.endsWith("/") ? outPath : outPath + "/";
        for (String p : protectedPaths) {
            if (p == null || p.isEmpty() || BuiltInModel.find(p).isPresent()) {
                continue;
            }
            Path other = new Path(p);
            FileSystem otherFs = HadoopFiles.fs(conf, other);
            if (!otherFs.getUri().equals(fs.getUri())) {
                continue;
            }
            String otherPath = otherFs.makeQualified(other).toUri().getPath();
            if (otherPath.equals(outPath) || otherPath.startsWith(outPrefix)) {
                throw new IllegalArgumentException(
                        "--output: '"
                                + out
                                + "' is or contains '"
                                + p
                                + "', which this "
                                + job
                                + " run reads; replacing the output would delete it. Choose"
                                + " another --output.");
            }
        }
        try {
            if (!fs.exists(out)) {
                return;
            }
            if (!fs.getFileStatus(out).isDirectory()) {
                throw new IllegalArgumentException(
                        "--output: '" + out + "' is a file; name a directory to create.");
            }
            if (fs.listStatus(out).length == 0 || fs.exists(new Path(out, marker))) {
                return;
            }
        } catch (IOException e) {
            throw new IllegalStateException("Cannot check '" + out + "': " + e, e);
        }
        throw new IllegalArgumentException(
                "--output: '"
                        + out
                        + "' exists and is not the output of an earlier "
                        + job
                        + " run (it has no "
                        + marker
                        + "); refusing to replace it. Choose a new directory or delete it"
                        + " yourself.");
    }

    /**
     * Puts the complete dir {@code staging} in place of {@code out}: an existing {@code out} is
     * moved aside first and deleted after, so a reader sees the old or the new dir, never a mix.
     */
    static void replaceDir(Configuration conf, Path staging, Path out) {
        Path old =
                new Path(
                        out.getParent(),
                        "." + out.getName() + ".old-" + java.util.UUID.randomUUID());
        if (HadoopFiles.exists(conf, out)) {
            HadoopFiles.rename(conf, out, old);
        }
        HadoopFiles.rename(conf, staging, out);
        if (HadoopFiles.exists(conf, old)) {
            HadoopFiles.delete(conf, old);
        }
    }

    /**
     * Creates {@code p} only when it does not exist, atomically (O_EXCL on local files, {@code
     * create(overwrite=false)} elsewhere), writing {@code content}.
     *
     * @return false when it already existed
     */
    static boolean createExclusive(Configuration conf, Path p, String content) {
        FileSystem fs = HadoopFiles.fs(conf, p);
        try {
            if ("file".equals(fs.getScheme())) {
                java.nio.file.Path local = Paths.get(fs.makeQualified(p).toUri());
                Files.createDirectories(local.getParent());
                try {
                    Files.writeString(
                            local,
                            content,
                            java.nio.file.StandardOpenOption.CREATE_NEW,
                            java.nio.file.StandardOpenOption.WRITE);
                    return true;
                } catch (FileAlreadyExistsException e) {
                    return false;
                }
            }
            try (OutputStream out = fs.create(p, false)) {
                out.write(content.getBytes(StandardCharsets.UTF_8));
                return true;
            } catch (org.apache.hadoop.fs.FileAlreadyExistsException e) {
                return false;
            }
        } catch (IOException e) {
            if (HadoopFiles.exists(conf, p)) {
                return false;
            }
            throw new IllegalStateException("Cannot create '" + p + "': " + e, e);
        }
    }

    /** URI schemes of object stores, where a rename is a copy and delete, not atomic. */
    private static final java.util.Set<String> OBJECT_STORES =
            java.util.Set.of(
                    "s3", "s3a", "s3n", "gs", "abfs", "abfss", "wasb", "wasbs", "oss", "cosn",
                    "obs");

    /**
     * The scheme of {@code p} (or of the default file system when {@code p} has none) when it is an
     * object store, else null. Read from the URI only: no file system is opened.
     */
    static String objectStoreScheme(Configuration conf, Path p) {
        String scheme = p.toUri().getScheme();
        if (scheme == null) {
            scheme = FileSystem.getDefaultUri(conf).getScheme();
        }
        if (scheme == null) {
            return null;
        }
        scheme = scheme.toLowerCase(java.util.Locale.ROOT);
        return OBJECT_STORES.contains(scheme) ? scheme : null;
    }
}
