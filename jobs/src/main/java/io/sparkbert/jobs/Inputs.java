package io.sparkbert.jobs;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.DataFrameReader;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * Reads job inputs: a file or a directory of files in one of the {@link Format}s, chosen by
 * extension or explicitly. A directory may hold Hive-style partition directories ({@code k=v});
 * their values become columns.
 *
 * <p>Stateless and thread-safe.
 */
public final class Inputs {

    /** Input formats; {@link #AUTO} picks one from the file extension(s). */
    public enum Format {
        /** By extension. */
        AUTO,
        /** One JSON object per line ({@code .jsonl}, {@code .json}). */
        JSONL,
        /** A JSON document: an array of objects or one object per line ({@code .json}). */
        JSON,
        /** CSV with a header line ({@code .csv}). */
        CSV,
        /** Parquet ({@code .parquet}). */
        PARQUET,
        /** Plain text, one text per line, into column {@code text} ({@code .txt}). */
        TXT;

        /** The format of a file name's extension, or null. */
        static Format ofExtension(String name) {
            String n = name.toLowerCase(Locale.ROOT);
            if (n.endsWith(".gz") || n.endsWith(".bz2")) {
                n = n.substring(0, n.lastIndexOf('.'));
            }
            if (n.endsWith(".jsonl") || n.endsWith(".ndjson")) {
                return JSONL;
            }
            if (n.endsWith(".json")) {
                return JSON;
            }
            if (n.endsWith(".csv")) {
                return CSV;
            }
            if (n.endsWith(".parquet")) {
                return PARQUET;
            }
            if (n.endsWith(".txt")) {
                return TXT;
            }
            return null;
        }
    }

    /** Values of the {@code --input-format} option. */
    public static final String[] FORMAT_CHOICES = {
        "auto", "jsonl", "json", "csv", "parquet", "txt"
    };

    private Inputs() {}

    /** Parses an {@code --input-format} value. */
    public static Format format(String value) {
        return Format.valueOf(value.toUpperCase(Locale.ROOT));
    }

    /**
     * Reads {@code path} (a file or a directory) as a Dataset.
     *
     * @param basePath the root of a partitioned directory when {@code path} is one partition of it
     *     (so that partition columns are kept), else null
     * @throws IllegalArgumentException when the path does not exist, holds no data files, mixes
     *     formats, cannot be read, or has no rows
     */
    public static Dataset<Row> read(
            SparkSession spark, String path, Format format, String basePath) {
        Optional<Dataset<Row>> df = readIfAny(spark, path, format, basePath);
        if (df.isEmpty()) {
            throw new IllegalArgumentException(
                    "--input: '" + path + "' holds no rows; give a non-empty input.");
        }
        return df.get();
    }

    /**
     * Like {@link #read}, but an input without records is not an error: it gives {@code
     * Optional.empty()}. No records means a zero-byte file, a JSON or JSON-lines file of blank
     * lines only (or an empty JSON array), a CSV file with at most its header line, or a parquet
     * file without rows. (In a {@code .txt} file every line is a record, a blank one too.) The
     * incremental score job commits such an input as a unit of 0 rows.
     *
     * @throws IllegalArgumentException as {@link #read} does, except for having no rows
     */
    static Optional<Dataset<Row>> readIfAny(
            SparkSession spark, String path, Format format, String basePath) {
        Configuration hadoop = spark.sparkContext().hadoopConfiguration();
        Path p = new Path(path);
        Format f = format;
        String first = "";
        List<FileStatus> dataFiles;
        FileSystem fs;
        try {
            fs = p.getFileSystem(hadoop);
            if (!fs.exists(p)) {
                throw new IllegalArgumentException(
                        "--input: '" + path + "' does not exist; give a file or a directory.");
            }
            FileStatus status = fs.getFileStatus(p);
            List<FileStatus> files = status.isDirectory() ? dataFiles(fs, p) : List.of(status);
            dataFiles = files;
            if (files.isEmpty()) {
                throw new IllegalArgumentException(
                        "--input: directory '" + path + "' holds no data files.");
            }
            if (f == Format.AUTO) {
                Set<Format> seen = new TreeSet<>();
                List<String> unknown = new ArrayList<>();
                for (FileStatus s : files) {
                    Format e = Format.ofExtension(s.getPath().getName());
                    if (e == null) {
                        unknown.add(s.getPath().getName());
                    } else {
                        seen.add(e);
                    }
                }
                if (!unknown.isEmpty() || seen.size() != 1) {
                    throw new IllegalArgumentException(
                            "--input: cannot tell the format of '"
                                    + path
                                    + "' from its file extensions"
                                    + (unknown.isEmpty()
                                            ? " " + seen
                                            : " (e.g. " + unknown.get(0) + ")")
                                    + "; use .jsonl, .json, .csv, .parquet or .txt, or set"
                                    + " --input-format to one of "
                                    + Arrays.toString(FORMAT_CHOICES)
                                    + ".");
                }
                f = seen.iterator().next();
            }
            for (FileStatus s : files) {
                try {
                    if (first.isEmpty()) {
                        first = head(fs, s.getPath());
                    }
                } catch (IOException e) {
                    throw new IllegalArgumentException(
                            "--input: cannot read '" + s.getPath() + "': " + e.getMessage(), e);
                }
            }
        } catch (IOException e) {
            throw new IllegalArgumentException(
                    "--input: cannot access '" + path + "': " + e.getMessage(), e);
        }
        Dataset<Row> df;
        try {
            DataFrameReader reader = spark.read();
            if (basePath != null) {
                reader = reader.option("basePath", basePath);
            }
            df =
                    switch (f) {
                        case JSONL -> reader.option("mode", "FAILFAST").json(path);
                        case JSON -> readJson(reader, path, first);
                        case CSV ->
                                reader.option("header", "true")
                                        .option("mode", "FAILFAST")
                                        .option("multiLine", "true")
                                        .option("escape", "\"")
                                        .csv(path);
                        case PARQUET -> reader.parquet(path);
                        case TXT -> reader.text(path).withColumnRenamed("value", "text");
                        case AUTO -> throw new IllegalStateException("format not resolved");
                    };
            if (df.columns().length > 0 && df.isEmpty()) {
                return Optional.empty();
            }
        } catch (IllegalArgumentException e) {
            throw e;
        } catch (Exception e) { // Spark throws the checked SparkException undeclared
            String where =
                    (f == Format.JSONL || (f == Format.JSON && !first.startsWith("[")))
                            ? firstBadJsonLine(fs, dataFiles)
                            : null;
            throw new IllegalArgumentException(
                    "--input: cannot read '"
                            + path
                            + "' as "
                            + f.name().toLowerCase(Locale.ROOT)
                            + (where == null
                                    ? ": " + e.getMessage()
                                    : ": "
                                            + where
                                            + ". Fix or drop that line (save the file as"
                                            + " UTF-8 JSON lines), or read the file with"
                                            + " --input-format txt; nothing was written."),
                    e);
        }
        if (df.schema().fields().length == 0) {
            // No field anywhere: either no records at all, or only empty ones such as {}.
            long records = df.count();
            if (records == 0) {
                return Optional.empty();
            }
            throw new IllegalArgumentException(
                    "--input: '"
                            + path
                            + "' holds "
                            + records
                            + " "
                            + f.name().toLowerCase(Locale.ROOT)
                            + " records without any field; give records with a text field.");
        }
        if (df.columns().length == 1 && df.columns()[0].equals("_corrupt_record")) {
            throw new IllegalArgumentException(
                    "--input: '"
                            + path
                            + "' holds no parseable "
                            + f.name().toLowerCase(Locale.ROOT)
                            + " records.");
        }
        return Optional.of(df);
    }

    private static Dataset<Row> readJson(DataFrameReader reader, String path, String first) {
        // A .json file holds either JSON lines or one document (an array of objects).
        return reader.option("mode", "FAILFAST")
                .option("multiLine", Boolean.toString(first.startsWith("[")))
                .json(path);
    }

    /**
     * Finds the first line of the JSON-lines {@code files} that is not valid UTF-8 or not a JSON
     * object, for an error message: {@code "<file> line <n> is not valid UTF-8 (byte 0xFF at column
     * 5)"}; null when every line is fine (the failure had another cause).
     */
    static String firstBadJsonLine(FileSystem fs, List<FileStatus> files) {
        com.fasterxml.jackson.databind.ObjectMapper json =
                new com.fasterxml.jackson.databind.ObjectMapper();
        for (FileStatus file : files) {
            try (java.io.InputStream raw = fs.open(file.getPath());
                    java.io.BufferedInputStream in = new java.io.BufferedInputStream(raw)) {
                java.io.ByteArrayOutputStream line = new java.io.ByteArrayOutputStream();
                long n = 0;
                int b;
                do {
                    b = in.read();
                    if (b != -1 && b != '\n') {
                        line.write(b);
                        continue;
                    }
                    n++;
                    byte[] bytes = line.toByteArray();
                    line.reset();
                    String problem = lineProblem(json, bytes);
                    if (problem != null) {
                        return "'" + file.getPath() + "' line " + n + " " + problem;
                    }
                } while (b != -1);
            } catch (IOException e) {
                return null;
            }
        }
        return null;
    }

    private static String lineProblem(com.fasterxml.jackson.databind.ObjectMapper json, byte[] b) {
        java.nio.charset.CharsetDecoder utf8 =
                java.nio.charset.StandardCharsets.UTF_8
                        .newDecoder()
                        .onMalformedInput(java.nio.charset.CodingErrorAction.REPORT)
                        .onUnmappableCharacter(java.nio.charset.CodingErrorAction.REPORT);
        java.nio.ByteBuffer buf = java.nio.ByteBuffer.wrap(b);
        String text;
        try {
            text = utf8.decode(buf).toString();
        } catch (java.nio.charset.CharacterCodingException e) {
            // decode() leaves the buffer at the start of the bad sequence
            int at = buf.position();
            return String.format(
                    Locale.ROOT,
                    "is not valid UTF-8 (byte 0x%02X at byte %d)",
                    b[Math.min(at, b.length - 1)] & 0xFF,
                    at + 1);
        }
        if (text.isBlank()) {
            return null;
        }
        try {
            if (!json.readTree(text).isObject()) {
                return "is not a JSON object";
            }
            return null;
        } catch (IOException e) {
            String m = e.getMessage();
            int cut = m.indexOf('\n');
            return "is not valid JSON (" + (cut > 0 ? m.substring(0, cut) : m) + ")";
        }
    }

    /** The first non-blank characters of a file, to tell a JSON array from JSON lines. */
    private static String head(FileSystem fs, Path file) throws IOException {
        try (java.io.InputStream in = fs.open(file)) {
            byte[] b = in.readNBytes(4096);
            return new String(b, java.nio.charset.StandardCharsets.UTF_8).strip();
        }
    }

    /**
     * The data files under {@code dir}, recursively, skipping hidden and bookkeeping files (names
     * starting with {@code _} or {@code .}), sorted by path.
     */
    static List<FileStatus> dataFiles(FileSystem fs, Path dir) throws IOException {
        List<FileStatus> out = new ArrayList<>();
        for (FileStatus s : fs.listStatus(dir)) {
            String n = s.getPath().getName();
            if (n.startsWith("_") || n.startsWith(".")) {
                continue;
            }
            if (s.isDirectory()) {
                out.addAll(dataFiles(fs, s.getPath()));
            } else {
                out.add(s);
            }
        }
        out.sort((a, b) -> a.getPath().toString().compareTo(b.getPath().toString()));
        return out;
    }

    /**
     * Checks that {@code column} exists and is a string column.
     *
     * @param flag the option that named the column, e.g. {@code text-col}
     * @throws IllegalArgumentException naming the flag, the column and the columns present
     */
    public static void requireStringColumn(Dataset<Row> df, String column, String flag) {
        StructField f = field(df.schema(), column, flag);
        if (!f.dataType().equals(DataTypes.StringType)) {
            throw new IllegalArgumentException(
                    "--"
                            + flag
                            + ": column '"
                            + column
                            + "' must hold strings but is "
                            + f.dataType().simpleString()
                            + ".");
        }
    }

    /**
     * Checks that {@code column} exists.
     *
     * @throws IllegalArgumentException naming the flag, the column and the columns present
     */
    public static StructField field(StructType schema, String column, String flag) {
        if (!Arrays.asList(schema.fieldNames()).contains(column)) {
            throw new IllegalArgumentException(
                    "--"
                            + flag
                            + ": the input has no column '"
                            + column
                            + "' (columns: "
                            + Arrays.toString(schema.fieldNames())
                            + "); set --"
                            + flag
                            + " to one of them.");
        }
        return schema.apply(column);
    }

    /**
     * The options every job that reads texts and writes a row per text shares, in --help order:
     * model, input, input-format, output, format, text-col, pair-col.
     */
    static List<JobOption> textsInAndOut(String modelHelp, String inputHelp) {
        return List.of(
                JobOption.string("model", modelHelp),
                JobOption.string("input", inputHelp),
                JobOption.choice("input-format", "format of --input", FORMAT_CHOICES),
                JobOption.string("output", "output directory"),
                JobOption.choice("format", "output format", "parquet", "json", "csv"),
                JobOption.string("text-col", "column with the texts"),
                JobOption.string("pair-col", "column with the second texts of pairs (optional)"));
    }
}
