package io.sparkbert.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkbert.testing.SparkTestSession;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Label handling: class indices as they are, names through a checkpoint's id2label or sorted. */
class LabelsTest {
    private static final Configuration CONF = new Configuration();

    private final SparkSession spark = SparkTestSession.get();

    private Dataset<Row> strings() {
        return spark.createDataset(List.of("pos", "neg", "neutral", "pos"), Encoders.STRING())
                .toDF("y");
    }

    private static List<Double> indices(Dataset<Row> df, Labels l) {
        return df.select(l.index()).as(Encoders.DOUBLE()).collectAsList();
    }

    @Test
    void stringLabelsAreSortedWithoutCheckpointNames() {
        Labels l = Labels.forTraining(strings(), "y", Optional.empty());
        assertEquals(List.of("neg", "neutral", "pos"), l.names());
        assertEquals(List.of(2.0, 0.0, 1.0, 2.0), indices(strings(), l));
    }

    @Test
    void stringLabelsFollowTheCheckpointsId2label() {
        Labels l =
                Labels.forTraining(strings(), "y", Optional.of(List.of("pos", "neutral", "neg")));
        assertEquals(List.of("pos", "neutral", "neg"), l.names());
        assertEquals(List.of(0.0, 2.0, 1.0, 0.0), indices(strings(), l));
        IllegalArgumentException e =
                assertThrows(
                        IllegalArgumentException.class,
                        () ->
                                Labels.forTraining(
                                        strings(), "y", Optional.of(List.of("pos", "neg"))));
        assertTrue(e.getMessage().contains("[neutral]"), e.getMessage());
    }

    @Test
    void numericLabelsAreIndicesAsTheyAre() {
        Dataset<Row> df = spark.createDataset(List.of(2, 0, 1, 2), Encoders.INT()).toDF("y");
        Labels l = Labels.forTraining(df, "y", Optional.empty());
        assertEquals(List.of("0", "1", "2"), l.names());
        assertEquals(List.of(2.0, 0.0, 1.0, 2.0), indices(df, l));
        Labels named = Labels.forTraining(df, "y", Optional.of(List.of("a", "b", "c")));
        assertEquals(List.of("a", "b", "c"), named.names());
        IllegalArgumentException e =
                assertThrows(
                        IllegalArgumentException.class,
                        () -> Labels.forModel(df, "y", List.of("a", "b")));
        assertTrue(e.getMessage().contains("of the model (0..1)"), e.getMessage());
        Dataset<Row> withNull =
                spark.sql("SELECT * FROM VALUES (1.0), (CAST(NULL AS DOUBLE)) AS t(y)");
        e =
                assertThrows(
                        IllegalArgumentException.class,
                        () -> Labels.forTraining(withNull, "y", Optional.empty()));
        assertTrue(e.getMessage().contains("1 null labels"), e.getMessage());
    }

    @Test
    void numericLabelsBeyondTheClassLimitAreRefused() {
        Dataset<Row> df = spark.createDataset(List.of(0, 1, 3_000_000), Encoders.INT()).toDF("y");
        IllegalArgumentException e =
                assertThrows(
                        IllegalArgumentException.class,
                        () -> Labels.forTraining(df, "y", Optional.empty()));
        assertTrue(e.getMessage().contains("3000000"), e.getMessage());
        assertTrue(e.getMessage().contains("0 to 9999"), e.getMessage());
        Dataset<Row> atLimit = spark.createDataset(List.of(0, 9_999), Encoders.INT()).toDF("y");
        assertEquals(10_000, Labels.forTraining(atLimit, "y", Optional.empty()).names().size());
    }

    /**
     * A model.safetensors holding one 1-float tensor per name: only its header matters to {@link
     * BertBackend#checkpointLabels}.
     */
    static void weights(Path dir, String... names) throws Exception {
        StringBuilder header = new StringBuilder("{");
        for (int i = 0; i < names.length; i++) {
            header.append(i == 0 ? "" : ",")
                    .append('"')
                    .append(names[i])
                    .append("\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[")
                    .append(4 * i)
                    .append(',')
                    .append(4 * i + 4)
                    .append("]}");
        }
        byte[] json = header.append('}').toString().getBytes(StandardCharsets.UTF_8);
        ByteBuffer file =
                ByteBuffer.allocate(8 + json.length + 4 * names.length)
                        .order(ByteOrder.LITTLE_ENDIAN);
        file.putLong(json.length).put(json);
        Files.write(dir.resolve("model.safetensors"), file.array());
    }

    @Test
    void checkpointId2labelIsReadFromConfigJson(@TempDir Path tmp) throws Exception {
        Files.writeString(
                tmp.resolve("config.json"),
                "{\"model_type\":\"bert\",\"id2label\":{\"1\":\"pos\",\"0\":\"neg\"}}");
        // A trained head's class names constrain the labels...
        weights(tmp, "pooler.dense.weight", "classifier.weight", "classifier.bias");
        assertEquals(
                Optional.of(List.of("neg", "pos")),
                new BertBackend().checkpointLabels(tmp.toString(), CONF));
        // ...also when the checkpoint is named by a URI (read through Hadoop's file system)...
        assertEquals(
                Optional.of(List.of("neg", "pos")),
                new BertBackend().checkpointLabels(tmp.toUri().toString(), CONF));
        // ...those of an encoder without a head do not (HF writes LABEL_0/LABEL_1 regardless).
        weights(tmp, "pooler.dense.weight");
        assertEquals(Optional.empty(), new BertBackend().checkpointLabels(tmp.toString(), CONF));
        assertEquals(Optional.empty(), new BertBackend().checkpointLabels("default", CONF));
        // Unreadable weights are named as the --model they came from.
        Files.write(tmp.resolve("model.safetensors"), new byte[] {1, 2, 3});
        IllegalArgumentException e =
                assertThrows(
                        IllegalArgumentException.class,
                        () -> new BertBackend().checkpointLabels(tmp.toString(), CONF));
        assertTrue(e.getMessage().startsWith("--model: "), e.getMessage());
        assertTrue(e.getMessage().contains(tmp.toString()), e.getMessage());
    }
}
