package io.sparkbert.bert;

import java.util.Locale;

/**
 * What a sequence-classification head predicts, as HF {@code BertForSequenceClassification}'s
 * {@code config.problem_type}: one class per text (softmax, cross-entropy), any set of classes per
 * text (a sigmoid per class, binary cross-entropy) or one number (mean squared error). The head's
 * outputs are logits in all three cases; only the loss and how outputs are read differ.
 */
public enum ProblemType {
    /** One class per text: softmax over the logits, {@code CrossEntropyLoss}. */
    SINGLE_LABEL("single_label", "single_label_classification"),
    /** Any set of classes per text: a sigmoid per logit, {@code BCEWithLogitsLoss}. */
    MULTI_LABEL("multi_label", "multi_label_classification"),
    /** One number per text: the single logit is the value, {@code MSELoss}. */
    REGRESSION("regression", "regression");

    private final String id;
    private final String hfName;

    ProblemType(String id, String hfName) {
        this.id = id;
        this.hfName = hfName;
    }

    /** The spark-bert name: {@code single_label}, {@code multi_label} or {@code regression}. */
    public String id() {
        return id;
    }

    /** The value of HF's {@code problem_type} in config.json. */
    public String hfName() {
        return hfName;
    }

    /**
     * Parses a spark-bert name or an HF {@code problem_type} value, case-insensitively.
     *
     * @throws IllegalArgumentException naming the allowed values
     */
    public static ProblemType parse(String name) {
        if (name != null) {
            String n = name.trim().toLowerCase(Locale.ROOT);
            for (ProblemType t : values()) {
                if (t.id.equals(n) || t.hfName.equals(n)) {
                    return t;
                }
            }
        }
        throw new IllegalArgumentException(
                "Unknown problem type '"
                        + name
                        + "': must be one of single_label, multi_label, regression (or HF's"
                        + " single_label_classification, multi_label_classification).");
    }

    /**
     * The problem type a checkpoint's config declares, read as HF reads it: {@code problem_type}
     * when set; otherwise a head with one output is a regression (HF's {@code num_labels == 1}
     * rule); otherwise unknown (HF decides from the label tensor's type, which a config cannot
     * tell).
     *
     * @param config a config
     * @param hasHead whether the checkpoint has a classification head
     * @return the declared type, or null when the config does not say
     * @throws IllegalArgumentException when {@code problem_type} holds an unknown value
     */
    public static ProblemType declaredBy(BertConfig config, boolean hasHead) {
        if (config.problemType() != null) {
            try {
                return parse(config.problemType());
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(
                        config.source()
                                + ": config.json has problem_type '"
                                + config.problemType()
                                + "', which HF does not know: use"
                                + " single_label_classification, multi_label_classification or"
                                + " regression.",
                        e);
            }
        }
        return hasHead && config.numLabels() == 1 ? REGRESSION : null;
    }

    /**
     * The problem type a model with a trained head scores as: what its config declares, else
     * single-label classification (what spark-bert did before problem types existed).
     */
    public static ProblemType of(BertConfig config) {
        ProblemType t = declaredBy(config, true);
        return t == null ? SINGLE_LABEL : t;
    }
}
