package io.sparkbert.jobs;

import io.sparkbert.persistence.HadoopFiles;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.time.Instant;
import java.util.UUID;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;

/**
 * An exclusive lock on an output directory: the file {@code <output>.lock} next to it, created
 * atomically. A second writer fails at once with a message naming the lock. A lock left by a dead
 * process on the same host (its pid no longer runs) is taken over, so that a retry after a crash
 * needs no manual step; locks of other hosts are never broken.
 *
 * <p>Not thread-safe; one instance per run. {@link #close()} is idempotent.
 */
final class OutputLock implements AutoCloseable {
    private final Configuration conf;
    private final Path file;
    private final String content;
    private boolean released;

    private OutputLock(Configuration conf, Path file, String content) {
        this.conf = conf;
        this.file = file;
        this.content = content;
    }

    /** The lock file of {@code output}. */
    static Path lockFile(Path output) {
        return new Path(output.getParent(), output.getName() + ".lock");
    }

    /**
     * Takes the lock of {@code output}.
     *
     * @throws IllegalStateException when another live run holds it
     */
    static OutputLock acquire(Configuration conf, Path output) {
        Path file = lockFile(output);
        String content =
                host()
                        + " "
                        + ProcessHandle.current().pid()
                        + " "
                        + Instant.now()
                        + " "
                        + UUID.randomUUID();
        if (OutputDirs.createExclusive(conf, file, content)) {
            return new OutputLock(conf, file, content);
        }
        String holder =
                HadoopFiles.exists(conf, file) ? HadoopFiles.readString(conf, file).strip() : "";
        if (isStale(holder)) {
            Path aside =
                    new Path(
                            file.getParent(), "." + file.getName() + ".stale-" + UUID.randomUUID());
            try {
                HadoopFiles.rename(conf, file, aside);
                if (HadoopFiles.readString(conf, aside).strip().equals(holder)) {
                    HadoopFiles.delete(conf, aside);
                    if (OutputDirs.createExclusive(conf, file, content)) {
                        return new OutputLock(conf, file, content);
                    }
                } else {
                    HadoopFiles.rename(conf, aside, file);
                }
            } catch (RuntimeException e) {
                // someone else moved it first: fall through to the error
            }
            holder =
                    HadoopFiles.exists(conf, file)
                            ? HadoopFiles.readString(conf, file).strip()
                            : holder;
        }
        throw new IllegalStateException(
                "Another run is writing '"
                        + output
                        + "' (lock file "
                        + file
                        + " held by: "
                        + holder
                        + "). Wait for it to finish; if that run is dead on another host,"
                        + " delete the lock file.");
    }

    private static boolean isStale(String holder) {
        String[] parts = holder.split(" ");
        if (parts.length < 2 || !parts[0].equals(host())) {
            return false;
        }
        try {
            long pid = Long.parseLong(parts[1]);
            return pid != ProcessHandle.current().pid() && ProcessHandle.of(pid).isEmpty();
        } catch (NumberFormatException e) {
            return false;
        }
    }

    private static String host() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (java.io.IOException e) {
            String name = ManagementFactory.getRuntimeMXBean().getName();
            return name.substring(name.indexOf('@') + 1);
        }
    }

    @Override
    public void close() {
        if (released) {
            return;
        }
        released = true;
        if (HadoopFiles.exists(conf, file)
                && HadoopFiles.readString(conf, file).strip().equals(content)) {
            HadoopFiles.delete(conf, file);
        }
    }
}
