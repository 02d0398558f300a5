package io.sparkbert.bert;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.util.Locale;

/**
 * How a sequence classifier turns the encoder's output into logits: the vector fed to the {@code
 * classifier} linear layer comes from the HF pooler ({@link #POOLER}, exactly {@code
 * BertForSequenceClassification}, the default), the [CLS] hidden state ({@link #CLS}) or the
 * mask-weighted mean of the token states ({@link #MEAN}, as sentence-transformers models are
 * trained). Only {@code POOLER} is a {@code BertForSequenceClassification} to HF; the other two are
 * exported as an HF {@code BertModel} plus the head in its own file ({@link
 * io.sparkbert.bert.HfExport}). Stateless and thread-safe.
 */
public enum ClassifierHead {
    /** tanh(dense(h[CLS])) then the classifier: HF {@code BertForSequenceClassification}. */
    POOLER,
    /** The last hidden state of [CLS] straight into the classifier. */
    CLS,
    /** The mean of the real tokens' last hidden states into the classifier. */
    MEAN;

    /**
     * The lower-case name used in params and config.json ({@code pooler}, {@code cls}, {@code
     * mean}).
     */
    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }

    /**
     * Parses {@code pooler}, {@code cls} or {@code mean}, case-insensitively.
     *
     * @throws IllegalArgumentException naming the allowed values
     */
    public static ClassifierHead parse(String name) {
        if (name != null) {
            for (ClassifierHead h : values()) {
                if (h.name().equalsIgnoreCase(name.trim())) {
                    return h;
                }
            }
        }
        throw new IllegalArgumentException(
                "Invalid pooling '" + name + "': must be one of [pooler, cls, mean].");
    }

    /**
     * The head a checkpoint gets when the user does not choose ({@code pooling=auto}): a
     * checkpoint's own trained head keeps the pooling it was trained with (recorded under
     * config.json's {@code sparkbert} key; {@link #POOLER} for a plain HF classifier); a new head
     * is {@link #POOLER}, HF {@code BertForSequenceClassification}, for every encoder, with a
     * freshly initialised pooler that then trains where the checkpoint has none (e.g. the built-in
     * MiniLM), as HF does. Chosen by accuracy against {@link #MEAN} (docs/lab-notes.md) and because
     * its export means the same to HF without extra code (docs/design.md).
     */
    public static ClassifierHead defaultFor(BertModel checkpoint) {
        if (checkpoint.hasClassifier() && checkpoint.config().headPooling() != null) {
            return parse(checkpoint.config().headPooling());
        }
        return POOLER;
    }

    /** Whether the pooler weights take part in the logits. */
    public boolean usesPooler() {
        return this == POOLER;
    }

    /**
     * The logits of a batch. All arrays are created in {@code scope}.
     *
     * @param model a model with a classification head
     * @param scope the manager that receives results and intermediates
     * @param inputIds [batch, seq]
     * @param tokenTypeIds [batch, seq] or null
     * @param attentionMask [batch, seq] or null
     * @param training whether dropout is active
     * @return [batch, numLabels]
     */
    public NDArray logits(
            BertModel model,
            NDManager scope,
            NDArray inputIds,
            NDArray tokenTypeIds,
            NDArray attentionMask,
            boolean training) {
        if (!model.hasClassifier()) {
            throw new IllegalStateException(
                    "the model has no classification head: create one with"
                            + " withFreshClassifier(numLabels, seed)");
        }
        if (this == POOLER) {
            NDArray logits =
                    model.forward(scope, inputIds, tokenTypeIds, attentionMask, training).logits();
            if (logits == null) {
                throw new IllegalStateException(
                        "pooling 'pooler' needs pooler weights, which this model does not have:"
                                + " its head was trained with pooling 'mean' or 'cls'.");
            }
            return logits;
        }
        return model.classify(
                features(model, scope, inputIds, tokenTypeIds, attentionMask, training), training);
    }

    /**
     * The vectors this head feeds to the classifier's linear layer (before its dropout): the pooler
     * output, the [CLS] state or the masked mean of the token states. All arrays are created in
     * {@code scope}.
     *
     * @param model the encoder (a classification head is not needed)
     * @param scope the manager that receives results and intermediates
     * @param inputIds [batch, seq]
     * @param tokenTypeIds [batch, seq] or null
     * @param attentionMask [batch, seq] or null
     * @param training whether dropout is active in the encoder
     * @return [batch, hidden]
     * @throws IllegalStateException for {@link #POOLER} on a model without pooler weights
     */
    public NDArray features(
            BertModel model,
            NDManager scope,
            NDArray inputIds,
            NDArray tokenTypeIds,
            NDArray attentionMask,
            boolean training) {
        BertOutputs out = model.forward(scope, inputIds, tokenTypeIds, attentionMask, training);
        if (this == POOLER && out.pooledOutput() == null) {
            throw new IllegalStateException(
                    "pooling 'pooler' needs pooler weights, which this checkpoint does not have:"
                            + " use pooling 'mean' or 'cls'.");
        }
        if (this == POOLER) {
            return out.pooledOutput();
        }
        return BertModel.sentenceVectors(
                out.lastHiddenState(), attentionMask, this == CLS ? Pooling.CLS : Pooling.MEAN);
    }
}
