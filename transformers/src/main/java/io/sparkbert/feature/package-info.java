/**
 * Spark ML feature stages: {@link io.sparkbert.feature.BertTokenizer} (and, later, {@code
 * BertEmbeddings}). Shared params and schema checks live in the package-private {@code
 * BertStageParams}.
 */
package io.sparkbert.feature;
