package io.sparkbert.persistence;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkbert.testing.Fixtures;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelLocationTest {
    @Test
    void defaultAndLocalForms() {
        assertTrue(ModelLocation.of("default").isDefault());
        assertTrue(ModelLocation.of(" DEFAULT ").isDefault());
        Path tiny = Fixtures.tinyBert().toAbsolutePath().normalize();
        ModelLocation plain = ModelLocation.of(tiny.toString());
        assertTrue(plain.isLocal());
        assertEquals(tiny, plain.toLocalDirectory(new Configuration()));
        ModelLocation uri = ModelLocation.of(tiny.toUri().toString());
        assertTrue(uri.isLocal());
        assertEquals(tiny, uri.localPath());
        assertFalse(ModelLocation.of("hdfs://nn:8020/models/x").isLocal());
        assertThrows(IllegalStateException.class, () -> ModelLocation.of("default").localPath());
    }

    @Test
    void missingLocationsAreNamed() {
        IllegalArgumentException e =
                assertThrows(
                        IllegalArgumentException.class,
                        () -> ModelLocation.of("/no/such/dir").localPath());
        assertTrue(e.getMessage().contains("/no/such/dir"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> ModelLocation.of(""));
        assertThrows(IllegalArgumentException.class, () -> ModelLocation.of(null));
        assertThrows(IllegalArgumentException.class, () -> ModelLocation.of("hdfs://bad host/x"));
    }

    @Test
    void remoteCopyIsMadeOnceAndReused(@TempDir Path tmp) throws Exception {
        Path src = Files.createDirectory(tmp.resolve("model"));
        Files.writeString(src.resolve("vocab.txt"), "[PAD]\n[UNK]\n");
        Files.createDirectory(src.resolve("sub"));
        Files.writeString(src.resolve("sub/x.bin"), "123");
        FileSystem fs = FileSystem.getLocal(new Configuration());
        Path root = tmp.resolve("cache");
        org.apache.hadoop.fs.Path hsrc = new org.apache.hadoop.fs.Path(src.toUri());
        Path copy = ModelLocation.copyToCache(fs, hsrc, root, "hdfs://nn/model");
        assertEquals("[PAD]\n[UNK]\n", Files.readString(copy.resolve("vocab.txt")));
        assertEquals("123", Files.readString(copy.resolve("sub/x.bin")));
        // A second call reuses the copy even when the source changed.
        Files.writeString(src.resolve("vocab.txt"), "changed");
        assertEquals(copy, ModelLocation.copyToCache(fs, hsrc, root, "hdfs://nn/model"));
        assertEquals("[PAD]\n[UNK]\n", Files.readString(copy.resolve("vocab.txt")));
        try (var entries = Files.list(root)) {
            assertEquals(1, entries.count()); // no staging folders left behind
        }

        IllegalArgumentException e =
                assertThrows(
                        IllegalArgumentException.class,
                        () ->
                                ModelLocation.copyToCache(
                                        fs,
                                        new org.apache.hadoop.fs.Path(tmp.resolve("gone").toUri()),
                                        root,
                                        "hdfs://nn/gone"));
        assertTrue(e.getMessage().contains("hdfs://nn/gone"), e.getMessage());
    }
}
