package io.sparkbert.inference;

/**
 * The result for one document.
 *
 * @param values the sentence embedding, or the classifier logits (for a document split into
 *     windows: the mean over its windows)
 * @param probabilities softmax of the logits computed in double precision (mean over windows), or
 *     null for embeddings
 */
public record Score(float[] values, double[] probabilities) {}
