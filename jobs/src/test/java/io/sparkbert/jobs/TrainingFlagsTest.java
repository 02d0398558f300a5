package io.sparkbert.jobs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkbert.bert.train.TrainingConfig;
import io.sparkbert.bert.train.TrainingOption;
import io.sparkbert.classification.BertClassifier;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.apache.spark.ml.param.Param;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * The one definition of each training option ({@link TrainingOption}) against its three consumers:
 * the engine's {@link TrainingConfig}, the estimator's params and the train job's flags refuse
 * exactly the same values and name the option; the documented defaults in the conf files are the
 * definitions'.
 */
class TrainingFlagsTest {

    /** Values just outside each option's range (none for booleans and seeds). */
    private static List<Object> outside(TrainingOption<?> o) {
        List<Object> out = new ArrayList<>();
        switch (o.kind()) {
            case INT -> {
                if (o.min() > Integer.MIN_VALUE) {
                    out.add((int) o.min() - 1);
                }
                if (o.max() < Integer.MAX_VALUE) {
                    out.add((int) o.max() + 1);
                }
            }
            case DOUBLE -> {
                out.add(o.minInclusive() ? Math.nextDown(o.min()) : o.min());
                if (Double.isFinite(o.max())) {
                    out.add(o.maxInclusive() ? Math.nextUp(o.max()) : o.max());
                }
            }
            case CHOICE -> out.add("exponential");
            case DOUBLE_ARRAY -> out.add(new double[] {1, Math.nextDown(o.min())});
            default -> {}
        }
        return out;
    }

    /** Values on the edges of each option's range, which all consumers accept. */
    private static List<Object> edges(TrainingOption<?> o) {
        List<Object> out = new ArrayList<>();
        switch (o.kind()) {
            case INT -> {
                out.add((int) o.min());
                if (o.max() < Integer.MAX_VALUE) {
                    out.add((int) o.max());
                }
            }
            case DOUBLE -> {
                out.add(o.minInclusive() ? o.min() : Math.nextUp(o.min()));
                if (Double.isFinite(o.max())) {
                    out.add(o.maxInclusive() ? o.max() : Math.nextDown(o.max()));
                }
            }
            case LONG -> out.addAll(List.of(Long.MIN_VALUE, 0L, Long.MAX_VALUE));
            case BOOLEAN -> out.addAll(List.of(true, false));
            case CHOICE -> out.addAll(o.choices());
            case DOUBLE_ARRAY -> out.add(new double[] {o.min(), 2.5});
        }
        return out;
    }

    private static String text(Object v) {
        return v instanceof Double d ? Double.toString(d) : String.valueOf(v);
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private static Executable config(TrainingOption o, Object v) {
        return () -> TrainingConfig.builder().set(o, v).build();
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private static Executable estimator(TrainingOption o, Object v) {
        return () -> new BertClassifier().setOption(o, v);
    }

    private static Executable job(TrainingOption<?> o, Object v) {
        TrainJob t = new TrainJob(new BertBackend());
        return () -> TrainingFlags.check(t.parse("--" + o.flag(), text(v)), List.of(o));
    }

    @Test
    void configEstimatorAndJobRefuseTheSameValuesNamingTheOption() {
        int refused = 0;
        for (TrainingOption<?> o : TrainingOption.ALL) {
            for (Object v : outside(o)) {
                String what = o.name() + " = " + text(v);
                IllegalArgumentException e =
                        assertThrows(IllegalArgumentException.class, config(o, v), what);
                assertTrue(e.getMessage().contains(o.name()), e.getMessage());
                if (!o.expert()) {
                    e = assertThrows(IllegalArgumentException.class, estimator(o, v), what);
                    assertTrue(e.getMessage().contains(o.name()), e.getMessage());
                }
                if (o.flag() != null) {
                    e = assertThrows(IllegalArgumentException.class, job(o, v), what);
                    assertTrue(e.getMessage().contains("--" + o.flag()), e.getMessage());
                }
                refused++;
            }
            for (Object v : edges(o)) {
                String what = o.name() + " = " + text(v);
                assertDoesNotThrow(config(o, v), what);
                if (!o.expert()) {
                    assertDoesNotThrow(estimator(o, v), what);
                }
                if (o.flag() != null) {
                    assertDoesNotThrow(job(o, v), what);
                }
            }
        }
        assertTrue(refused >= 30, "values tried: " + refused);
    }

    /** The estimator's params are the options': name, doc, default; the expert ones are not. */
    @Test
    void theEstimatorsParamsComeFromTheDefinitions() {
        BertClassifier c = new BertClassifier();
        TrainingConfig defaults = TrainingConfig.builder().build();
        for (TrainingOption<?> o : TrainingOption.ALL) {
            if (o.expert()) {
                assertThrows(IllegalArgumentException.class, () -> c.trainingParam(o));
                continue;
            }
            Param<?> p = c.getParam(o.name());
            assertEquals(o.fullDoc(), p.doc(), o.name());
            if (o.defaultValue() == null) {
                assertTrue(!c.hasDefault(p), o.name());
                assertNull(defaults.get(o));
            } else {
                assertEquals(o.defaultValue(), c.getDefault(p).get(), o.name());
                assertEquals(o.defaultValue(), defaults.get(o), o.name());
            }
        }
        // Set on the estimator, the value reaches the engine's config.
        c.setLrScheduler("cosine").setClassWeights(new double[] {1, 3}).setEpochs(9);
        assertEquals(TrainingConfig.Schedule.COSINE, c.trainingConfig().schedule());
        assertArrayEquals(new double[] {1, 3}, c.trainingConfig().classWeights());
        assertEquals(9, c.trainingConfig().epochs());
    }

    /** Every flag is declared by the train job, listed in --help and set by the conf defaults. */
    @Test
    void theTrainJobsFlagsAndHelpComeFromTheDefinitions() {
        TrainJob t = new TrainJob(new BertBackend());
        List<String> keys = t.options().stream().map(JobOption::key).toList();
        JobOptions defaults = t.parse();
        String help = t.parse("--help").usage();
        for (TrainingOption<?> o : TrainingFlags.TRAIN) {
            assertTrue(keys.contains(o.flag()), o.flag());
            assertTrue(help.contains("--" + o.flag() + " "), help);
            assertEquals(o.defaultValue(), o.parse(defaults.require(o.flag())), o.flag());
        }
        assertEquals(
                TrainingOption.ALL.stream()
                        .filter(o -> !o.expert() && o.kind() != TrainingOption.Kind.DOUBLE_ARRAY)
                        .count(),
                TrainingFlags.TRAIN.size());
    }

    @Test
    void confTrainHoldsTheGeneratedBlockAndTheDemoItsDefaults() throws IOException {
        String conf = resource("train.conf");
        String start =
                "# ---- TrainingFlagsTest checks that this block is what the definitions give).\n";
        String end = "# ---- End of the training options.\n";
        int a = conf.indexOf(start);
        int b = conf.indexOf(end);
        assertTrue(a > 0 && b > a, "markers in conf/train.conf");
        assertEquals(
                TrainingFlags.confSection(),
                conf.substring(a + start.length(), b),
                "conf/train.conf's training block; replace it with the expected text");
        Map<String, String> demo =
                resource("demo.conf")
                        .lines()
                        .filter(l -> !l.startsWith("#") && l.contains("="))
                        .collect(
                                Collectors.toMap(
                                        l -> l.substring(0, l.indexOf('=')).strip(),
                                        l -> l.substring(l.indexOf('=') + 1).strip()));
        int checked = 0;
        for (TrainingOption<?> o : TrainingFlags.TRAIN) {
            if (demo.containsKey(o.flag())) {
                assertEquals(o.defaultValue(), o.parse(demo.get(o.flag())), o.flag());
                checked++;
            }
        }
        assertEquals(6, checked, "the demo's training keys");
    }

    private static String resource(String name) throws IOException {
        try (InputStream in =
                TrainingFlagsTest.class
                        .getClassLoader()
                        .getResourceAsStream(JobOptions.CONF_RESOURCE + "/" + name)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}
