package io.sparkbert.udfs;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.SparkContext;
import org.apache.spark.rdd.RDD;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.catalyst.CatalystTypeConverters;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.expressions.Attribute;
import org.apache.spark.sql.catalyst.expressions.Expression;
import org.apache.spark.sql.catalyst.expressions.GenericInternalRow;
import org.apache.spark.sql.catalyst.expressions.JoinedRow;
import org.apache.spark.sql.catalyst.expressions.UnsafeProjection;
import org.apache.spark.sql.execution.SparkPlan;
import org.apache.spark.sql.execution.metric.SQLMetric;
import org.apache.spark.sql.execution.metric.SQLMetrics;
import scala.Function1;
import scala.collection.JavaConverters;
import scala.collection.Seq;

/**
 * Physical operator that appends the value of one model function to every row of its child, scoring
 * each partition in windows of length-bucketed batches (through {@link
 * io.sparkbert.inference.PartitionScorer}) instead of one forward pass per row. Output: the child's
 * columns followed by {@code result}. Rows keep their order and count.
 *
 * <p>Written in Java against Spark 3.5's {@code SparkPlan}; the product elements mirror the
 * constructor arguments so that Catalyst's reflective copies work (which is why the class and its
 * constructor are public; it is not an API).
 */
public final class BatchedInferenceExec extends SparkPlan {
    private static final long serialVersionUID = 1L;

    private final Expression text;
    private final BatchedCall call;
    private final Attribute result;
    private final SparkPlan child;

    public BatchedInferenceExec(
            Expression text, BatchedCall call, Attribute result, SparkPlan child) {
        this.text = text;
        this.call = call;
        this.result = result;
        this.child = child;
    }

    @Override
    public Seq<Attribute> output() {
        List<Attribute> out = new ArrayList<>(JavaConverters.seqAsJavaList(child.output()));
        out.add(result);
        return JavaConverters.asScalaBuffer(out).toSeq();
    }

    @Override
    public Seq<SparkPlan> children() {
        return JavaConverters.asScalaBuffer(List.of(child)).toSeq();
    }

    @Override
    public SparkPlan withNewChildrenInternal(scala.collection.IndexedSeq<SparkPlan> newChildren) {
        return new BatchedInferenceExec(text, call, result, newChildren.apply(0));
    }

    /** Keys of the SQL metrics (shown in the Spark UI's SQL tab on this operator). */
    static final String ROWS_SCORED = "rowsScored";

    static final String BATCHES = "batches";
    static final String TOKENS = "tokens";
    static final String PADDING_TOKENS = "paddingTokens";
    static final String MODEL_WAIT = "modelLoadTime";

    private transient scala.collection.immutable.Map<String, SQLMetric> metrics;

    /**
     * Rows scored, forward batches, tokens fed (padding included) and padding tokens (their ratio
     * is the padding share), and the time tasks waited for the model (its load on first use in an
     * executor JVM).
     */
    @Override
    public synchronized scala.collection.immutable.Map<String, SQLMetric> metrics() {
        if (metrics == null) {
            SparkContext sc = sparkContext();
            Map<String, SQLMetric> m = new LinkedHashMap<>();
            m.put(ROWS_SCORED, SQLMetrics.createMetric(sc, "rows scored"));
            m.put(BATCHES, SQLMetrics.createMetric(sc, "forward batches"));
            m.put(TOKENS, SQLMetrics.createMetric(sc, "tokens fed (padding included)"));
            m.put(PADDING_TOKENS, SQLMetrics.createMetric(sc, "padding tokens"));
            m.put(MODEL_WAIT, SQLMetrics.createNanoTimingMetric(sc, "model load time", -1L));
            metrics =
                    scala.collection.immutable.Map$.MODULE$
                            .<String, SQLMetric>empty()
                            .$plus$plus(JavaConverters.mapAsScalaMap(m));
        }
        return metrics;
    }

    @Override
    public RDD<InternalRow> doExecute() {
        Expression textExpr = text;
        BatchedCall fn = call;
        Seq<Attribute> childOutput = child.output();
        Seq<Attribute> allOutput = output();
        MetricStats stats =
                new MetricStats(
                        metrics().apply(ROWS_SCORED),
                        metrics().apply(BATCHES),
                        metrics().apply(TOKENS),
                        metrics().apply(PADDING_TOKENS),
                        metrics().apply(MODEL_WAIT));
        return child.execute()
                .toJavaRDD()
                .mapPartitions(
                        rows -> scorePartition(rows, textExpr, fn, childOutput, allOutput, stats))
                .rdd();
    }

    /** Adds a task's scoring counts to the operator's metrics (task-side copies). */
    private record MetricStats(
            SQLMetric rows,
            SQLMetric batches,
            SQLMetric tokens,
            SQLMetric padding,
            SQLMetric modelLoad)
            implements io.sparkbert.inference.PartitionScorer.Stats {
        @Override
        public void window(long rowsScored, long batchCount, long tokenCount, long paddingTokens) {
            rows.add(rowsScored);
            batches.add(batchCount);
            tokens.add(tokenCount);
            padding.add(paddingTokens);
        }

        @Override
        public void modelWait(long nanos) {
            modelLoad.add(nanos);
        }
    }

    private static Iterator<InternalRow> scorePartition(
            Iterator<InternalRow> rows,
            Expression textExpr,
            BatchedCall fn,
            Seq<Attribute> childOutput,
            Seq<Attribute> allOutput,
            MetricStats stats) {
        UnsafeProjection textOf =
                UnsafeProjection.create(
                        JavaConverters.asScalaBuffer(List.of(textExpr)).toSeq(), childOutput);
        @SuppressWarnings("unchecked")
        Seq<Expression> outputExprs = (Seq<Expression>) (Seq<?>) allOutput;
        UnsafeProjection toUnsafe = UnsafeProjection.create(outputExprs, allOutput);
        Function1<Object, Object> toCatalyst =
                CatalystTypeConverters.createToCatalystConverter(fn.resultType());
        // (text, copied row) pairs go through the scorer, which hands them back in order.
        Iterator<Row> pairs =
                new Iterator<>() {
                    @Override
                    public boolean hasNext() {
                        return rows.hasNext();
                    }

                    @Override
                    public Row next() {
                        InternalRow row = rows.next().copy();
                        InternalRow t = textOf.apply(row);
                        String s = t.isNullAt(0) ? null : t.getUTF8String(0).toString();
                        return RowFactory.create(s, row);
                    }
                };
        Iterator<Row> scored = fn.score(pairs, stats);
        JoinedRow joined = new JoinedRow();
        return new Iterator<>() {
            @Override
            public boolean hasNext() {
                return scored.hasNext();
            }

            @Override
            public InternalRow next() {
                Row r = scored.next();
                InternalRow base = (InternalRow) r.get(1);
                Object value = toCatalyst.apply(r.get(2));
                GenericInternalRow extra = new GenericInternalRow(new Object[] {value});
                return toUnsafe.apply(joined.apply(base, extra));
            }
        };
    }

    @Override
    public String nodeName() {
        return "BatchedInference[" + call.functionName() + "]";
    }

    @Override
    public int productArity() {
        return 4;
    }

    @Override
    public Object productElement(int n) {
        switch (n) {
            case 0:
                return text;
            case 1:
                return call;
            case 2:
                return result;
            case 3:
                return child;
            default:
                throw new IndexOutOfBoundsException(Integer.toString(n));
        }
    }

    @Override
    public boolean canEqual(Object that) {
        return that instanceof BatchedInferenceExec;
    }
}
