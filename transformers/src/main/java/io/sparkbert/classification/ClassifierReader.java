package io.sparkbert.classification;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.apache.spark.ml.util.DefaultParamsReader;
import org.apache.spark.ml.util.MLReader;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.Option;

/**
 * Reads a saved (unfitted) {@link BertClassifier}, also inside a saved {@code Pipeline}. Spark's
 * own reader refuses metadata that names a param the class no longer has; params removed from
 * spark-bert are dropped here instead, with a warning naming them, so that older saves still load.
 */
final class ClassifierReader extends MLReader<BertClassifier> {
    private static final Logger LOG = LoggerFactory.getLogger(ClassifierReader.class);

    /** Params that earlier versions had and that measured no gain (docs/lab-notes.md). */
    static final Set<String> REMOVED =
            Set.of(
                    "headLearningRate",
                    "layerLrDecay",
                    "emaDecay",
                    "rdropAlpha",
                    "samRho",
                    "soupSize");

    @Override
    public BertClassifier load(String path) {
        String json = sc().textFile(path + "/metadata", 1).first();
        Stripped s = strip(json);
        if (!s.ignored().isEmpty()) {
            LOG.warn(s.warning(path));
        }
        DefaultParamsReader.Metadata meta =
                DefaultParamsReader.parseMetadata(s.json(), BertClassifier.class.getName());
        BertClassifier c = new BertClassifier(meta.uid());
        meta.getAndSetParams(c, Option.empty());
        return c;
    }

    /** Metadata JSON without the removed params, and the names that were dropped. */
    record Stripped(String json, List<String> ignored) {
        String warning(String path) {
            return "BertClassifier at "
                    + path
                    + ": ignoring "
                    + ignored
                    + ", removed from spark-bert (they measured no gain); the other params load"
                    + " as saved.";
        }
    }

    static Stripped strip(String metadataJson) {
        JsonObject meta = JsonParser.parseString(metadataJson).getAsJsonObject();
        List<String> ignored = new ArrayList<>();
        for (String map : List.of("paramMap", "defaultParamMap")) {
            if (meta.has(map) && meta.get(map).isJsonObject()) {
                JsonObject params = meta.getAsJsonObject(map);
                for (String name : REMOVED) {
                    if (params.remove(name) != null && !ignored.contains(name)) {
                        ignored.add(name);
                    }
                }
                // lrSchedule was renamed lrScheduler (HF's word) when cosine was added.
                if (params.has("lrSchedule") && !params.has("lrScheduler")) {
                    params.add("lrScheduler", params.remove("lrSchedule"));
                } else {
                    params.remove("lrSchedule");
                }
            }
        }
        ignored.sort(null);
        return new Stripped(meta.toString(), ignored);
    }
}
