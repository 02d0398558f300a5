package io.sparkbert.inference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class TaskDevicesTest {
    private static final String[] NONE = new String[0];

    @Test
    void cpuAlwaysWins() {
        assertEquals("cpu", TaskDevices.choose("cpu", new String[] {"1"}, () -> 2));
    }

    @Test
    void taskGpuAddressIsUsed() {
        assertEquals("gpu:1", TaskDevices.choose("auto", new String[] {"1"}, () -> 2));
        assertEquals("gpu:3", TaskDevices.choose("gpu", new String[] {" 3 "}, () -> 0));
    }

    @Test
    void autoFallsBackToCpuWithoutGpu() {
        assertEquals("cpu", TaskDevices.choose("auto", NONE, () -> 0));
        assertEquals("cpu", TaskDevices.choose(null, NONE, () -> 0));
        assertEquals("gpu:0", TaskDevices.choose("AUTO", NONE, () -> 1));
    }

    @Test
    void gpuWithoutGpuFailsClearly() {
        IllegalArgumentException e =
                assertThrows(
                        IllegalArgumentException.class,
                        () -> TaskDevices.choose("gpu", NONE, () -> 0));
        assertTrue(e.getMessage().contains("device=gpu"), e.getMessage());
        assertTrue(e.getMessage().contains("device=auto"), e.getMessage());
    }

    @Test
    void anExplicitGpuIndexIsUsedWhenTheEngineSeesIt() {
        // spark.sparkbert.sql.device accepts gpu:N; the task's own GPU does not override it.
        assertEquals("gpu:1", TaskDevices.choose("gpu:1", new String[] {"0"}, () -> 2));
        assertEquals("gpu:0", TaskDevices.choose(" GPU:0 ", NONE, () -> 1));
        IllegalArgumentException e =
                assertThrows(
                        IllegalArgumentException.class,
                        () -> TaskDevices.choose("gpu:0", NONE, () -> 0));
        assertTrue(e.getMessage().contains("device=gpu:0"), e.getMessage());
        assertTrue(e.getMessage().contains("sees no GPU"), e.getMessage());
        e =
                assertThrows(
                        IllegalArgumentException.class,
                        () -> TaskDevices.choose("gpu:2", NONE, () -> 2));
        assertTrue(e.getMessage().contains("gpu:0..gpu:1"), e.getMessage());
    }

    @Test
    void badValuesAreNamed() {
        IllegalArgumentException e =
                assertThrows(
                        IllegalArgumentException.class,
                        () -> TaskDevices.choose("tpu", NONE, () -> 0));
        assertTrue(e.getMessage().contains("'tpu'"), e.getMessage());
        e =
                assertThrows(
                        IllegalArgumentException.class,
                        () -> TaskDevices.choose("auto", new String[] {"GPU-abc"}, () -> 1));
        assertTrue(e.getMessage().contains("GPU-abc"), e.getMessage());
    }

    @Test
    void outsideATaskUsesTheParam() {
        assertEquals("cpu", TaskDevices.forCurrentTask("auto", () -> 0));
    }
}
