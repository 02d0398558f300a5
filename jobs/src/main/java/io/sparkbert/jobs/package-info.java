/** Command-line and spark-submit entry points; a leaf module that nothing else depends on. */
package io.sparkbert.jobs;
