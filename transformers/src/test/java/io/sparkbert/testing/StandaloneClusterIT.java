package io.sparkbert.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkbert.testing.SparkSubmitRunner.Result;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A standalone master + worker on 127.0.0.1 running an application through SparkSubmit. */
class StandaloneClusterIT {

    @Test
    void sparkSubmitRunsAnApplicationOnTheCluster(@TempDir Path tmp) throws Exception {
        List<ProcessHandle> clusterProcesses = new ArrayList<>();
        String masterUrl;
        try (StandaloneCluster cluster = StandaloneCluster.start(2, 2048)) {
            masterUrl = cluster.masterUrl();
            assertTrue(masterUrl.startsWith("spark://127.0.0.1:"), masterUrl);
            clusterProcesses.add(ProcessHandle.of(cluster.masterPid()).orElseThrow());
            clusterProcesses.add(ProcessHandle.of(cluster.workerPid()).orElseThrow());
            assertTrue(cluster.executorProcesses().isEmpty(), "executors before any app");

            Path jar = SparkSubmitRunner.appJar(tmp.resolve("app.jar"), RangeCountApp.class);
            Path output = tmp.resolve("count.txt");
            Result result =
                    SparkSubmitRunner.run(
                            masterUrl,
                            RangeCountApp.class.getName(),
                            jar,
                            Map.of("spark.executor.memory", "1g", "spark.cores.max", "2"),
                            List.of(output.toString(), "1000"),
                            Duration.ofSeconds(90));
            assertFalse(result.timedOut(), "SparkSubmit timed out:\n" + result.stderrTail(40));
            assertEquals(0, result.exitCode(), "SparkSubmit failed:\n" + result.stderrTail(40));
            // 0, 3, ..., 999: 334 multiples of 3 below 1000, computed by the worker's executor.
            assertEquals(
                    "count=334\nexecutors=1\nmaster=" + masterUrl + "\n",
                    Files.readString(output, StandardCharsets.UTF_8));
            cluster.liveProcesses().forEach(clusterProcesses::add);
        }
        for (ProcessHandle p : clusterProcesses) {
            assertFalse(p.isAlive(), "still alive after close(): " + p.pid());
        }
        assertEquals(
                List.of(),
                ClusterSupport.liveDescendants(ProcessHandle.current(), "java"),
                "java processes left behind");
    }

    @Test
    void masterJsonCountsAliveWorkers() {
        assertEquals(
                1, StandaloneCluster.aliveWorkers("{\"url\":\"spark://x\",\"aliveworkers\":1}"));
        assertEquals(0, StandaloneCluster.aliveWorkers("{\"aliveworkers\":0}"));
        assertEquals(0, StandaloneCluster.aliveWorkers("[]"));
    }
}
