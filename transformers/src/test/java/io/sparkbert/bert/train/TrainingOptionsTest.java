package io.sparkbert.bert.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import ai.djl.Device;
import io.sparkbert.bert.BertModel;
import io.sparkbert.bert.ClassifierHead;
import io.sparkbert.bert.HfTokenizer;
import io.sparkbert.bert.TokenizerOptions;
import io.sparkbert.testing.Fixtures;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Training options beyond the HF defaults: the frozen word embedding table. */
class TrainingOptionsTest {

    /** Frozen, the word embedding table comes out bit-identical while everything else trains. */
    @Test
    void frozenWordEmbeddingsKeepTheirPretrainedValues() {
        Map<String, float[]> before;
        try (BertModel m = TrainerTest.tinyWithDropout()) {
            before = TrainerTest.weights(m);
        }
        TrainerTest.Result frozen =
                trainTiny(TrainerTest.small().freezeWordEmbeddings(true).build(), true);
        TrainerTest.Result plain = trainTiny(TrainerTest.small().build(), true);
        String table = Trainer.WORD_EMBEDDINGS;
        assertArrayEquals(before.get(table), frozen.weights().get(table));
        assertFalse(
                Arrays.equals(before.get(table), plain.weights().get(table)),
                "without the option the table trains");
        for (String k :
                List.of(
                        "embeddings.position_embeddings.weight",
                        "embeddings.LayerNorm.weight",
                        "encoder.layer.0.attention.self.query.weight",
                        "classifier.weight")) {
            assertFalse(Arrays.equals(before.get(k), frozen.weights().get(k)), k + " trains");
        }
        assertFalse(
                Arrays.equals(plain.summary().lossPerStep(), frozen.summary().lossPerStep()),
                "freezing changes the trajectory");
    }

    private static TrainerTest.Result trainTiny(TrainingConfig cfg, boolean dropout) {
        try (HfTokenizer tok =
                        HfTokenizer.fromDirectory(
                                Fixtures.tinyBert(), TokenizerOptions.defaults());
                BertModel m =
                        dropout
                                ? TrainerTest.tinyWithDropout()
                                : BertModel.load(Fixtures.tinyBert(), Device.cpu())) {
            Trainer t = new Trainer(cfg);
            TrainingSummary s =
                    t.train(
                            m,
                            ClassifierHead.MEAN,
                            t.encode(tok, TrainerTest.TEXTS, null, TrainerTest.LABELS),
                            null);
            return new TrainerTest.Result(s, TrainerTest.weights(m));
        }
    }
}
