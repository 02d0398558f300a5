/**
 * The Spark-free BERT engine: the HuggingFace-exact tokenizer wrapper ({@link
 * io.sparkbert.bert.HfTokenizer}) and, later, the model, checkpoints and trainer. Nothing in this
 * package imports Spark or Scala.
 */
package io.sparkbert.bert;
