/**
 * Spark SQL functions over spark-bert: {@code bert_tokenize}, {@code bert_embed} and {@code
 * bert_classify}, registered with {@link io.sparkbert.udfs.SparkBertFunctions#register}. The model
 * functions run batched: a planner strategy replaces the row-at-a-time UDF in a projection with an
 * operator that scores each partition in length-bucketed batches.
 */
package io.sparkbert.udfs;
