package io.sparkbert.testing;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;

/**
 * Locates the HuggingFace reference data kept in the repository under {@code
 * transformers/src/test/resources/hf-reference} (see the README there for how it was made).
 *
 * <p>The build passes the folder as the system property {@code sparkbert.fixtures}; a test started
 * some other way (an IDE, a module directory) finds it by walking up from the working directory.
 */
public final class Fixtures {
    private static final Path IN_REPO = Paths.get("transformers/src/test/resources/hf-reference");

    private Fixtures() {}

    /** The reference data folder; fails loudly when it is missing. */
    public static Path root() {
        String configured = System.getProperty("sparkbert.fixtures");
        if (configured != null) {
            return existing(Paths.get(configured));
        }
        for (Path dir = Paths.get(System.getProperty("user.dir")).toAbsolutePath();
                dir != null;
                dir = dir.getParent()) {
            if (Files.isDirectory(dir.resolve(IN_REPO))) {
                return dir.resolve(IN_REPO);
            }
        }
        throw new IllegalStateException(
                "Reference fixtures not found: no "
                        + IN_REPO
                        + " above "
                        + System.getProperty("user.dir")
                        + "; run the tests from inside the checkout (or set -Dsparkbert.fixtures=DIR).");
    }

    private static Path existing(Path dir) {
        if (!Files.isDirectory(dir)) {
            throw new IllegalStateException(
                    "Reference fixtures not found at "
                            + dir
                            + " (-Dsparkbert.fixtures); it should be the repository's "
                            + IN_REPO);
        }
        return dir.normalize();
    }

    /** The tiny random BERT checkpoint directory. */
    public static Path tinyBert() {
        return root().resolve("tinybert");
    }

    /**
     * A checkpoint in {@code dir} (made once) with tinybert's config, freshly initialised encoder
     * and pooler weights (seed 3) and no classification head, and tinybert's vocabulary: a starting
     * point on which a new head is trained.
     */
    public static Path headlessTinyBert(Path dir) throws java.io.IOException {
        if (!java.nio.file.Files.exists(dir)) {
            try (io.sparkbert.bert.BertModel m =
                            io.sparkbert.bert.BertModel.load(tinyBert(), ai.djl.Device.cpu());
                    io.sparkbert.bert.BertModel h =
                            io.sparkbert.bert.BertModel.initialize(
                                    m.config(), true, false, 3, ai.djl.Device.cpu())) {
                h.save(dir);
            }
            for (String f : new String[] {"vocab.txt", "tokenizer_config.json"}) {
                java.nio.file.Files.copy(tinyBert().resolve(f), dir.resolve(f));
            }
        }
        return dir;
    }

    /** The tokenizer golden cases file. */
    public static Path tokenizerGolden() {
        return root().resolve("tokenizer-golden.json");
    }
}
