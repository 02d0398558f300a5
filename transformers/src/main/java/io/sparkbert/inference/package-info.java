/**
 * Executor-side inference: the per-JVM model cache, length-bucketed batching of partitions, and the
 * choice of device for a Spark task.
 */
package io.sparkbert.inference;
