package io.sparkbert.bert.train;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.Device;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.sparkbert.bert.BertModel;
import io.sparkbert.bert.ClassifierHead;
import io.sparkbert.bert.Encoding;
import io.sparkbert.bert.HfTokenizer;
import io.sparkbert.bert.TokenizerOptions;
import io.sparkbert.testing.BertArrays;
import io.sparkbert.testing.Fixtures;
import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The trainer against the {@code finetune} trajectory of HF transformers + torch.optim.AdamW on the
 * tiny random BERT.
 */
class TrainerParityTest {
    static JsonObject finetune;
    static JsonObject eval;

    @BeforeAll
    static void load() throws IOException {
        JsonObject golden =
                JsonParser.parseString(Files.readString(Fixtures.tinyBert().resolve("golden.json")))
                        .getAsJsonObject();
        finetune = golden.getAsJsonObject("finetune");
        eval = golden.getAsJsonObject("eval");
    }

    static List<String> strings(JsonArray a) {
        List<String> out = new ArrayList<>();
        a.forEach(e -> out.add(e.getAsString()));
        return out;
    }

    /**
     * The fixture's settings: torch AdamW on every parameter, constant lr, no clipping, and HF's
     * plain fine-tuning of the checkpoint's head (no linear probe first).
     */
    static TrainingConfig fixtureConfig() {
        JsonArray betas = finetune.getAsJsonArray("betas");
        return TrainingConfig.builder()
                .epochs(finetune.get("epochs").getAsInt())
                .batchSize(finetune.get("batch_size").getAsInt())
                .learningRate(finetune.get("lr").getAsDouble())
                .betas(betas.get(0).getAsDouble(), betas.get(1).getAsDouble())
                .eps(finetune.get("eps").getAsDouble())
                .weightDecay(finetune.get("weight_decay").getAsDouble())
                .decayBiasAndNorm(true)
                .warmupRatio(0)
                .schedule(TrainingConfig.Schedule.CONSTANT)
                .maxGradNorm(0)
                .shuffle(false)
                .linearProbe(false)
                .logEverySteps(0)
                .build();
    }

    /** Trains tinybert as the fixture did; returns per-step losses and the eval logits after. */
    static double[][] run(float[][][] logitsOut) {
        List<String> texts = strings(finetune.getAsJsonArray("texts"));
        JsonArray y = finetune.getAsJsonArray("labels");
        int[] labels = new int[y.size()];
        for (int i = 0; i < labels.length; i++) {
            labels[i] = y.get(i).getAsInt();
        }
        TokenizerOptions padded =
                TokenizerOptions.defaults().withPadding(TokenizerOptions.Padding.LONGEST);
        try (HfTokenizer tok = HfTokenizer.fromDirectory(Fixtures.tinyBert(), padded);
                BertModel model = BertModel.load(Fixtures.tinyBert(), Device.cpu())) {
            // The fixture pads the whole training set to its longest text.
            Encoding[] enc = tok.encodeBatch(texts);
            Trainer trainer = new Trainer(fixtureConfig());
            TrainingSummary s =
                    trainer.train(
                            model,
                            ClassifierHead.POOLER,
                            new Trainer.Examples(Arrays.asList(enc), labels),
                            null);
            Encoding[] ev = tok.encodeBatch(strings(eval.getAsJsonArray("texts")));
            long[][] ids = new long[ev.length][];
            long[][] types = new long[ev.length][];
            long[][] mask = new long[ev.length][];
            for (int i = 0; i < ev.length; i++) {
                ids[i] = ev[i].inputIds();
                types[i] = ev[i].tokenTypeIds();
                mask[i] = ev[i].attentionMask();
            }
            logitsOut[0] = BertArrays.logits(model, ids, types, mask);
            return new double[][] {s.lossPerStep()};
        }
    }

    @Test
    void lossTrajectoryAndLogitsMatchTorchAdamW() {
        float[][][] logits = new float[1][][];
        double[] losses = run(logits)[0];
        JsonArray expected = finetune.getAsJsonArray("loss_per_step");
        assertEquals(expected.size(), losses.length, "number of steps");
        for (int i = 0; i < losses.length; i++) {
            assertEquals(expected.get(i).getAsDouble(), losses[i], 1e-4, "loss at step " + (i + 1));
        }
        JsonArray after = finetune.getAsJsonArray("eval_logits_after");
        for (int i = 0; i < after.size(); i++) {
            JsonArray row = after.get(i).getAsJsonArray();
            for (int j = 0; j < row.size(); j++) {
                assertEquals(
                        row.get(j).getAsDouble(),
                        logits[0][i][j],
                        1e-3,
                        "eval logit [" + i + "][" + j + "] after fine-tuning");
            }
        }
    }
}
