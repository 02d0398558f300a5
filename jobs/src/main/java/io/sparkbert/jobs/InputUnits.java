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
     *     source_file=<escaped name>} (see {@link #fileUnitName})
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
            for (int i = 1; i < units.size(); i++) {
                if (units.get(i).outputName().equals(units.get(i - 1).outputName())) {
                    throw new IllegalArgumentException(
                            "--mode incremental: '"
                                    + units.get(i - 1).path()
                                    + "' and '"
                                    + units.get(i).path()
                                    + "' map to the same output unit '"
                                    + units.get(i).outputName()
                                    + "'; rename one of them.");
                }
            }
            return units;
        } catch (IOException e) {
            throw new IllegalArgumentException(
                    "--input: cannot list '" + dir + "': " + e.getMessage(), e);
        }
    }

    /**
     * The output unit name of the input file {@code fileName}: {@code source_file=<name>} with
     * every character other than letters, digits, {@code .}, {@code _} and {@code -} written as
     * {@code %XX} (Hive's escaping, which Spark undoes when it reads the {@code source_file} column
     * back), so that the name is one path segment that cannot leave the output dir: no separator,
     * no {@code ..}, no absolute path, no {@code :} that Hadoop paths reject. Other non-ASCII
     * characters (which {@code %XX} cannot carry) become {@code _}; {@link #list} refuses two files
     * that end up with one name.
     */
    static String fileUnitName(String fileName) {
        StringBuilder b = new StringBuilder("source_file=");
        for (int i = 0; i < fileName.length(); i++) {
            char c = fileName.charAt(i);
            if (Character.isLetterOrDigit(c) || c == '.' || c == '_' || c == '-') {
                b.append(c);
            } else if (c < 0x100) {
                b.append('%').append(String.format(java.util.Locale.ROOT, "%02X", (int) c));
            } else {
                b.append('_');
            }
        }
        return b.toString();
    }

    /** Refuses a partition dir name that is not one plain {@code k=v} path segment. */
    private static void checkPartitionSegment(Path dir, String name) {
        String value = name.substring(name.indexOf('=') + 1);
        if (name.contains("/")
                || name.contains("\\")
                || value.equals(".")
                || value.equals("..")
                || name.indexOf('\0') >= 0) {
            throw new IllegalArgumentException(
                    "--mode incremental: partition dir '"
                            + dir
                            + "' has a name that is not a plain k=v path segment; rename it.");
        }
    }

    /**
     * Where unit {@code unitName} goes under {@code output}, checked to stay inside it.
     *
     * @throws IllegalStateException when the name would escape {@code output} (a bug: names come
     *     from {@link #fileUnitName} and checked partition segments)
     */
    static Path target(Path output, String unitName) {
        for (String seg : unitName.split("/", -1)) {
            if (seg.isEmpty() || seg.equals(".") || seg.equals("..") || seg.contains("\\")) {
                throw new IllegalStateException(
                        "Unit name '" + unitName + "' would leave the output dir " + output + ".");
            }
        }
        Path t = new Path(output, unitName);
        String base = output.toUri().getPath();
        if (!t.toUri().getPath().startsWith(base.endsWith("/") ? base : base + "/")) {
            throw new IllegalStateException(
                    "Unit name '" + unitName + "' would leave the output dir " + output + ".");
        }
        return t;
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
                checkPartitionSegment(s.getPath(), n);
                List<String> cols = new ArrayList<>(partCols);
                cols.add(n.substring(0, eq));
                collect(fs, s.getPath(), rel.isEmpty() ? n : rel + "/" + n, cols, out);
            } else if (partCols.isEmpty()) {
                out.add(new Unit(s.getPath(), fileUnitName(n), List.of()));
            } else {
                hasFiles = true;
            }
        }
        if (hasFiles) {
            out.add(new Unit(dir, rel, List.copyOf(partCols)));
        }
    }
}
