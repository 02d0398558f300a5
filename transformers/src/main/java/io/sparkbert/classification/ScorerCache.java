package io.sparkbert.classification;

import ai.djl.Device;
import io.sparkbert.bert.BertConfig;
import io.sparkbert.bert.BertModel;
import io.sparkbert.bert.Devices;
import io.sparkbert.bert.Encoding;
import io.sparkbert.bert.HfTokenizer;
import io.sparkbert.bert.TokenizerOptions;
import io.sparkbert.bert.train.ClassifierHead;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One scorer per JVM for each (model id, device, maxLength): the model and tokenizer are loaded on
 * first use and kept for the life of the JVM. Thread-safe.
 */
final class ScorerCache {
    private static final Map<String, SequenceScorer> CACHE = new ConcurrentHashMap<>();
    private static final AtomicInteger LOADS = new AtomicInteger();

    private ScorerCache() {}

    static SequenceScorer get(ClassifierPayload payload, String device, int maxLength) {
        String key = payload.modelId + "|" + device + "|" + maxLength;
        return CACHE.computeIfAbsent(key, k -> load(payload, device, maxLength));
    }

    /** How many times a model was loaded in this JVM (tests check the cache works). */
    static int loadCount() {
        return LOADS.get();
    }

    private static SequenceScorer load(ClassifierPayload p, String device, int maxLength) {
        LOADS.incrementAndGet();
        Device d = Devices.resolve(device);
        BertModel model =
                BertModel.fromBytes(
                        BertConfig.parse(p.configJson, "model " + p.modelId), p.weights, d);
        HfTokenizer tokenizer =
                HfTokenizer.fromJson(
                        p.tokenizerJson, TokenizerOptions.defaults().withMaxLength(maxLength));
        return new SimpleScorer(model, tokenizer, ClassifierHead.parse(p.pooling));
    }

    /** Tokenizes and runs one forward pass per call. Thread-safe (see BertModel, HfTokenizer). */
    private static final class SimpleScorer implements SequenceScorer {
        private final BertModel model;
        private final HfTokenizer tokenizer;
        private final ClassifierHead head;

        SimpleScorer(BertModel model, HfTokenizer tokenizer, ClassifierHead head) {
            this.model = model;
            this.tokenizer = tokenizer;
            this.head = head;
        }

        @Override
        public float[][] logits(List<String> texts, List<String> pairs) {
            Encoding[] enc =
                    pairs == null
                            ? tokenizer.encodeBatch(texts)
                            : tokenizer.encodeBatch(texts, pairs);
            return head.logits(model, Arrays.asList(enc));
        }
    }
}
