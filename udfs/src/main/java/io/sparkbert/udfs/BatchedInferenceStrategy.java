package io.sparkbert.udfs;

import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.WeakHashMap;
import org.apache.spark.sql.catalyst.expressions.AttributeReference;
import org.apache.spark.sql.catalyst.expressions.AttributeSet;
import org.apache.spark.sql.catalyst.expressions.Expression;
import org.apache.spark.sql.catalyst.expressions.LambdaFunction;
import org.apache.spark.sql.catalyst.expressions.NamedExpression;
import org.apache.spark.sql.catalyst.expressions.ScalaUDF;
import org.apache.spark.sql.catalyst.plans.logical.LogicalPlan;
import org.apache.spark.sql.catalyst.plans.logical.Project;
import org.apache.spark.sql.execution.ProjectExec;
import org.apache.spark.sql.execution.SparkPlan;
import org.apache.spark.sql.execution.SparkStrategy;
import org.apache.spark.sql.types.Metadata;
import scala.collection.JavaConverters;
import scala.collection.Seq;
import scala.runtime.AbstractPartialFunction;

/**
 * Plans projections that call registered model functions ({@code bert_embed}, {@code
 * bert_classify}, ...) as {@link BatchedInferenceExec} operators under a {@link ProjectExec}: the
 * function calls in the projection are replaced by references to the column the batched operator
 * appends. Calls anywhere else (a filter, a join condition, an aggregate) keep the row-at-a-time
 * UDF, which computes the same values, one forward pass per row. So do calls inside a lambda
 * ({@code transform(arr, x -> bert_embed(x))}), whose argument is not a column of the child.
 *
 * <p>A call is recognised by the function object of its {@link ScalaUDF}, not by its name: a plan
 * analysed before a name was registered again keeps the model it was analysed with, and a function
 * that replaces one of ours under the same name (another model without a head, or any user UDF) is
 * never taken for ours.
 *
 * <p>Thread-safe: the registry is a synchronized weak map, so functions that no plan and no
 * registration refer to any more can be collected.
 */
final class BatchedInferenceStrategy extends SparkStrategy {
    private final Map<Object, BatchedCall> functions =
            Collections.synchronizedMap(new WeakHashMap<>());

    /**
     * Records that a ScalaUDF whose {@code function()} is {@code udfFunction} computes {@code
     * call}.
     */
    void register(Object udfFunction, BatchedCall call) {
        functions.put(udfFunction, call);
    }

    @Override
    public Seq<SparkPlan> apply(LogicalPlan plan) {
        if (!(plan instanceof Project)) {
            return emptySeq();
        }
        Project project = (Project) plan;
        List<ScalaUDF> calls = new ArrayList<>();
        AttributeSet available = project.child().outputSet();
        for (NamedExpression e : JavaConverters.seqAsJavaList(project.projectList())) {
            collect((Expression) e, available, calls);
        }
        if (calls.isEmpty()) {
            return emptySeq();
        }
        SparkPlan child = planLater(project.child());
        Map<ScalaUDF, AttributeReference> replacements = new IdentityHashMap<>();
        int i = 0;
        for (ScalaUDF udf : calls) {
            BatchedCall call = functions.get(udf.function());
            AttributeReference out =
                    new AttributeReference(
                            "__sparkbert_" + call.functionName() + "_" + i++,
                            call.resultType(),
                            true,
                            Metadata.empty(),
                            org.apache.spark.sql.catalyst.expressions.NamedExpression$.MODULE$
                                    .newExprId(),
                            JavaConverters.asScalaBuffer(new ArrayList<String>()).toSeq());
            child = new BatchedInferenceExec(udf.children().apply(0), call, out, child);
            replacements.put(udf, out);
        }
        List<NamedExpression> newList = new ArrayList<>();
        for (NamedExpression e : JavaConverters.seqAsJavaList(project.projectList())) {
            newList.add((NamedExpression) ((Expression) e).transformUp(new Replace(replacements)));
        }
        SparkPlan exec = new ProjectExec(JavaConverters.asScalaBuffer(newList).toSeq(), child);
        return JavaConverters.asScalaBuffer(List.of(exec)).toSeq();
    }

    private void collect(Expression e, AttributeSet available, List<ScalaUDF> out) {
        if (e instanceof LambdaFunction) {
            return; // its body sees lambda variables, which only the enclosing function binds
        }
        if (e instanceof ScalaUDF) {
            ScalaUDF udf = (ScalaUDF) e;
            if (functions.containsKey(udf.function())
                    && udf.children().size() == 1
                    && udf.children().apply(0).references().subsetOf(available)) {
                for (ScalaUDF seen : out) {
                    if (seen == udf) {
                        return;
                    }
                }
                out.add(udf);
                return;
            }
        }
        for (Expression c : JavaConverters.seqAsJavaList(e.children())) {
            collect(c, available, out);
        }
    }

    private static Seq<SparkPlan> emptySeq() {
        return JavaConverters.asScalaBuffer(new ArrayList<SparkPlan>()).toSeq();
    }

    /** Swaps each batched call for the attribute its operator appends. */
    private static final class Replace extends AbstractPartialFunction<Expression, Expression> {
        private final Map<ScalaUDF, AttributeReference> replacements;

        Replace(Map<ScalaUDF, AttributeReference> replacements) {
            this.replacements = replacements;
        }

        @Override
        public boolean isDefinedAt(Expression e) {
            return e instanceof ScalaUDF && replacements.containsKey(e);
        }

        @Override
        public Expression apply(Expression e) {
            AttributeReference r = replacements.get(e);
            return r != null ? r : e;
        }
    }
}
