package io.sparkbert.data;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.concat;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.floor;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.not;
import static org.apache.spark.sql.functions.row_number;
import static org.apache.spark.sql.functions.sha2;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.expressions.Window;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.NumericType;
import org.apache.spark.sql.types.StructType;

/**
 * The UCI Sentiment Labelled Sentences as a Spark {@code Dataset<Row>} with the columns {@code id}
 * (string, e.g. {@code amazon-0001}), {@code text} (string), {@code label} (double 0/1) and {@code
 * source} (string), plus the deterministic stratified split of {@link SentimentCorpus} on Datasets.
 *
 * <p>Stateless; all methods are static and thread-safe (Spark sessions themselves may be shared).
 */
public final class SentimentData {
    /** Column names of the loaded Dataset. */
    public static final String ID = "id", TEXT = "text", LABEL = "label", SOURCE = "source";

    /** Schema of the loaded Dataset. */
    public static final StructType SCHEMA =
            new StructType()
                    .add(ID, DataTypes.StringType, false)
                    .add(TEXT, DataTypes.StringType, false)
                    .add(LABEL, DataTypes.DoubleType, false)
                    .add(SOURCE, DataTypes.StringType, false);

    private static final String RANK = "__sparkbert_split_rank";
    private static final String GROUP_SIZE = "__sparkbert_split_n";

    private SentimentData() {}

    /**
     * A train/test partition of a Dataset. Row order inside each Dataset is not defined; sort by
     * {@code id} to get file order back.
     *
     * @param train the training rows
     * @param test the held-out rows
     */
    public record Split(Dataset<Row> train, Dataset<Row> test) {}

    /** Loads the 3,000 sentences from {@link SentimentCorpus#defaultDir()}. */
    public static Dataset<Row> load(SparkSession spark) {
        return toDataset(spark, SentimentCorpus.load());
    }

    /** Loads the 3,000 sentences from {@code dir} (see {@link SentimentCorpus#load(Path)}). */
    public static Dataset<Row> load(SparkSession spark, Path dir) {
        return toDataset(spark, SentimentCorpus.load(dir));
    }

    /** Turns examples into a Dataset with {@link #SCHEMA}, keeping their order. */
    public static Dataset<Row> toDataset(SparkSession spark, List<Example> examples) {
        List<Row> rows = new ArrayList<>(examples.size());
        for (Example e : examples) {
            rows.add(RowFactory.create(e.id(), e.text(), (double) e.label(), e.source()));
        }
        return spark.createDataFrame(rows, SCHEMA);
    }

    /**
     * The stratified split of {@link SentimentCorpus#split}: per distinct {@code label}, rows are
     * ranked by {@code sha2(id || ':' || seed, 256)} (ties by id) and the first {@code floor(n *
     * trainFraction + 0.5)} go to {@code train}. The result depends on neither row order nor
     * partitioning. Each label's rows are ranked in one task, which suits demo-sized data.
     *
     * @param data a Dataset with a string {@code id} column (unique) and a numeric {@code label}
     *     column
     * @param trainFraction share of each label that goes to the training set, in (0, 1)
     * @param seed the seed mixed into the ranking hash
     * @throws IllegalArgumentException for a missing or mistyped column or a fraction outside (0,
     *     1)
     */
    public static Split split(Dataset<Row> data, double trainFraction, long seed) {
        SentimentCorpus.checkFraction(trainFraction);
        StructType schema = data.schema();
        List<String> names = Arrays.asList(schema.fieldNames());
        for (String required : List.of(ID, LABEL)) {
            if (!names.contains(required)) {
                throw new IllegalArgumentException(
                        "split: column '"
                                + required
                                + "' is missing (columns: "
                                + names
                                + "); the input needs a unique string 'id' and a numeric"
                                + " 'label'.");
            }
        }
        if (!schema.apply(ID).dataType().equals(DataTypes.StringType)) {
            throw new IllegalArgumentException(
                    "split: column 'id' must be a string but is "
                            + schema.apply(ID).dataType().simpleString()
                            + "; cast it with col(\"id\").cast(\"string\").");
        }
        if (!(schema.apply(LABEL).dataType() instanceof NumericType)) {
            throw new IllegalArgumentException(
                    "split: column 'label' must be numeric but is "
                            + schema.apply(LABEL).dataType().simpleString()
                            + ".");
        }
        Column key = sha2(concat(col(ID), lit(":" + seed)), 256);
        Dataset<Row> ranked =
                data.withColumn(
                                RANK,
                                row_number()
                                        .over(Window.partitionBy(col(LABEL)).orderBy(key, col(ID))))
                        .withColumn(GROUP_SIZE, count(lit(1)).over(Window.partitionBy(col(LABEL))));
        Column inTrain =
                col(RANK)
                        .leq(
                                floor(
                                        col(GROUP_SIZE)
                                                .cast("double")
                                                .multiply(trainFraction)
                                                .plus(0.5)));
        Dataset<Row> train = ranked.filter(inTrain).drop(RANK, GROUP_SIZE);
        Dataset<Row> test = ranked.filter(not(inTrain)).drop(RANK, GROUP_SIZE);
        return new Split(train, test);
    }
}
