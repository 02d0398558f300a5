package io.sparkbert.bert.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import io.sparkbert.bert.BertModel;
import io.sparkbert.bert.BuiltInModel;
import io.sparkbert.bert.ClassifierHead;
import io.sparkbert.bert.HfTokenizer;
import io.sparkbert.bert.TokenizerOptions;
import io.sparkbert.testing.BertArrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The seed notebook's example: fine-tune the built-in MiniLM on four labelled sentences. The loss
 * must fall and the model must then classify its four training sentences correctly.
 */
class FourSentenceExampleTest {
    static final List<String> TEXTS =
            List.of(
                    "This movie is fantastic!",
                    "Terrible film, waste of time.",
                    "Amazing plot and great acting.",
                    "Boring and predictable.");
    static final int[] LABELS = {1, 0, 1, 0};

    @Test
    void defaultModelLearnsTheFourSentences() {
        TrainingConfig cfg =
                TrainingConfig.builder()
                        .epochs(8)
                        .batchSize(4)
                        .learningRate(1e-4)
                        .warmupRatio(0)
                        .schedule(TrainingConfig.Schedule.CONSTANT)
                        .logEverySteps(0)
                        .seed(42)
                        .build();
        try (HfTokenizer tok =
                        HfTokenizer.builtIn(
                                BuiltInModel.MINILM_L6_V2, TokenizerOptions.defaults());
                BertModel base = BertModel.builtIn(BuiltInModel.MINILM_L6_V2, Device.cpu());
                BertModel model = base.withFreshClassifier(2, cfg.seed())) {
            Trainer trainer = new Trainer(cfg);
            Trainer.Examples ex = trainer.encode(tok, TEXTS, null, LABELS);
            TrainingSummary s = trainer.train(model, ClassifierHead.MEAN, ex, null);
            double[] loss = s.lossPerStep();
            assertEquals(8, loss.length);
            assertTrue(
                    loss[loss.length - 1] < 0.5 * loss[0],
                    "loss should at least halve: " + java.util.Arrays.toString(loss));
            float[][] logits = BertArrays.logits(ClassifierHead.MEAN, model, ex.encodings());
            for (int i = 0; i < LABELS.length; i++) {
                int pred = logits[i][1] > logits[i][0] ? 1 : 0;
                assertEquals(LABELS[i], pred, "prediction for '" + TEXTS.get(i) + "'");
            }
        }
    }
}
