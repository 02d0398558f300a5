/** Spark ML feature stages: the BERT tokenizer and sentence embeddings. */
package io.sparkbert.feature;
