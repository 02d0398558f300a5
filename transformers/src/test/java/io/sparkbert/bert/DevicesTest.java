package io.sparkbert.bert;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.engine.Engine;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

class DevicesTest {
    @Test
    void cpuAndAuto() {
        assertEquals(Device.cpu(), Devices.resolve("cpu"));
        assertEquals(Device.cpu(), Devices.resolve(" CPU "));
        Device auto = Devices.resolve("auto");
        assertEquals(Engine.getInstance().getGpuCount() > 0 ? Device.gpu(0) : Device.cpu(), auto);
    }

    @Test
    void gpuWithoutGpuIsExplained() {
        Assumptions.assumeTrue(Engine.getInstance().getGpuCount() == 0, "machine has a GPU");
        for (String spec : new String[] {"gpu", "gpu:1"}) {
            String msg =
                    assertThrows(IllegalArgumentException.class, () -> Devices.resolve(spec))
                            .getMessage();
            assertTrue(msg.contains("no GPU is visible") && msg.contains("device=cpu"), msg);
        }
    }

    @Test
    void unknownSpec() {
        String msg =
                assertThrows(IllegalArgumentException.class, () -> Devices.resolve("tpu"))
                        .getMessage();
        assertTrue(msg.contains("tpu") && msg.contains("[auto, cpu, gpu, gpu:N]"), msg);
        assertThrows(IllegalArgumentException.class, () -> Devices.resolve("gpu:x"));
    }
}
