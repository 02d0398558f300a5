/**
 * Executor-side state: per-JVM caches of tokenizers (and, later, models), batching and device
 * selection.
 */
package io.sparkbert.inference;
