package io.sparkbert.testing;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;

/**
 * Locates the HuggingFace reference fixtures that live beside the checkout in {@code ../shared}.
 */
public final class Fixtures {
    private Fixtures() {}

    /** The {@code shared/fixtures} folder; fails loudly when it is missing. */
    public static Path root() {
        String shared = System.getProperty("sparkbert.shared");
        Path base =
                shared != null
                        ? Paths.get(shared)
                        : Paths.get(System.getProperty("user.dir")).resolve("../../shared");
        Path fixtures = base.resolve("fixtures").normalize();
        if (!Files.isDirectory(fixtures)) {
            throw new IllegalStateException(
                    "Reference fixtures not found at "
                            + fixtures
                            + ": the tests expect ../shared beside the checkout"
                            + " (or -Dsparkbert.shared=DIR).");
        }
        return fixtures;
    }

    /** The tiny random BERT checkpoint directory. */
    public static Path tinyBert() {
        return root().resolve("tinybert");
    }

    /** The tokenizer golden cases file. */
    public static Path tokenizerGolden() {
        return root().resolve("tokenizer-golden.json");
    }
}
