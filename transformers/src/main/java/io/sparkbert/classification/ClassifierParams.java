package io.sparkbert.classification;

import java.io.Serializable;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.spark.ml.param.DoubleArrayParam;
import org.apache.spark.ml.param.DoubleParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamValidators;
import org.apache.spark.ml.param.Params;

/**
 * The column, threshold and device params that {@link BertClassifier} and {@link
 * BertClassificationModel} share (the part MLlib writes as a {@code *Params} trait): accessors
 * named as the params, getters and setters, over params that the stage creates once in its
 * constructor as a {@link Declared}. Both stages thus carry the same names, docs, validators and
 * defaults, so Spark copies values between them by name.
 *
 * @param <S> the implementing stage, returned by the setters
 */
public interface ClassifierParams<S extends ClassifierParams<S>> extends Params {
    /** The params of this stage that this interface describes. */
    Declared classifierParams();

    /** Input text column. */
    default Param<String> textCol() {
        return classifierParams().textCol;
    }

    /** Optional second-text column ("" = single texts). */
    default Param<String> textPairCol() {
        return classifierParams().textPairCol;
    }

    /** Prediction output column. */
    default Param<String> predictionCol() {
        return classifierParams().predictionCol;
    }

    /** Probability output column. */
    default Param<String> probabilityCol() {
        return classifierParams().probabilityCol;
    }

    /** Logits output column. */
    default Param<String> rawPredictionCol() {
        return classifierParams().rawPredictionCol;
    }

    /** Per-class thresholds. */
    default DoubleArrayParam thresholds() {
        return classifierParams().thresholds;
    }

    /** Where training and scoring run: auto, cpu or gpu. */
    default Param<String> device() {
        return classifierParams().device;
    }

    /** Multi-label: the probability above which a class is predicted (default 0.5). */
    default DoubleParam threshold() {
        return classifierParams().threshold;
    }

    default String getTextCol() {
        return getOrDefault(textCol());
    }

    default String getTextPairCol() {
        return getOrDefault(textPairCol());
    }

    default String getPredictionCol() {
        return getOrDefault(predictionCol());
    }

    default String getProbabilityCol() {
        return getOrDefault(probabilityCol());
    }

    default String getRawPredictionCol() {
        return getOrDefault(rawPredictionCol());
    }

    default double[] getThresholds() {
        return getOrDefault(thresholds());
    }

    default String getDevice() {
        return getOrDefault(device());
    }

    default double getThreshold() {
        return (Double) getOrDefault(threshold());
    }

    default S setTextCol(String v) {
        return setShared(textCol(), v);
    }

    default S setTextPairCol(String v) {
        return setShared(textPairCol(), v);
    }

    default S setPredictionCol(String v) {
        return setShared(predictionCol(), v);
    }

    default S setProbabilityCol(String v) {
        return setShared(probabilityCol(), v);
    }

    default S setRawPredictionCol(String v) {
        return setShared(rawPredictionCol(), v);
    }

    default S setThresholds(double[] v) {
        return setShared(thresholds(), v);
    }

    default S setDevice(String v) {
        return setShared(device(), v);
    }

    default S setThreshold(double v) {
        return setShared(threshold(), v);
    }

    @SuppressWarnings("unchecked")
    private <T> S setShared(Param<T> p, T v) {
        set(p, v);
        return (S) this;
    }

    /**
     * The shared params of one stage, created for that owner so that their parent is its uid.
     * Serializable with the stage.
     */
    final class Declared implements Serializable {
        private static final long serialVersionUID = 1L;

        final Param<String> textCol;
        final Param<String> textPairCol;
        final Param<String> predictionCol;
        final Param<String> probabilityCol;
        final Param<String> rawPredictionCol;
        final DoubleArrayParam thresholds;
        final Param<String> device;
        final DoubleParam threshold;

        Declared(Params owner) {
            textCol =
                    new Param<>(
                            owner,
                            "textCol",
                            "input column of text (string) (default \"text\")",
                            SharedParams.nonBlank());
            textPairCol =
                    new Param<>(
                            owner,
                            "textPairCol",
                            "optional column with the second text of a sentence pair (string);"
                                    + " \"\" for single texts (default \"\")",
                            SharedParams.notNull());
            predictionCol =
                    new Param<>(
                            owner,
                            "predictionCol",
                            "output column of the predicted class index (double)"
                                    + " (default \"prediction\")",
                            SharedParams.nonBlank());
            probabilityCol =
                    new Param<>(
                            owner,
                            "probabilityCol",
                            "output column of class probabilities (Vector, softmax of the logits)"
                                    + " (default \"probability\")",
                            SharedParams.nonBlank());
            rawPredictionCol =
                    new Param<>(
                            owner,
                            "rawPredictionCol",
                            "output column of the logits (Vector) (default \"rawPrediction\")",
                            SharedParams.nonBlank());
            thresholds =
                    new DoubleArrayParam(
                            owner,
                            "thresholds",
                            "per-class thresholds: the prediction is the class with the largest"
                                    + " probability/threshold, as in MLlib (multi-label: every"
                                    + " class whose probability is above its threshold); >= 0, at"
                                    + " most one 0 (default: unset, plain argmax; multi-label:"
                                    + " threshold)",
                            SharedParams.validThresholds());
            device =
                    new Param<>(
                            owner,
                            "device",
                            "where training and scoring run: auto (a GPU when there is one), cpu"
                                    + " or gpu (default auto)",
                            ParamValidators.inArray(new String[] {"auto", "cpu", "gpu"}));
            threshold =
                    new DoubleParam(
                            owner,
                            "threshold",
                            "multi-label only: a class is predicted when its sigmoid probability is"
                                    + " above this; per-class values in thresholds override it; in"
                                    + " [0, 1] (default 0.5)",
                            ParamValidators.inRange(0, 1));
        }

        /** The defaults of these params (thresholds has none), for the stage's setDefault. */
        Map<Param<?>, Object> defaults() {
            Map<Param<?>, Object> d = new LinkedHashMap<>();
            d.put(textCol, "text");
            d.put(textPairCol, "");
            d.put(predictionCol, "prediction");
            d.put(probabilityCol, "probability");
            d.put(rawPredictionCol, "rawPrediction");
            d.put(device, "auto");
            d.put(threshold, 0.5);
            return d;
        }
    }
}
