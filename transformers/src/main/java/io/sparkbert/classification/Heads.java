package io.sparkbert.classification;

import io.sparkbert.bert.BertModel;
import io.sparkbert.bert.ProblemType;
import io.sparkbert.bert.train.TrainingConfig;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.apache.spark.sql.types.StructField;

/**
 * The classification head {@link BertClassifier} trains: a checkpoint's own head (its class count
 * bounding the labels) or a fresh one sized by the label column's metadata or the largest label,
 * named by the metadata's class names. Stateless and thread-safe.
 */
final class Heads {
    private Heads() {}

    static int numClasses(
            BertModel base, StructField labelField, String labelCol, int maxLabel, String stage) {
        if (base.hasClassifier()) {
            int k = base.numLabels();
            if (maxLabel >= k) {
                throw ColumnException.label(
                        stage,
                        labelCol,
                        String.format(
                                Locale.ROOT,
                                " has label %d but the checkpoint's classification head has %d"
                                        + " classes (0..%d); use a checkpoint without a head or"
                                        + " with enough labels.",
                                maxLabel,
                                k,
                                k - 1));
            }
            return k;
        }
        int fromMeta = SharedParams.numClassesFromMetadata(labelField);
        if (fromMeta > 0 && maxLabel >= fromMeta) {
            throw ColumnException.label(
                    stage,
                    labelCol,
                    String.format(
                            Locale.ROOT,
                            " has label %d but its metadata declares %d classes.",
                            maxLabel,
                            fromMeta));
        }
        int k = fromMeta > 0 ? fromMeta : maxLabel + 1;
        if (k < 2) {
            throw ColumnException.label(
                    stage,
                    labelCol,
                    " holds a single class, so a new classification head cannot learn anything;"
                            + " fit on data with at least two classes.");
        }
        return k;
    }

    /**
     * The model to train: {@code base} with its own head, or with a fresh head of {@code k} classes
     * when it has none. Class names in the label column's metadata become the config's {@code
     * id2label}/{@code label2id} in both cases, so that whatever reads the saved config (this
     * model, SQL functions, HF {@code from_pretrained}) names the classes as training did.
     */
    static BertModel withHead(
            BertModel base,
            int k,
            StructField labelField,
            String labelCol,
            TrainingConfig config,
            String stage) {
        String[] names = SharedParams.classNamesFromMetadata(labelField);
        if (base.hasClassifier()) {
            // Fine-tune the checkpoint's own head, under the names training had.
            List<String> labels = base.config().labels();
            if (names != null) {
                labels = headLabels(names, labels, labelCol, stage);
            }
            return BertModel.fromBytes(
                    base.config().withLabels(labels), base.toSafetensorsBytes(), base.device());
        }
        if (names != null && names.length == k) {
            return base.withFreshClassifier(Arrays.asList(names), config.seed());
        }
        return base.withFreshClassifier(k, config.seed());
    }

    /**
     * The names of a checkpoint head's classes when the label column names {@code names}: those for
     * the first classes, the checkpoint's own for any class after them (a head may have more
     * classes than the training data names).
     */
    private static List<String> headLabels(
            String[] names, List<String> own, String labelCol, String stage) {
        if (names.length > own.size()) {
            throw ColumnException.label(
                    stage,
                    labelCol,
                    String.format(
                            Locale.ROOT,
                            " names %d classes %s in its metadata but the checkpoint's"
                                    + " classification head has %d; use a checkpoint without a"
                                    + " head or with enough labels.",
                            names.length,
                            Arrays.toString(names),
                            own.size()));
        }
        List<String> labels = new ArrayList<>(Arrays.asList(names));
        labels.addAll(own.subList(names.length, own.size()));
        if (new java.util.HashSet<>(labels).size() != labels.size()) {
            throw new ColumnException(
                    stage,
                    "the class names of ",
                    "label column",
                    labelCol,
                    "labelCol",
                    String.format(
                            Locale.ROOT,
                            " %s and the checkpoint's names for its other classes %s repeat a"
                                    + " name; name every class of the head in the column's"
                                    + " metadata.",
                            Arrays.toString(names),
                            own.subList(names.length, own.size())));
        }
        return labels;
    }

    /**
     * {@code model} with its config's {@code problem_type} single-label (when a checkpoint declared
     * another type and single-label was asked for); closes {@code model} when it makes a copy.
     */
    static BertModel singleLabel(BertModel model) {
        if (ProblemType.of(model.config()) == ProblemType.SINGLE_LABEL) {
            return model;
        }
        try (model) {
            return BertModel.fromBytes(
                    model.config().with("problem_type", ProblemType.SINGLE_LABEL.hfName()),
                    model.toSafetensorsBytes(),
                    model.device());
        }
    }

    /**
     * The model to train for a multi-label or regression problem: {@code base}'s own head, or a
     * fresh one, with {@code classes} as its id2label and {@code type} as its {@code problem_type}.
     */
    static BertModel withProblemHead(
            BertModel base, List<String> classes, ProblemType type, long seed) {
        BertModel withHead = base.hasClassifier() ? base : base.withFreshClassifier(classes, seed);
        try {
            return BertModel.fromBytes(
                    withHead.config().withLabels(classes).with("problem_type", type.hfName()),
                    withHead.toSafetensorsBytes(),
                    base.device());
        } finally {
            if (withHead != base) {
                withHead.close();
            }
        }
    }
}
