package io.sparkbert.udfs;

import io.sparkbert.inference.PartitionScorer;
import io.sparkbert.inference.Score;
import io.sparkbert.inference.ScoringSpec;
import java.io.Serializable;
import java.util.Iterator;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataType;

/**
 * What one registered model function computes: the scoring spec, the SQL result type, and how a
 * {@link Score} becomes a value of that type. Used both by the batched operator and by the
 * row-at-a-time fallback (a function call that the strategy cannot batch, e.g. inside a filter).
 *
 * <p>Immutable and thread-safe.
 */
public final class BatchedCall implements Serializable {
    private static final long serialVersionUID = 1L;

    /** Score to SQL value (external Row/array types); null score -> null. */
    interface ValueMapper extends Serializable {
        Object toValue(Score score);
    }

    private final String functionName;
    private final ScoringSpec spec;
    private final DataType resultType;
    private final ValueMapper mapper;

    BatchedCall(String functionName, ScoringSpec spec, DataType resultType, ValueMapper mapper) {
        this.functionName = functionName;
        this.spec = spec;
        this.resultType = resultType;
        this.mapper = mapper;
    }

    String functionName() {
        return functionName;
    }

    DataType resultType() {
        return resultType;
    }

    /**
     * Scores texts lazily in input order: each element of the result pairs the caller's payload
     * (column 1) with the SQL value (column 2).
     *
     * @param texts rows of (text, payload)
     * @param stats what the scoring did goes there (null: nowhere)
     */
    Iterator<Row> score(Iterator<Row> texts, PartitionScorer.Stats stats) {
        return PartitionScorer.score(
                texts, spec, 0, -1, score -> new Object[] {mapper.toValue(score)}, stats);
    }

    /** The fallback for a single value (one forward pass for one row). */
    Object scoreOne(String text) {
        Row out =
                PartitionScorer.scoreOne(
                        RowFactory.create(text),
                        spec,
                        0,
                        -1,
                        score -> new Object[] {mapper.toValue(score)});
        return out.get(1);
    }
}
