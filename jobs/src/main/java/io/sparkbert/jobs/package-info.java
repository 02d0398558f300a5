/** spark-submit entry points: thin mains that parse options, build stages, run and report. */
package io.sparkbert.jobs;
