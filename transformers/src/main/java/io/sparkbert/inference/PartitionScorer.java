package io.sparkbert.inference;

import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.jni.JniUtils;
import io.sparkbert.bert.Devices;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.util.TaskCompletionListener;

/**
 * Scores the rows of a DataFrame on the executors, for {@code BertEmbeddings} and {@code
 * BertClassificationModel}.
 *
 * <p>Each task reads its partition in windows of {@code windowSize} rows, tokenizes them, plans
 * length-bucketed batches ({@code batchSize} rows, optional token budget), pads each batch to its
 * own longest sequence, runs the model and emits the window's rows in their original order with the
 * result columns appended; no row is dropped or reordered. The model and tokenizer come from the
 * per-JVM {@link ModelCache} (loaded once per executor JVM), on the device that {@link
 * TaskDevices#forCurrentTask} picks. libtorch intra-op threads of the task thread follow {@code
 * spark.task.cpus}. The task's native memory scope is closed by a task-completion listener, also
 * when the task stops before its iterator is drained.
 *
 * <p>Stateless and thread-safe; the returned iterators are single-use and not thread-safe.
 */
public final class PartitionScorer {
    private PartitionScorer() {}

    /**
     * Receives what a task's scoring did, for SQL metrics; called on the task thread. Values are
     * increments since the previous call.
     */
    public interface Stats extends Serializable {
        /**
         * After each window of rows.
         *
         * @param rowsScored rows that got a score (rows with an invalid text do not)
         * @param batches forward batches run
         * @param tokens tokens fed to the model, padding included
         * @param paddingTokens of those, padding
         */
        void window(long rowsScored, long batches, long tokens, long paddingTokens);

        /** Nanoseconds the task waited for its model: a load on first use in the JVM, else ~0. */
        void modelWait(long nanos);
    }

    /** Turns a document's score (null for a kept invalid row) into the appended column values. */
    @FunctionalInterface
    public interface ResultMapper extends Serializable {
        /**
         * @param score the score, or null when the row's input was invalid and kept
         * @return one value per appended field
         */
        Object[] columns(Score score);
    }

    /**
     * Appends result columns to a DataFrame.
     *
     * @param input the rows; must hold {@code spec}'s input (and pair) column as strings
     * @param spec what to compute
     * @param appended the fields to append (their order matches the mapper's values)
     * @param mapper score to column values
     * @return the input rows, same order and count, with the new columns
     */
    public static Dataset<Row> transform(
            Dataset<?> input, ScoringSpec spec, StructField[] appended, ResultMapper mapper) {
        StructType inSchema = input.schema();
        StructType outSchema = inSchema;
        for (StructField f : appended) {
            outSchema = outSchema.add(f);
        }
        int textIdx = inSchema.fieldIndex(spec.inputCol());
        int pairIdx = spec.pairCol() == null ? -1 : inSchema.fieldIndex(spec.pairCol());
        MapPartitionsFunction<Row, Row> fn = rows -> score(rows, spec, textIdx, pairIdx, mapper);
        return input.toDF().mapPartitions(fn, Encoders.row(outSchema));
    }

    /**
     * Scores an iterator of rows (one partition): the heart of {@link #transform}, usable without a
     * DataFrame.
     *
     * @param rows the input rows
     * @param spec what to compute
     * @param textIdx index of the text column in the rows
     * @param pairIdx index of the pair column, or -1
     * @param mapper score to appended column values
     * @return the rows with the values appended, lazily, in input order
     */
    public static Iterator<Row> score(
            Iterator<Row> rows, ScoringSpec spec, int textIdx, int pairIdx, ResultMapper mapper) {
        return score(rows, spec, textIdx, pairIdx, mapper, null);
    }

    /** {@link #score} reporting to {@code stats} (null: not reported). */
    public static Iterator<Row> score(
            Iterator<Row> rows,
            ScoringSpec spec,
            int textIdx,
            int pairIdx,
            ResultMapper mapper,
            Stats stats) {
        ScoringIterator it = new ScoringIterator(rows, spec, textIdx, pairIdx, mapper, true);
        it.stats = stats;
        return it;
    }

    /**
     * Scores one row at once and frees its native scope before returning, for callers that score
     * row by row (a SQL function inside a filter): unlike {@link #score}, nothing is left for the
     * task's end, so a task that calls this for every row of its partition holds no more memory
     * after a million rows than after one.
     *
     * @param row the input row
     * @param spec what to compute
     * @param textIdx index of the text column in the row
     * @param pairIdx index of the pair column, or -1
     * @param mapper score to appended column values
     * @return the row with the values appended
     */
    public static Row scoreOne(
            Row row, ScoringSpec spec, int textIdx, int pairIdx, ResultMapper mapper) {
        ScoringIterator it =
                new ScoringIterator(
                        java.util.List.of(row).iterator(), spec, textIdx, pairIdx, mapper, false);
        try {
            return it.next();
        } finally {
            it.close();
        }
    }

    /** Pulls a window, scores it, hands its rows out, repeats. */
    private static final class ScoringIterator implements Iterator<Row> {
        private final Iterator<Row> rows;
        private final ScoringSpec spec;
        private final int textIdx;
        private final int pairIdx;
        private final ResultMapper mapper;
        private final boolean closeAtTaskEnd;
        private final AtomicBoolean closed = new AtomicBoolean();
        private NDManager scope;
        private ModelCache.Lease lease;
        private DocumentScorer scorer;
        private List<Row> window = new ArrayList<>();
        private Score[] scores;
        private int next;
        private Stats stats;

        ScoringIterator(
                Iterator<Row> rows,
                ScoringSpec spec,
                int textIdx,
                int pairIdx,
                ResultMapper mapper,
                boolean closeAtTaskEnd) {
            this.rows = rows;
            this.spec = spec;
            this.textIdx = textIdx;
            this.pairIdx = pairIdx;
            this.mapper = mapper;
            this.closeAtTaskEnd = closeAtTaskEnd;
        }

        @Override
        public boolean hasNext() {
            if (next < window.size()) {
                return true;
            }
            if (!rows.hasNext()) {
                if (TaskContext.get() == null) {
                    close(); // no task listener outside Spark: close once drained
                }
                return false;
            }
            fill();
            return next < window.size();
        }

        @Override
        public Row next() {
            if (!hasNext()) {
                throw new NoSuchElementException();
            }
            Row in = window.get(next);
            Object[] extra = mapper.columns(scores[next]);
            next++;
            Object[] values = new Object[in.length() + extra.length];
            for (int i = 0; i < in.length(); i++) {
                values[i] = in.get(i);
            }
            System.arraycopy(extra, 0, values, in.length(), extra.length);
            return RowFactory.create(values);
        }

        private void fill() {
            if (scorer == null) {
                start();
            }
            window = new ArrayList<>(spec.windowSize());
            while (window.size() < spec.windowSize() && rows.hasNext()) {
                window.add(rows.next());
            }
            String[] texts = new String[window.size()];
            String[] pairs = pairIdx < 0 ? null : new String[window.size()];
            for (int i = 0; i < texts.length; i++) {
                Row r = window.get(i);
                texts[i] = r.isNullAt(textIdx) ? null : r.getString(textIdx);
                if (pairs != null) {
                    pairs[i] = r.isNullAt(pairIdx) ? null : r.getString(pairIdx);
                }
            }
            long batches = scorer.batches;
            long tokens = scorer.paddedTokens;
            long real = scorer.realTokens;
            scores = scorer.score(texts, pairs);
            next = 0;
            if (stats != null) {
                long scored = 0;
                for (Score sc : scores) {
                    scored += sc == null ? 0 : 1;
                }
                long fed = scorer.paddedTokens - tokens;
                stats.window(
                        scored, scorer.batches - batches, fed, fed - (scorer.realTokens - real));
            }
        }

        private void start() {
            TaskContext ctx = TaskContext.get();
            String device = TaskDevices.forCurrentTask(spec.device(), Devices::gpuCount);
            long t0 = System.nanoTime();
            lease = ModelCache.acquire(spec.source(), device);
            if (stats != null) {
                stats.modelWait(System.nanoTime() - t0);
            }
            LoadedModel loaded = lease.model();
            try {
                if (ctx != null) {
                    // Per task thread (OpenMP settings are per thread): spark.task.cpus threads.
                    JniUtils.setNumThreads(Math.max(1, ctx.cpus()));
                }
                scope = NDManager.newBaseManager(Devices.resolve(device));
            } catch (RuntimeException | Error e) {
                lease.close(); // without a scope, close() would never release it
                throw e;
            }
            if (ctx != null && closeAtTaskEnd) {
                ctx.addTaskCompletionListener((TaskCompletionListener) c -> close());
            }
            scorer = new DocumentScorer(spec, loaded, scope);
        }

        private void close() {
            if (scope != null && closed.compareAndSet(false, true)) {
                scope.close();
                lease.close();
            }
        }
    }
}
