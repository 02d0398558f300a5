/**
 * Where models live and how they are saved: {@link io.sparkbert.persistence.ModelLocation} turns
 * the {@code model} param ({@code default}, a local path, or any Hadoop FileSystem URI) into a
 * local directory.
 */
package io.sparkbert.persistence;
