package io.sparkbert.jobs;

import static org.apache.spark.ml.functions.vector_to_array;
import static org.apache.spark.sql.functions.array;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.element_at;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.to_json;
import static org.apache.spark.sql.functions.transform;
import static org.apache.spark.sql.functions.when;

import io.sparkbert.bert.BuiltInModel;
import io.sparkbert.bert.ProblemType;
import io.sparkbert.classification.BertClassificationModel;
import io.sparkbert.inference.TextColumns;
import io.sparkbert.persistence.HadoopFiles;
import io.sparkbert.persistence.ModelLocation;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.Transformer;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;

/**
 * A loaded classifier applied to input rows: keeps the input columns and adds {@value #PREDICTION}
 * (double), the class name column, {@value #PROBABILITY} and {@value #RAW_PREDICTION} (arrays of
 * doubles). Rows whose text is null or blank (whitespace only) are kept with null outputs. A
 * multi-label model gives {@value #PREDICTION} and the class name column as arrays (the classes
 * over their thresholds); a regression model gives {@value #PREDICTION} (the value) alone.
 *
 * <p>Immutable and thread-safe (Spark plans only).
 *
 * @param model the pipeline
 * @param labels class names, index = class id
 * @param hasPair whether the model reads a second text
 * @param source what {@code --model} named, for manifests
 */
record Scorer(PipelineModel model, List<String> labels, boolean hasPair, String source) {
    /** Output column of the class index. */
    static final String PREDICTION = "prediction";

    /** Output column of the class probabilities. */
    static final String PROBABILITY = "probability";

    /** Output column of the raw scores (logits). */
    static final String RAW_PREDICTION = "rawPrediction";

    /**
     * Loads {@code --model}: a model dir written by {@link TrainJob}, or a HF checkpoint dir with a
     * classification head.
     *
     * @param wantPair whether the job was given {@code --pair-col}
     * @throws IllegalArgumentException for a dir that is neither, or a pair mismatch
     */
    static Scorer load(
            SparkSession spark, ModelBackend backend, String dir, boolean wantPair, JobOptions o) {
        BuiltInModel builtIn = ModelLocation.of(dir).builtIn();
        if (builtIn != null) {
            throw new IllegalArgumentException(builtInHasNoHead(dir.trim(), builtIn));
        }
        Configuration conf = spark.sparkContext().hadoopConfiguration();
        org.apache.hadoop.fs.Path path = new org.apache.hadoop.fs.Path(dir);
        if (STAGING_NAME.matcher(path.getName()).matches()) {
            throw new IllegalArgumentException(
                    "--model: '"
                            + dir
                            + "' is the staging dir of a train or score run that did not finish,"
                            + " not a model; name the model dir itself (rerun train if it is"
                            + " missing) and delete the staging dir.");
        }
        if (!HadoopFiles.exists(conf, path)) {
            throw new IllegalArgumentException(
                    "--model: '"
                            + dir
                            + "' does not exist"
                            + (unfinishedRunLeftovers(conf, path)
                                    ? " (a train run into it did not finish and left a hidden"
                                            + " staging dir next to it; rerun train)."
                                    : "."));
        }
        Scorer s;
        if (ModelDir.isModelDir(conf, dir)) {
            ModelDir md = ModelDir.read(conf, dir);
            if (md.hasPair() != wantPair) {
                throw new IllegalArgumentException(
                        md.hasPair()
                                ? "--pair-col: the model was trained on text pairs; name the"
                                        + " column of the second texts with --pair-col."
                                : "--pair-col: the model was trained on single texts; drop"
                                        + " --pair-col.");
            }
            s = new Scorer(md.load(), md.labels(), md.hasPair(), dir);
        } else if (ModelDir.isCheckpointDir(conf, dir)) {
            ModelBackend.LoadedModel m = backend.loadCheckpoint(dir, wantPair);
            s = new Scorer(m.model(), m.labels(), wantPair, dir);
        } else {
            throw new IllegalArgumentException(
                    "--model: '"
                            + dir
                            + "' is neither a model dir written by the train job ("
                            + ModelDir.META
                            + ") nor a HF checkpoint dir (config.json).");
        }
        backend.configureScoring(s.model, o);
        return s;
    }

    /** Why {@code score --model default} (or another built-in) cannot work, and the two ways on. */
    static String builtInHasNoHead(String name, BuiltInModel builtIn) {
        return "--model "
                + name
                + ": the built-in "
                + builtIn.hfName()
                + " is an encoder without a trained classification head, so it has no classes to"
                + " score. Either fine-tune it first (scripts/sparkbert train --model "
                + name
                + " --input LABELLED --output MODEL_DIR) and score with --model MODEL_DIR, or use"
                + " scripts/sparkbert embed --model "
                + name
                + " for sentence vectors.";
    }

    /** Names of the hidden staging dirs that the jobs write before renaming into place. */
    static final java.util.regex.Pattern STAGING_NAME =
            java.util.regex.Pattern.compile("\\..+\\.staging-[0-9a-f-]{36}");

    private static boolean unfinishedRunLeftovers(
            Configuration conf, org.apache.hadoop.fs.Path path) {
        org.apache.hadoop.fs.Path parent = path.getParent();
        if (parent == null || !HadoopFiles.exists(conf, parent)) {
            return false;
        }
        try {
            String prefix = "." + path.getName() + ".staging-";
            for (org.apache.hadoop.fs.FileStatus st :
                    HadoopFiles.fs(conf, parent).listStatus(parent)) {
                if (st.getPath().getName().startsWith(prefix)) {
                    return true;
                }
            }
            return false;
        } catch (java.io.IOException e) {
            return false; // only a hint for the message
        }
    }

    /** Checks that the output columns do not exist in {@code schema} columns. */
    void checkOutputColumns(String[] columns, String labelOut) {
        List<String> present = Arrays.asList(columns);
        for (String c : List.of(PREDICTION, PROBABILITY, RAW_PREDICTION, labelOut)) {
            if (present.contains(c)) {
                throw new IllegalArgumentException(
                        "The input already has a column '"
                                + c
                                + "', which scoring adds; drop or rename it first"
                                + (c.equals(labelOut)
                                        ? " or choose another name with --label-out-col."
                                        : "."));
            }
        }
    }

    /**
     * Scores {@code input}: its columns followed by the outputs.
     *
     * @param textCol the text column (checked)
     * @param pairCol the pair column or null
     * @param labelOut name of the class name column
     */
    Dataset<Row> score(Dataset<Row> input, String textCol, String pairCol, String labelOut) {
        Inputs.requireStringColumn(input, textCol, "text-col");
        if (pairCol != null) {
            Inputs.requireStringColumn(input, pairCol, "pair-col");
        }
        checkOutputColumns(input.columns(), labelOut);
        List<Column> keep = new ArrayList<>();
        for (String c : input.columns()) {
            keep.add(TextColumns.named(c));
        }
        // Every row goes through the model in one pass, so rows keep their order and partitions;
        // a row without text is scored on a placeholder and its outputs are nulled afterwards
        // (splitting the rows and taking a union would move such rows to the end).
        Column present = TextColumns.scorable(textCol, pairCol);
        Dataset<Row> withText =
                input.withColumn(VALID, present)
                        .withColumn(
                                ModelBackend.TEXT,
                                when(col(VALID), TextColumns.named(textCol))
                                        .otherwise(lit(PLACEHOLDER)));
        if (pairCol != null) {
            withText =
                    withText.withColumn(
                            ModelBackend.PAIR,
                            when(col(VALID), TextColumns.named(pairCol))
                                    .otherwise(lit(PLACEHOLDER)));
        }
        Column valid = col(VALID);
        Column[] names = labels.stream().map(l -> lit(l)).toArray(Column[]::new);
        List<Column> scoredCols = new ArrayList<>(keep);
        ProblemType type = problemType();
        if (type == ProblemType.REGRESSION) {
            scoredCols.add(when(valid, col(PREDICTION)).as(PREDICTION));
            return model.transform(withText).select(scoredCols.toArray(new Column[0]));
        }
        if (type == ProblemType.MULTI_LABEL) {
            // prediction: the class indices over their thresholds; the names of those classes.
            scoredCols.add(when(valid, col(PREDICTION)).as(PREDICTION));
            scoredCols.add(
                    when(
                                    valid,
                                    transform(
                                            col(PREDICTION),
                                            c ->
                                                    element_at(
                                                            array(names),
                                                            c.cast(DataTypes.IntegerType).plus(1))))
                            .as(labelOut));
            scoredCols.add(
                    when(valid, vector_to_array(col(PROBABILITY), "float64")).as(PROBABILITY));
            scoredCols.add(
                    when(valid, vector_to_array(col(RAW_PREDICTION), "float64"))
                            .as(RAW_PREDICTION));
            return model.transform(withText).select(scoredCols.toArray(new Column[0]));
        }
        scoredCols.add(when(valid, col(PREDICTION).cast(DataTypes.DoubleType)).as(PREDICTION));
        scoredCols.add(
                when(
                                valid,
                                element_at(
                                        array(names),
                                        col(PREDICTION).cast(DataTypes.IntegerType).plus(1)))
                        .as(labelOut));
        scoredCols.add(when(valid, vector_to_array(col(PROBABILITY), "float64")).as(PROBABILITY));
        scoredCols.add(
                when(valid, vector_to_array(col(RAW_PREDICTION), "float64")).as(RAW_PREDICTION));
        return model.transform(withText).select(scoredCols.toArray(new Column[0]));
    }

    /** What the model predicts: its BERT stage's problem type (single-label for other backends). */
    ProblemType problemType() {
        for (Transformer t : model.stages()) {
            if (t instanceof BertClassificationModel m) {
                return m.problemType();
            }
        }
        return ProblemType.SINGLE_LABEL;
    }

    /**
     * {@code scored} for CSV, which has no array type: every array column as a JSON array string
     * such as {@code "[0.1,0.9]"} (probabilities, logits, and a multi-label model's predicted
     * indices and names).
     */
    static Dataset<Row> forCsv(Dataset<Row> scored) {
        for (StructField f : scored.schema().fields()) {
            if (f.dataType() instanceof ArrayType) {
                scored = scored.withColumn(f.name(), to_json(TextColumns.named(f.name())));
            }
        }
        return scored;
    }

    /** Hidden column: whether a row has the text(s) the model needs. */
    private static final String VALID = ModelBackend.INTERNAL_PREFIX + "valid";

    /** What the model reads in place of a null or blank text; its outputs are discarded. */
    private static final String PLACEHOLDER = ".";
}
