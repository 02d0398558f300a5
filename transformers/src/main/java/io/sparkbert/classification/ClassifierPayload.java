package io.sparkbert.classification;

import java.io.Serializable;

/**
 * Everything an executor needs to rebuild a fine-tuned classifier: HF config.json text (with the
 * {@code sparkbert} key), the safetensors weights, tokenizer.json text and the head's pooling. The
 * id names this exact set of weights (a cache key). Immutable once built; the arrays are not
 * copied, so callers must not modify them.
 */
final class ClassifierPayload implements Serializable {
    private static final long serialVersionUID = 1L;

    final String modelId;
    final String configJson;
    final byte[] weights;
    final String tokenizerJson;
    final String pooling;
    final int numClasses;

    ClassifierPayload(
            String modelId,
            String configJson,
            byte[] weights,
            String tokenizerJson,
            String pooling,
            int numClasses) {
        this.modelId = modelId;
        this.configJson = configJson;
        this.weights = weights;
        this.tokenizerJson = tokenizerJson;
        this.pooling = pooling;
        this.numClasses = numClasses;
    }
}
