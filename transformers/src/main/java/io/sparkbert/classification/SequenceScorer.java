package io.sparkbert.classification;

import java.util.List;

/**
 * The one call the executor side of {@link BertClassificationModel} makes: logits for a batch of
 * texts. Implementations must be thread-safe (Spark runs several tasks per executor JVM).
 */
interface SequenceScorer {
    /**
     * Scores a batch.
     *
     * @param texts the texts, none null
     * @param pairs the second texts (same size), or null for single texts
     * @return one row of logits per text
     */
    float[][] logits(List<String> texts, List<String> pairs);
}
