/**
 * Executor-side inference: per-JVM caches of models ({@link io.sparkbert.inference.ModelCache}) and
 * tokenizers, the partition scorer with length-bucketed batching ({@link
 * io.sparkbert.inference.PartitionScorer}), and the choice of device for a Spark task.
 */
package io.sparkbert.inference;
