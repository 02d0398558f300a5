/**
 * Fine-tuning of BERT sequence classifiers on one JVM, without Spark: {@link
 * io.sparkbert.bert.train.Trainer} (AdamW with torch semantics, linear warm-up/decay, global-norm
 * clipping, weighted cross-entropy, validation and early stopping), its {@link
 * io.sparkbert.bert.train.TrainingConfig} and the {@link io.sparkbert.bert.train.TrainingSummary}
 * it returns. The logits computation that training and scoring share, {@link
 * io.sparkbert.bert.ClassifierHead}, lives in the engine. Nothing here imports Spark or Scala.
 */
package io.sparkbert.bert.train;
