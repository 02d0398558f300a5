package io.sparkbert.classification;

import static io.sparkbert.bert.train.TrainingOption.*;

import io.sparkbert.bert.train.TrainingOption;
import org.apache.spark.ml.param.BooleanParam;
import org.apache.spark.ml.param.DoubleArrayParam;
import org.apache.spark.ml.param.DoubleParam;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.LongParam;
import org.apache.spark.ml.param.Param;

/**
 * The fine-tuning params of a stage, one per non-expert {@link TrainingOption} (the part MLlib
 * would write as a {@code *Params} trait): typed accessors named as the option and setters, over
 * params that the implementing stage creates from the options with {@link OptionParams}, so that
 * name, doc, default and range come from the one definition.
 *
 * @param <S> the implementing stage, returned by the setters
 */
public interface TrainingParams<S extends TrainingParams<S>> {
    /** The param of {@code option}. */
    Param<?> trainingParam(TrainingOption<?> option);

    /**
     * Sets the param of {@code option}.
     *
     * @throws IllegalArgumentException naming the param when the value is out of its range
     */
    <T> S setOption(TrainingOption<T> option, T value);

    @SuppressWarnings("unchecked")
    default Param<String> problemType() {
        return (Param<String>) trainingParam(PROBLEM_TYPE);
    }

    default S setProblemType(String v) {
        return setOption(PROBLEM_TYPE, v);
    }

    default IntParam epochs() {
        return (IntParam) trainingParam(EPOCHS);
    }

    default S setEpochs(int v) {
        return setOption(EPOCHS, v);
    }

    default IntParam batchSize() {
        return (IntParam) trainingParam(BATCH_SIZE);
    }

    default S setBatchSize(int v) {
        return setOption(BATCH_SIZE, v);
    }

    default DoubleParam learningRate() {
        return (DoubleParam) trainingParam(LEARNING_RATE);
    }

    default S setLearningRate(double v) {
        return setOption(LEARNING_RATE, v);
    }

    default DoubleParam weightDecay() {
        return (DoubleParam) trainingParam(WEIGHT_DECAY);
    }

    default S setWeightDecay(double v) {
        return setOption(WEIGHT_DECAY, v);
    }

    default BooleanParam decayBiasAndNorm() {
        return (BooleanParam) trainingParam(DECAY_BIAS_AND_NORM);
    }

    default S setDecayBiasAndNorm(boolean v) {
        return setOption(DECAY_BIAS_AND_NORM, v);
    }

    default DoubleParam warmupRatio() {
        return (DoubleParam) trainingParam(WARMUP_RATIO);
    }

    default S setWarmupRatio(double v) {
        return setOption(WARMUP_RATIO, v);
    }

    @SuppressWarnings("unchecked")
    default Param<String> lrScheduler() {
        return (Param<String>) trainingParam(LR_SCHEDULER);
    }

    default S setLrScheduler(String v) {
        return setOption(LR_SCHEDULER, v);
    }

    default DoubleParam maxGradNorm() {
        return (DoubleParam) trainingParam(MAX_GRAD_NORM);
    }

    default S setMaxGradNorm(double v) {
        return setOption(MAX_GRAD_NORM, v);
    }

    default IntParam maxLength() {
        return (IntParam) trainingParam(MAX_LENGTH);
    }

    default S setMaxLength(int v) {
        return setOption(MAX_LENGTH, v);
    }

    default LongParam seed() {
        return (LongParam) trainingParam(SEED);
    }

    default S setSeed(long v) {
        return setOption(SEED, v);
    }

    default BooleanParam shuffle() {
        return (BooleanParam) trainingParam(SHUFFLE);
    }

    default S setShuffle(boolean v) {
        return setOption(SHUFFLE, v);
    }

    default BooleanParam groupByLength() {
        return (BooleanParam) trainingParam(GROUP_BY_LENGTH);
    }

    default S setGroupByLength(boolean v) {
        return setOption(GROUP_BY_LENGTH, v);
    }

    default DoubleArrayParam classWeights() {
        return (DoubleArrayParam) trainingParam(CLASS_WEIGHTS);
    }

    default S setClassWeights(double[] v) {
        return setOption(CLASS_WEIGHTS, v);
    }

    default IntParam logEverySteps() {
        return (IntParam) trainingParam(LOG_EVERY_STEPS);
    }

    default S setLogEverySteps(int v) {
        return setOption(LOG_EVERY_STEPS, v);
    }

    default DoubleParam validationFraction() {
        return (DoubleParam) trainingParam(VALIDATION_FRACTION);
    }

    default S setValidationFraction(double v) {
        return setOption(VALIDATION_FRACTION, v);
    }

    default IntParam earlyStoppingPatience() {
        return (IntParam) trainingParam(EARLY_STOPPING_PATIENCE);
    }

    default S setEarlyStoppingPatience(int v) {
        return setOption(EARLY_STOPPING_PATIENCE, v);
    }

    default BooleanParam freezeWordEmbeddings() {
        return (BooleanParam) trainingParam(FREEZE_WORD_EMBEDDINGS);
    }

    default S setFreezeWordEmbeddings(boolean v) {
        return setOption(FREEZE_WORD_EMBEDDINGS, v);
    }

    default DoubleParam labelSmoothing() {
        return (DoubleParam) trainingParam(LABEL_SMOOTHING);
    }

    default S setLabelSmoothing(double v) {
        return setOption(LABEL_SMOOTHING, v);
    }

    default BooleanParam linearProbe() {
        return (BooleanParam) trainingParam(LINEAR_PROBE);
    }

    default S setLinearProbe(boolean v) {
        return setOption(LINEAR_PROBE, v);
    }

    default DoubleParam linearProbeL2() {
        return (DoubleParam) trainingParam(LINEAR_PROBE_L2);
    }

    default S setLinearProbeL2(double v) {
        return setOption(LINEAR_PROBE_L2, v);
    }
}
