/**
 * Fine-tuned BERT text classification as Spark ML stages: {@link
 * io.sparkbert.classification.BertClassifier} (an Estimator that collects the labelled texts to the
 * driver and fine-tunes there with {@link io.sparkbert.bert.train.Trainer}) and {@link
 * io.sparkbert.classification.BertClassificationModel} (MLlib classifier outputs, persistence in
 * HuggingFace layout). The executor-side scoring sits behind the package-private {@code
 * SequenceScorer} interface.
 */
package io.sparkbert.classification;
