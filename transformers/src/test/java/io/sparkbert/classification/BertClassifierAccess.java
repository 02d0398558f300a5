package io.sparkbert.classification;

import io.sparkbert.inference.ModelBytes;

/** Test access to a fitted model's in-memory weights (for driver-side reference inference). */
public final class BertClassifierAccess {
    private BertClassifierAccess() {}

    /** The config, weights and tokenizer a fitted model ships to executors. */
    public static ModelBytes bytes(BertClassificationModel model) {
        ClassifierPayload p = model.payload();
        return new ModelBytes(p.configJson, p.weights, p.tokenizerJson);
    }
}
