package io.sparkbert.classification;

import io.sparkbert.bert.train.TrainingConfig;
import io.sparkbert.bert.train.TrainingOption;
import java.io.Serializable;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.spark.ml.param.BooleanParam;
import org.apache.spark.ml.param.DoubleArrayParam;
import org.apache.spark.ml.param.DoubleParam;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.LongParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.param.Params;
import scala.runtime.AbstractFunction1;

/**
 * Spark params made from {@link TrainingOption}s: one per non-expert option, named as the option,
 * its doc the option's doc with range and default, validated by the option's own check. Stateless
 * and thread-safe.
 */
final class OptionParams {
    private OptionParams() {}

    /** The params of every non-expert option for {@code owner}, by option name. */
    static Map<String, Param<?>> create(Params owner) {
        Map<String, Param<?>> out = new LinkedHashMap<>();
        for (TrainingOption<?> o : TrainingOption.ALL) {
            if (!o.expert()) {
                out.put(o.name(), param(owner, o));
            }
        }
        return out;
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private static Param<?> param(Params owner, TrainingOption<?> o) {
        Accepts ok = new Accepts(o);
        String doc = o.fullDoc();
        return switch (o.kind()) {
            case INT -> new IntParam(owner, o.name(), doc, (scala.Function1) ok);
            case LONG -> new LongParam(owner, o.name(), doc, (scala.Function1) ok);
            case DOUBLE -> new DoubleParam(owner, o.name(), doc, (scala.Function1) ok);
            case BOOLEAN -> new BooleanParam(owner, o.name(), doc);
            case CHOICE -> new Param<String>(owner, o.name(), doc, (scala.Function1) ok);
            case DOUBLE_ARRAY -> new DoubleArrayParam(owner, o.name(), doc, (scala.Function1) ok);
        };
    }

    /**
     * The engine settings that {@code params} hold for the options of {@code owner}: each set or
     * defaulted param, every other option at its default.
     */
    @SuppressWarnings({"unchecked", "rawtypes"})
    static TrainingConfig config(Params owner, Map<String, Param<?>> params) {
        TrainingConfig.Builder b = TrainingConfig.builder();
        ParamMap values = owner.extractParamMap();
        for (TrainingOption o : TrainingOption.ALL) {
            Param p = params.get(o.name());
            if (p != null && values.contains(p)) {
                b.set(o, values.apply(p));
            }
        }
        return b.build();
    }

    /** A Spark validator that asks the option. */
    private static final class Accepts extends AbstractFunction1<Object, Object>
            implements Serializable {
        private static final long serialVersionUID = 1L;
        private final TrainingOption<?> option;

        Accepts(TrainingOption<?> option) {
            this.option = option;
        }

        @Override
        public Object apply(Object value) {
            return option.accepts(value);
        }
    }
}
