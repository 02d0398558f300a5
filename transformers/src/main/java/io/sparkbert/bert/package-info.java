/**
 * The Spark-free BERT engine: the HuggingFace-exact tokenizer wrapper ({@link
 * io.sparkbert.bert.HfTokenizer}), an HF-exact BERT forward pass on DJL/PyTorch ({@link
 * io.sparkbert.bert.BertModel}), its configuration ({@link io.sparkbert.bert.BertConfig}),
 * checkpoint IO in HuggingFace layout ({@link io.sparkbert.bert.Checkpoints}) and the built-in
 * all-MiniLM-L6-v2 weights read from their ONNX file; the trainer lives in {@code
 * io.sparkbert.bert.train}.
 *
 * <p>Nothing in this package imports Spark or Scala. Every NDArray a method creates lives in a
 * scope the caller (or the method itself) closes.
 */
package io.sparkbert.bert;
