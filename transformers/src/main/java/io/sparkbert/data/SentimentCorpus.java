package io.sparkbert.data;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Spark-free access to the UCI Sentiment Labelled Sentences: loading the three files as {@link
 * Example}s and a deterministic stratified train/test split.
 *
 * <p>The split ranks the examples of each label by the SHA-256 of {@code id + ":" + seed} (hex,
 * ties broken by id) and puts the first {@code floor(n * trainFraction + 0.5)} of each label into
 * the training set. It depends only on the ids, labels, fraction and seed, never on input order or
 * partitioning, and {@link SentimentData#split} computes exactly the same split on Spark.
 *
 * <p>Stateless; all methods are static and thread-safe.
 */
public final class SentimentCorpus {
    /** The three source files, in load order. */
    public static final List<String> SOURCES = List.of("amazon", "imdb", "yelp");

    /** System property that points at the data folder. */
    public static final String DIR_PROPERTY = "sparkbert.data";

    /** Environment variable that points at the data folder (also read by fetch-data.sh). */
    public static final String DIR_ENV = "SPARKBERT_DATA_DIR";

    /** The folder below the project root that {@code scripts/fetch-data.sh} fills. */
    public static final String RELATIVE_DIR = "data/uci-sentiment";

    private SentimentCorpus() {}

    /**
     * A train/test partition of examples, each list in the input order.
     *
     * @param train the training examples
     * @param test the held-out examples
     */
    public record ExampleSplit(List<Example> train, List<Example> test) {
        /** Makes both lists unmodifiable. */
        public ExampleSplit {
            train = List.copyOf(train);
            test = List.copyOf(test);
        }
    }

    /**
     * The data folder: the system property {@value #DIR_PROPERTY}, else the environment variable
     * {@value #DIR_ENV}, else the first {@value #RELATIVE_DIR} found in the working directory or
     * one of its parents.
     *
     * @throws IllegalStateException when none holds the data, with the fix
     */
    public static Path defaultDir() {
        String configured = System.getProperty(DIR_PROPERTY);
        if (configured == null || configured.isBlank()) {
            configured = System.getenv(DIR_ENV);
        }
        if (configured != null && !configured.isBlank()) {
            return Paths.get(configured).toAbsolutePath().normalize();
        }
        for (Path dir = Paths.get("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            Path candidate = dir.resolve(RELATIVE_DIR);
            if (Files.isRegularFile(candidate.resolve(SOURCES.get(0) + ".json"))) {
                return candidate;
            }
        }
        throw new IllegalStateException(
                "UCI sentiment data not found in "
                        + RELATIVE_DIR
                        + " below "
                        + Paths.get("").toAbsolutePath()
                        + " or its parents: run scripts/fetch-data.sh (mvn does it in"
                        + " generate-test-resources), or set -D"
                        + DIR_PROPERTY
                        + "=DIR or "
                        + DIR_ENV
                        + "=DIR.");
    }

    /** Loads the 3,000 examples from {@link #defaultDir()}. */
    public static List<Example> load() {
        return load(defaultDir());
    }

    /**
     * Loads {@code amazon.json}, {@code imdb.json} and {@code yelp.json} from {@code dir}, in file
     * order. Each file is a JSON array of {@code {"text": ..., "class": 0|1}}; the package's
     * trailing sentinel entry {@code {"text": "", "class": null}} is skipped.
     *
     * @throws IllegalArgumentException when a file is missing or holds a malformed entry; the
     *     message names the file and the entry
     */
    public static List<Example> load(Path dir) {
        List<Example> all = new ArrayList<>();
        for (String source : SOURCES) {
            all.addAll(loadFile(dir.resolve(source + ".json"), source));
        }
        return Collections.unmodifiableList(all);
    }

    private static List<Example> loadFile(Path file, String source) {
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException(
                    "UCI sentiment file "
                            + file
                            + " does not exist: run scripts/fetch-data.sh or point -D"
                            + DIR_PROPERTY
                            + " at the folder that holds amazon.json, imdb.json and yelp.json.");
        }
        JsonElement root;
        try (Reader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            root = JsonParser.parseReader(reader);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read " + file, e);
        } catch (JsonParseException e) {
            throw new IllegalArgumentException(
                    file + " is not valid JSON (" + e.getMessage() + "): re-run fetch-data.sh.", e);
        }
        if (!root.isJsonArray()) {
            throw new IllegalArgumentException(
                    file + " must hold a JSON array of {\"text\", \"class\"} objects.");
        }
        JsonArray rows = root.getAsJsonArray();
        List<Example> out = new ArrayList<>(rows.size());
        for (int i = 0; i < rows.size(); i++) {
            JsonElement row = rows.get(i);
            if (isSentinel(row)) {
                continue;
            }
            if (!row.isJsonObject()) {
                throw badRow(file, i, row);
            }
            JsonObject obj = row.getAsJsonObject();
            JsonElement text = obj.get("text");
            JsonElement label = obj.get("class");
            if (text == null
                    || !text.isJsonPrimitive()
                    || !text.getAsJsonPrimitive().isString()
                    || text.getAsString().isBlank()
                    || label == null
                    || !label.isJsonPrimitive()
                    || !label.getAsJsonPrimitive().isNumber()) {
                throw badRow(file, i, row);
            }
            double value = label.getAsDouble();
            if (value != 0.0 && value != 1.0) {
                throw badRow(file, i, row);
            }
            String id = String.format("%s-%04d", source, out.size() + 1);
            out.add(new Example(id, text.getAsString().strip(), (int) value, source));
        }
        return out;
    }

    private static boolean isSentinel(JsonElement row) {
        if (!row.isJsonObject()) {
            return false;
        }
        JsonObject obj = row.getAsJsonObject();
        JsonElement text = obj.get("text");
        JsonElement label = obj.get("class");
        return (label == null || label.isJsonNull())
                && text != null
                && text.isJsonPrimitive()
                && text.getAsString().isEmpty();
    }

    private static IllegalArgumentException badRow(Path file, int index, JsonElement row) {
        return new IllegalArgumentException(
                file
                        + " entry "
                        + index
                        + " must be {\"text\": non-empty string, \"class\": 0 or 1} but was "
                        + row
                        + ": re-run scripts/fetch-data.sh to restore the original file.");
    }

    /**
     * The stratified split described in the class comment.
     *
     * @param examples examples with unique ids
     * @param trainFraction share of each label that goes to the training set, in (0, 1)
     * @param seed the seed mixed into the ranking hash
     * @throws IllegalArgumentException for a fraction outside (0, 1) or a duplicate id
     */
    public static ExampleSplit split(List<Example> examples, double trainFraction, long seed) {
        checkFraction(trainFraction);
        Map<Integer, List<Example>> byLabel = new TreeMap<>();
        Set<String> ids = new HashSet<>();
        for (Example e : examples) {
            if (!ids.add(e.id())) {
                throw new IllegalArgumentException(
                        "split: duplicate id " + e.id() + "; ids must be unique.");
            }
            byLabel.computeIfAbsent(e.label(), k -> new ArrayList<>()).add(e);
        }
        Set<String> trainIds = new HashSet<>();
        for (List<Example> group : byLabel.values()) {
            List<Example> ranked = new ArrayList<>(group);
            Map<String, String> keys = new HashMap<>();
            for (Example e : ranked) {
                keys.put(e.id(), splitKey(e.id(), seed));
            }
            ranked.sort(
                    Comparator.comparing((Example e) -> keys.get(e.id()))
                            .thenComparing(Example::id));
            long take = trainCount(ranked.size(), trainFraction);
            for (int i = 0; i < take; i++) {
                trainIds.add(ranked.get(i).id());
            }
        }
        List<Example> train = new ArrayList<>();
        List<Example> test = new ArrayList<>();
        for (Example e : examples) {
            (trainIds.contains(e.id()) ? train : test).add(e);
        }
        return new ExampleSplit(train, test);
    }

    /**
     * The ranking key of an id: lower-case hex SHA-256 of the UTF-8 bytes of {@code id + ":" +
     * seed}; equal to Spark's {@code sha2(concat(id, ':' || seed), 256)}.
     */
    public static String splitKey(String id, long seed) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            byte[] digest = sha.digest((id + ":" + seed).getBytes(StandardCharsets.UTF_8));
            StringBuilder hex = new StringBuilder(digest.length * 2);
            for (byte b : digest) {
                hex.append(Character.forDigit((b >> 4) & 0xF, 16))
                        .append(Character.forDigit(b & 0xF, 16));
            }
            return hex.toString();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }

    /** Training rows taken from a label group of size {@code n}: round half up of n * f. */
    static long trainCount(long n, double trainFraction) {
        return (long) Math.floor(n * trainFraction + 0.5);
    }

    static void checkFraction(double trainFraction) {
        if (!(trainFraction > 0.0 && trainFraction < 1.0)) {
            throw new IllegalArgumentException(
                    "trainFraction must be in (0, 1) but was "
                            + trainFraction
                            + ": pass e.g. 0.8 for an 80/20 split.");
        }
    }
}
