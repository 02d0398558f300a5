/**
 * Spark ML feature stages: {@link io.sparkbert.feature.BertTokenizer} and {@link
 * io.sparkbert.feature.BertEmbeddings}. Shared params and schema checks live in the package-private
 * {@code BertStageParams}.
 */
package io.sparkbert.feature;
