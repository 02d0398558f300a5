package io.sparkbert.persistence;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * Small helpers over Hadoop's {@code FileSystem}, so that models and outputs may live on any file
 * system Spark reads and writes (local, HDFS, object stores). Failures become unchecked exceptions
 * that name the path. The one home of these helpers for the library and the jobs.
 *
 * <p>Stateless and thread-safe.
 */
public final class HadoopFiles {
    private HadoopFiles() {}

    public static FileSystem fs(Configuration conf, Path p) {
        try {
            return p.getFileSystem(conf);
        } catch (IOException e) {
            throw new IllegalArgumentException("No file system for '" + p + "': " + e, e);
        }
    }

    public static boolean exists(Configuration conf, Path p) {
        try {
            return fs(conf, p).exists(p);
        } catch (IOException e) {
            throw new IllegalStateException("Cannot check '" + p + "': " + e, e);
        }
    }

    public static void writeString(Configuration conf, Path p, String text) {
        try (OutputStream out = fs(conf, p).create(p, true)) {
            out.write(text.getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new IllegalStateException("Cannot write '" + p + "': " + e, e);
        }
    }

    public static String readString(Configuration conf, Path p) {
        try (InputStream in = fs(conf, p).open(p)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalArgumentException("Cannot read '" + p + "': " + e.getMessage(), e);
        }
    }

    public static void delete(Configuration conf, Path p) {
        try {
            fs(conf, p).delete(p, true);
        } catch (IOException e) {
            throw new IllegalStateException("Cannot delete '" + p + "': " + e, e);
        }
    }

    public static void mkdirs(Configuration conf, Path p) {
        try {
            fs(conf, p).mkdirs(p);
        } catch (IOException e) {
            throw new IllegalStateException("Cannot create '" + p + "': " + e, e);
        }
    }

    /**
     * Renames {@code from} to {@code to}, which must not exist; the commit step of every output.
     *
     * @throws IllegalStateException when the rename fails
     */
    public static void rename(Configuration conf, Path from, Path to) {
        try {
            FileSystem fs = fs(conf, from);
            if (fs.exists(to)) {
                throw new IllegalStateException(
                        "Cannot commit '" + from + "': target '" + to + "' exists.");
            }
            if (!fs.rename(from, to)) {
                throw new IllegalStateException("Rename of '" + from + "' to '" + to + "' failed.");
            }
        } catch (IOException e) {
            throw new IllegalStateException(
                    "Rename of '" + from + "' to '" + to + "' failed: " + e, e);
        }
    }

    /** Writes {@code data} to {@code p}, replacing it. */
    public static void write(Configuration conf, Path p, byte[] data) {
        try (OutputStream out = fs(conf, p).create(p, true)) {
            out.write(data);
        } catch (IOException e) {
            throw new IllegalStateException("Cannot write '" + p + "': " + e, e);
        }
    }

    /** All bytes of {@code p}. */
    public static byte[] readBytes(Configuration conf, Path p) {
        try (InputStream in = fs(conf, p).open(p)) {
            return in.readAllBytes();
        } catch (IOException e) {
            throw new IllegalArgumentException("Cannot read '" + p + "': " + e.getMessage(), e);
        }
    }
}
