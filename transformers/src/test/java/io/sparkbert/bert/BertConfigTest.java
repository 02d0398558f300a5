package io.sparkbert.bert;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkbert.testing.Fixtures;
import java.util.List;
import org.junit.jupiter.api.Test;

class BertConfigTest {
    static final String TINY =
            "{\"hidden_size\": 32, \"num_hidden_layers\": 2, \"num_attention_heads\": 4,"
                    + " \"intermediate_size\": 64, \"max_position_embeddings\": 128,"
                    + " \"vocab_size\": 100, \"hidden_act\": \"gelu\", \"custom_key\": [1, 2]";

    static BertConfig parse(String extra) {
        return BertConfig.parse(TINY + extra + "}", "test.json");
    }

    @Test
    void readsTheTinyFixture() {
        BertConfig c = BertConfig.load(Fixtures.tinyBert().resolve("config.json"));
        assertEquals(32, c.hiddenSize());
        assertEquals(2, c.numHiddenLayers());
        assertEquals(4, c.numAttentionHeads());
        assertEquals(8, c.headSize());
        assertEquals(64, c.intermediateSize());
        assertEquals(128, c.maxPositionEmbeddings());
        assertEquals(2, c.typeVocabSize());
        assertEquals(30522, c.vocabSize());
        assertEquals(1e-12, c.layerNormEps());
        assertEquals(0.0, c.hiddenDropoutProb());
        assertEquals(0.0, c.classifierDropout(), "null classifier_dropout -> hidden_dropout_prob");
        assertEquals(0.1, c.initializerRange());
        assertEquals(List.of("LABEL_0", "LABEL_1"), c.labels());
        assertNull(c.problemType());
    }

    @Test
    void defaultsAndLabels() {
        BertConfig c = parse(", \"classifier_dropout\": 0.3, \"num_labels\": 3");
        assertEquals(0.1, c.hiddenDropoutProb());
        assertEquals(0.3, c.classifierDropout());
        assertEquals(List.of("LABEL_0", "LABEL_1", "LABEL_2"), c.labels());
        BertConfig named =
                parse(
                        ", \"id2label\": {\"1\": \"pos\", \"0\": \"neg\"}, \"problem_type\":"
                                + " \"single_label_classification\"");
        assertEquals(List.of("neg", "pos"), named.labels());
        assertEquals("single_label_classification", named.problemType());
    }

    @Test
    void toJsonKeepsUnknownKeysAndWritesStringLabelKeys() {
        BertConfig c = parse("").withLabels(List.of("neg", "pos"));
        String json = c.toJson();
        assertTrue(json.contains("\"custom_key\": [\n    1,\n    2\n  ]"), json);
        assertTrue(json.contains("\"model_type\": \"bert\""), json);
        assertTrue(json.contains("\"BertForSequenceClassification\""), json);
        assertTrue(json.contains("\"1\": \"pos\""), json);
        assertTrue(json.contains("\"neg\": 0"), json);
        BertConfig again = BertConfig.parse(json, "again");
        assertEquals(c.labels(), again.labels());
        assertEquals(json, again.toJson());
    }

    @Test
    void refusesWhatTheEngineCannotCompute() {
        String msg =
                assertThrows(
                                IllegalArgumentException.class,
                                () ->
                                        BertConfig.parse(
                                                TINY.replace("\"gelu\"", "\"gelu_new\"") + "}",
                                                "cfg.json"))
                        .getMessage();
        assertTrue(msg.contains("hidden_act=gelu_new") && msg.contains("cfg.json"), msg);
        assertThrows(
                IllegalArgumentException.class,
                () -> BertConfig.parse(TINY.replace("\"gelu\"", "\"relu\"") + "}", "cfg.json"));
        msg =
                assertThrows(
                                IllegalArgumentException.class,
                                () -> parse(", \"position_embedding_type\": \"relative_key\""))
                        .getMessage();
        assertTrue(msg.contains("position_embedding_type=relative_key"), msg);
        msg =
                assertThrows(IllegalArgumentException.class, () -> parse(", \"is_decoder\": true"))
                        .getMessage();
        assertTrue(msg.contains("is_decoder"), msg);
        msg =
                assertThrows(
                                IllegalArgumentException.class,
                                () ->
                                        BertConfig.parse(
                                                TINY.replace(
                                                                "\"num_attention_heads\": 4",
                                                                "\"num_attention_heads\": 5")
                                                        + "}",
                                                "x"))
                        .getMessage();
        assertTrue(msg.contains("hidden_size=32"), msg);
        assertThrows(IllegalArgumentException.class, () -> BertConfig.parse("[1]", "x"));
        assertThrows(IllegalArgumentException.class, () -> BertConfig.parse("{", "x"));
        msg =
                assertThrows(
                                IllegalArgumentException.class,
                                () ->
                                        parse(
                                                ", \"num_labels\": 3, \"id2label\": {\"0\": \"a\", \"1\": \"b\"}"))
                        .getMessage();
        assertTrue(msg.contains("num_labels=3"), msg);
    }
}
