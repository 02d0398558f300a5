package io.sparkbert.bert;

import ai.djl.ndarray.NDArray;

/**
 * The result of one {@link BertModel#forward} call. All arrays belong to the scope the caller
 * passed to {@code forward}, which closes them.
 *
 * @param lastHiddenState [batch, seq, hidden]
 * @param pooledOutput [batch, hidden] = tanh(dense(h[:, 0])), or null when the model has no pooler
 * @param logits [batch, numLabels], or null when the model has no classification head
 */
public record BertOutputs(NDArray lastHiddenState, NDArray pooledOutput, NDArray logits) {}
