/**
 * Executor-side inference: per-JVM caches of tokenizers and models, length-bucketed batching of
 * partitions, and the choice of device for a Spark task.
 */
package io.sparkbert.inference;
