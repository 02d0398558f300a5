package io.sparkbert.jobs;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * Splits an incremental input directory into units, the granularity of incremental commits: either
 * the data files directly inside it, or its leaf Hive-style partition directories ({@code
 * k=v/...}). Names starting with {@code _} or {@code .} are ignored.
 *
 * <p>Stateless and thread-safe.
 */
final class InputUnits {
    private InputUnits() {}

    /**
     * One unit.
     *
     * @param path the file or partition dir
     * @param outputName its dir name under the output: the partition path, or {@code
     *     source_file=<name>}
     * @param partitionColumns the partition columns of a partition unit (empty for files)
     */
    record Unit(Path path, String outputName, List<String> partitionColumns) {}

    /**
     * Lists the units of {@code dir}, sorted by output name.
     *
     * @throws IllegalArgumentException when {@code dir} is not a directory, is empty, or mixes
     *     files with partition dirs or holds non-partition subdirectories
     */
    static List<Unit> list(Configuration conf, Path dir) {
        try {
            FileSystem fs = dir.getFileSystem(conf);
            if (!fs.exists(dir) || !fs.getFileStatus(dir).isDirectory()) {
                throw new IllegalArgumentException(
                        "--mode incremental: --input '"
                                + dir
                                + "' must be a directory of files or of k=v partition dirs.");
            }
            List<Unit> units = new ArrayList<>();
            collect(fs, dir, "", new ArrayList<>(), units);
            if (units.isEmpty()) {
                throw new IllegalArgumentException(
                        "--input: directory '" + dir + "' holds no data files.");
            }
            boolean files = units.stream().anyMatch(u -> u.partitionColumns().isEmpty());
            boolean parts = units.stream().anyMatch(u -> !u.partitionColumns().isEmpty());
            if (files && parts) {
                throw new IllegalArgumentException(
                        "--mode incremental: --input '"
                                + dir
                                + "' mixes data files with partition dirs; use one layout.");
            }
            units.sort((a, b) -> a.outputName().compareTo(b.outputName()));
            return units;
        } catch (IOException e) {
            throw new IllegalArgumentException(
                    "--input: cannot list '" + dir + "': " + e.getMessage(), e);
        }
    }

    private static void collect(
            FileSystem fs, Path dir, String rel, List<String> partCols, List<Unit> out)
            throws IOException {
        boolean hasFiles = false;
        for (FileStatus s : fs.listStatus(dir)) {
            String n = s.getPath().getName();
            if (n.startsWith("_") || n.startsWith(".")) {
                continue;
            }
            if (s.isDirectory()) {
                int eq = n.indexOf('=');
                if (eq <= 0) {
                    throw new IllegalArgumentException(
                            "--mode incremental: '"
                                    + s.getPath()
                                    + "' is a directory but not a k=v partition dir; give"
                                    + " a directory of files or of partition dirs.");
                }
                List<String> cols = new ArrayList<>(partCols);
                cols.add(n.substring(0, eq));
                collect(fs, s.getPath(), rel.isEmpty() ? n : rel + "/" + n, cols, out);
            } else if (partCols.isEmpty()) {
                out.add(new Unit(s.getPath(), "source_file=" + n, List.of()));
            } else {
                hasFiles = true;
            }
        }
        if (hasFiles) {
            out.add(new Unit(dir, rel, List.copyOf(partCols)));
        }
    }
}
