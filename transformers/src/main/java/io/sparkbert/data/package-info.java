/**
 * Demo data: the UCI Sentiment Labelled Sentences (1,000 Amazon, IMDb and Yelp sentences each,
 * labelled 0 = negative, 1 = positive), as shipped in the npm package {@code sentiment@5.0.2} and
 * fetched by {@code scripts/fetch-data.sh} into {@code data/uci-sentiment/}.
 *
 * <p>{@link io.sparkbert.data.SentimentCorpus} loads and splits the data without Spark (for the
 * engine and trainer benchmarks); {@link io.sparkbert.data.SentimentData} does the same on Spark
 * {@code Dataset<Row>}s. Both produce the same deterministic stratified split for the same seed.
 */
package io.sparkbert.data;
