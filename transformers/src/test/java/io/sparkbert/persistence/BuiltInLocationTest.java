package io.sparkbert.persistence;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkbert.bert.BuiltInModel;
import io.sparkbert.inference.ModelSource;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;

/** Built-in names as {@code model} values: canonical spelling, no directory, default unchanged. */
class BuiltInLocationTest {

    @Test
    void builtInNamesAreNotPaths() {
        ModelLocation bge = ModelLocation.of(" BGE-Small-EN-v1.5 ");
        assertEquals("bge-small-en-v1.5", bge.value());
        assertEquals(BuiltInModel.BGE_SMALL_EN_V15, bge.builtIn());
        assertNotEquals(ModelLocation.DEFAULT, bge.value());
        assertFalse(bge.isLocal());
        IllegalStateException e =
                assertThrows(
                        IllegalStateException.class,
                        () -> bge.toLocalDirectory(new Configuration()));
        assertTrue(e.getMessage().contains("bge-small-en-v1.5"), e.getMessage());

        ModelLocation def = ModelLocation.of("Default");
        assertEquals(ModelLocation.DEFAULT, def.value());
        assertEquals(BuiltInModel.E5_SMALL_V2, def.builtIn());
        assertEquals(BuiltInModel.MINILM_L6_V2, ModelLocation.of("minilm-l6-v2").builtIn());

        assertNull(ModelLocation.of("./e5-small-v2").builtIn());
        assertNull(ModelLocation.of("hdfs://nn/models/e5-small-v2").builtIn());
        assertEquals(BuiltInModel.E5_SMALL_V2, ModelSource.location("e5-small-v2").builtIn());
        assertNull(ModelSource.location("/models/bert").builtIn());
    }

    /** A built-in's version for the executors' cache is its name: no file system is asked. */
    @Test
    void builtInsAreFingerprintedByNameWithoutAListing() {
        Configuration conf = new Configuration();
        assertEquals("builtin:e5-small-v2", ModelLocation.of("default").fingerprint(conf));
        assertEquals("builtin:e5-small-v2", ModelLocation.of("e5-small-v2").fingerprint(conf));
        assertEquals("builtin:minilm-l6-v2", ModelLocation.of("MiniLM-L6-v2").fingerprint(conf));
        assertEquals(
                "builtin:bge-small-en-v1.5",
                ModelLocation.of("bge-small-en-v1.5").fingerprint(conf));
        IllegalArgumentException e =
                assertThrows(
                        IllegalArgumentException.class,
                        () -> ModelLocation.of("./minilm-l6-v2").fingerprint(conf));
        assertTrue(e.getMessage().contains("does not exist"), e.getMessage());
    }
}
