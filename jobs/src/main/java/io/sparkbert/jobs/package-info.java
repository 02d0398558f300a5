/**
 * Command-line and spark-submit entry points: thin mains that parse options, build stages, run and
 * report; a leaf module that nothing else depends on.
 */
package io.sparkbert.jobs;
