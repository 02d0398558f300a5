package io.sparkbert.jobs;

import io.sparkbert.bert.train.TrainingOption;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What the train job asks a backend to fit, checked and typed: the starting checkpoint, the device,
 * the user's column names (for messages) and the value of every training option the job takes.
 * Immutable and thread-safe.
 *
 * @param model {@code default} or a checkpoint location
 * @param device {@code auto}, {@code cpu} or {@code gpu}
 * @param textCol the user's text column
 * @param pairCol the user's pair column, or null
 * @param labelCol the user's label column
 * @param training the options' values by option, each within its range
 */
public record TrainSettings(
        String model,
        String device,
        String textCol,
        String pairCol,
        String labelCol,
        Map<TrainingOption<?>, Object> training) {

    /** Copies the map (unmodifiable). */
    public TrainSettings {
        training = Collections.unmodifiableMap(new LinkedHashMap<>(training));
    }

    /** The value of {@code option}. */
    @SuppressWarnings("unchecked")
    public <T> T get(TrainingOption<T> option) {
        Object v = training.get(option);
        if (v == null) {
            throw new IllegalStateException("the train job sets no " + option.name());
        }
        return (T) v;
    }

    /** The settings of a train-job run. */
    static TrainSettings of(JobOptions o) {
        Map<TrainingOption<?>, Object> values = new LinkedHashMap<>();
        for (TrainingOption<?> option : TrainingFlags.TRAIN) {
            values.put(option, TrainingFlags.value(o, option));
        }
        return new TrainSettings(
                o.require("model"),
                o.require("device"),
                o.require("text-col"),
                o.get("pair-col").orElse(null),
                o.require("label-col"),
                values);
    }
}
