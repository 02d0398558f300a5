/**
 * Test support shared by every module through the transformers test-jar: reference fixtures ({@link
 * io.sparkbert.testing.Fixtures}), the shared {@code local[2]} session ({@link
 * io.sparkbert.testing.SparkTestSession}) and the multi-JVM harness for {@code *IT} tests: {@link
 * io.sparkbert.testing.LocalCluster} ({@code local-cluster} with executor JVMs), {@link
 * io.sparkbert.testing.StandaloneCluster} (master and worker JVMs on 127.0.0.1) and {@link
 * io.sparkbert.testing.SparkSubmitRunner} (spark-submit in a child JVM).
 */
package io.sparkbert.testing;
