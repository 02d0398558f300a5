package io.sparkbert.jobs;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.SparkSession;

/**
 * The Spark job descriptions of the jobs ({@code SparkContext.setJobDescription}): what a run
 * reads, with which model and settings, and where it writes, e.g. {@code sparkbert score: 12 files
 * from /data/in, model /models/m, batch 32 -> /out}. Stateless and thread-safe.
 */
final class JobDescriptions {
    private JobDescriptions() {}

    /**
     * The description of a run of {@code job} with the effective option {@code values} (blank =
     * unset); an input directory is described by its number of data files when it can be listed.
     */
    static String of(String job, Map<String, String> values, SparkSession spark) {
        List<String> parts = new ArrayList<>();
        String input = value(values, "input");
        if (input != null) {
            parts.add(inputFiles(input, spark) + input);
        }
        String model = value(values, "model");
        if (model != null) {
            parts.add("model " + model);
        }
        String epochs = value(values, "epochs");
        if (epochs != null) {
            parts.add(epochs + (epochs.equals("1") ? " epoch" : " epochs"));
        }
        String batch = value(values, "batch-size");
        if (batch != null) {
            parts.add("batch " + batch);
        }
        String mode = value(values, "mode");
        if (mode != null) {
            parts.add("mode " + mode);
        }
        String output = value(values, "output");
        return "sparkbert "
                + job
                + ": "
                + String.join(", ", parts)
                + (output == null ? "" : (parts.isEmpty() ? "-> " : " -> ") + output);
    }

    private static String value(Map<String, String> values, String key) {
        String v = values.get(key);
        return v == null || v.isBlank() ? null : v;
    }

    /** {@code "12 files from "} for a directory, {@code ""} for a file or when unreadable. */
    private static String inputFiles(String input, SparkSession spark) {
        try {
            Path p = new Path(input);
            FileSystem fs = p.getFileSystem(spark.sparkContext().hadoopConfiguration());
            FileStatus st = fs.getFileStatus(p);
            if (!st.isDirectory()) {
                return "";
            }
            int n = Inputs.dataFiles(fs, p).size();
            return n + (n == 1 ? " file from " : " files from ");
        } catch (IOException | IllegalArgumentException e) {
            return ""; // only a label: the job itself reports a bad input
        }
    }
}
