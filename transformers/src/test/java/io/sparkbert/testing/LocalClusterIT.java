package io.sparkbert.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Encoders;
import org.junit.jupiter.api.Test;

/** {@code local-cluster[2,1,2048]}: tasks really run in two executor JVMs besides the driver. */
class LocalClusterIT {

    /** Reports the pid of the JVM that runs the partition. */
    static final class PidOfPartition implements MapPartitionsFunction<Long, Long> {
        private static final long serialVersionUID = 1L;

        @Override
        public Iterator<Long> call(Iterator<Long> rows) throws Exception {
            long n = 0;
            while (rows.hasNext()) {
                rows.next();
                n++;
            }
            // Long enough that the scheduler spreads the 8 tasks over both 1-core executors.
            Thread.sleep(300);
            return List.of(ProcessHandle.current().pid(), n).iterator();
        }
    }

    @Test
    void executorsAreSeparateJvms() {
        long driverPid = ProcessHandle.current().pid();
        List<ProcessHandle> executors;
        try (LocalCluster cluster = LocalCluster.start("local-cluster-it")) {
            executors = cluster.executorProcesses();
            assertEquals(2, executors.size(), "executor JVMs below the test JVM: " + executors);
            assertEquals("true", System.getProperty("spark.testing"));

            List<Long> out =
                    cluster.spark()
                            .range(0, 800, 1, 8)
                            .mapPartitions(new PidOfPartition(), Encoders.LONG())
                            .collectAsList();
            Set<Long> pids = new TreeSet<>();
            long rows = 0;
            for (int i = 0; i < out.size(); i += 2) {
                pids.add(out.get(i));
                rows += out.get(i + 1);
            }
            assertEquals(800, rows);
            assertEquals(2, pids.size(), "distinct task JVMs: " + pids);
            assertFalse(pids.contains(driverPid), "a task ran in the driver JVM");
            assertEquals(
                    executors.stream().map(ProcessHandle::pid).collect(Collectors.toSet()), pids);
        }
        assertNull(System.getProperty("spark.testing"), "spark.testing was not cleared");
        assertNull(System.getProperty("spark.test.home"), "spark.test.home was not cleared");
        List<ProcessHandle> leftovers = new ArrayList<>();
        executors.stream().filter(ProcessHandle::isAlive).forEach(leftovers::add);
        leftovers.addAll(ClusterSupport.liveDescendants(ProcessHandle.current(), "java"));
        assertTrue(leftovers.isEmpty(), "java processes left behind: " + leftovers);
    }
}
