/**
 * Fine-tuned BERT text classification as Spark ML stages: {@link
 * io.sparkbert.classification.BertClassifier} (an Estimator that collects the labelled texts to the
 * driver and fine-tunes there with {@link io.sparkbert.bert.train.Trainer}) and {@link
 * io.sparkbert.classification.BertClassificationModel} (MLlib classifier outputs, persistence in
 * HuggingFace layout). Executors score through {@link io.sparkbert.inference.PartitionScorer}.
 */
package io.sparkbert.classification;
