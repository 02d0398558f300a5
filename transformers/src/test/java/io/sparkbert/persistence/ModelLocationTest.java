package io.sparkbert.persistence;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkbert.testing.Fixtures;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelLocationTest {
    @Test
    void defaultAndLocalForms() {
        assertEquals(ModelLocation.DEFAULT, ModelLocation.of("default").value());
        assertEquals(ModelLocation.DEFAULT, ModelLocation.of(" DEFAULT ").value());
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
    void remoteCopyIsReusedUntilTheSourceChanges(@TempDir Path tmp) throws Exception {
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
        // Unchanged: the same copy.
        assertEquals(copy, ModelLocation.copyToCache(fs, hsrc, root, "hdfs://nn/model"));

        // Rewritten in place (another length and time): a fresh copy with the new contents.
        Files.writeString(src.resolve("vocab.txt"), "[PAD]\n[UNK]\n[CLS]\n");
        Path fresh = ModelLocation.copyToCache(fs, hsrc, root, "hdfs://nn/model");
        assertNotEquals(copy, fresh);
        assertEquals("[PAD]\n[UNK]\n[CLS]\n", Files.readString(fresh.resolve("vocab.txt")));
        // Same length, later modification time: also a change.
        Files.writeString(src.resolve("sub/x.bin"), "456");
        Files.setLastModifiedTime(
                src.resolve("sub/x.bin"),
                java.nio.file.attribute.FileTime.fromMillis(
                        Files.getLastModifiedTime(src.resolve("sub/x.bin")).toMillis() + 5000));
        Path third = ModelLocation.copyToCache(fs, hsrc, root, "hdfs://nn/model");
        assertNotEquals(fresh, third);
        assertEquals("456", Files.readString(third.resolve("sub/x.bin")));
        assertEquals(third, ModelLocation.copyToCache(fs, hsrc, root, "hdfs://nn/model"));
        try (var entries = Files.list(root)) {
            // no staging folders left behind; stale copies stay for their grace period
            assertEquals(3, entries.count());
        }
        // Once past the grace period, the stale copies go when the next change is copied.
        for (Path old : List.of(copy, fresh)) {
            Files.setLastModifiedTime(
                    old.resolve(".sparkbert-complete"),
                    java.nio.file.attribute.FileTime.fromMillis(
                            System.currentTimeMillis() - ModelLocation.STALE_GRACE_MILLIS - 1000));
        }
        Files.writeString(src.resolve("sub/x.bin"), "7890");
        Path fourth = ModelLocation.copyToCache(fs, hsrc, root, "hdfs://nn/model");
        try (var entries = Files.list(root)) {
            assertEquals(
                    java.util.Set.of(third.getFileName(), fourth.getFileName()),
                    entries.map(Path::getFileName).collect(java.util.stream.Collectors.toSet()));
        }
        assertEquals(
                ModelLocation.of(src.toString()).fingerprint(new Configuration()),
                ModelLocation.of(src.toUri().toString()).fingerprint(new Configuration()),
                "a path and its file: URI list the same files");

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
