/** Architecture rules checked with ArchUnit. */
package io.sparkbert.arch;
