package io.sparkbert.classification;

import io.sparkbert.bert.HfExport;
import io.sparkbert.bert.train.TrainingSummary;
import io.sparkbert.persistence.HadoopFiles;
import io.sparkbert.persistence.HfFolders;
import java.nio.charset.StandardCharsets;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.spark.ml.util.DefaultParamsReader;
import org.apache.spark.ml.util.DefaultParamsWriter;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.ml.util.MLWriter;
import scala.Option;

/**
 * The saved form of a {@link BertClassificationModel} (layout in its class comment): the writer and
 * the reader, which checks the format version.
 */
final class ClassificationModelFiles {
    private ClassificationModelFiles() {}

    /** Writes metadata plus the HF files; see the class comment for the layout. */
    static final class Writer extends MLWriter {
        private final BertClassificationModel instance;

        Writer(BertClassificationModel instance) {
            this.instance = instance;
        }

        @Override
        public void saveImpl(String path) {
            DefaultParamsWriter.saveMetadata(instance, path, sc(), Option.empty(), Option.empty());
            Configuration conf = sc().hadoopConfiguration();
            ClassifierPayload p = instance.payload();
            HfExport.classifierFiles(p.configJson, p.weights, p.tokenizerJson, p.pooling)
                    .forEach(
                            (name, data) ->
                                    write(
                                            conf,
                                            new Path(path, BertClassificationModel.HF + "/" + name),
                                            data));
            com.google.gson.JsonObject info = new com.google.gson.JsonObject();
            info.addProperty("formatVersion", BertClassificationModel.FORMAT_VERSION);
            info.addProperty("modelId", p.modelId);
            info.addProperty("pooling", p.pooling);
            info.addProperty("numClasses", p.numClasses);
            write(conf, new Path(path, "sparkbert.json"), bytes(info.toString()));
            if (instance.hasSummary()) {
                write(
                        conf,
                        new Path(path, "training-summary.json"),
                        bytes(instance.summary().toJson()));
            }
        }

        private static byte[] bytes(String s) {
            return s.getBytes(StandardCharsets.UTF_8);
        }

        private static void write(Configuration conf, Path file, byte[] data) {
            HadoopFiles.write(conf, file, data);
        }
    }

    /** Reads what {@link Writer} wrote, checking the format version. */
    static final class Reader extends MLReader<BertClassificationModel> {
        @Override
        public BertClassificationModel load(String path) {
            DefaultParamsReader.Metadata meta =
                    DefaultParamsReader.loadMetadata(
                            path, sc(), BertClassificationModel.class.getName());
            Configuration conf = sc().hadoopConfiguration();
            com.google.gson.JsonObject info =
                    com.google.gson.JsonParser.parseString(
                                    text(conf, new Path(path, "sparkbert.json")))
                            .getAsJsonObject();
            int version = info.has("formatVersion") ? info.get("formatVersion").getAsInt() : -1;
            if (version != BertClassificationModel.FORMAT_VERSION && version != 1) {
                throw new IllegalArgumentException(
                        "BertClassificationModel at "
                                + path
                                + " has format version "
                                + version
                                + " but this spark-bert reads versions 1 to "
                                + BertClassificationModel.FORMAT_VERSION
                                + ": load it with the spark-bert version that wrote it.");
            }
            Path hf = HfFolders.of(path, info);
            String configJson = text(conf, new Path(hf, HfExport.CONFIG));
            Path headFile = new Path(hf, HfExport.HEAD);
            byte[] weights =
                    HfExport.classifierWeights(
                            read(conf, new Path(hf, HfExport.WEIGHTS)),
                            exists(conf, headFile) ? read(conf, headFile) : null,
                            hf.toString());
            HfExport.warnIfMisleading(configJson, path);
            ClassifierPayload payload =
                    new ClassifierPayload(
                            info.get("modelId").getAsString(),
                            configJson,
                            weights,
                            text(conf, new Path(hf, HfExport.TOKENIZER)),
                            HfExport.pooling(configJson),
                            info.get("numClasses").getAsInt());
            Path summaryFile = new Path(path, "training-summary.json");
            TrainingSummary summary = null;
            if (exists(conf, summaryFile)) {
                summary = TrainingSummary.fromJson(text(conf, summaryFile));
            }
            BertClassificationModel model =
                    new BertClassificationModel(meta.uid(), payload, summary);
            meta.getAndSetParams(model, Option.empty());
            return model;
        }

        private static boolean exists(Configuration conf, Path file) {
            return HadoopFiles.exists(conf, file);
        }

        private static String text(Configuration conf, Path file) {
            return new String(read(conf, file), StandardCharsets.UTF_8);
        }

        private static byte[] read(Configuration conf, Path file) {
            if (!HadoopFiles.exists(conf, file)) {
                throw new IllegalArgumentException(
                        "Saved BertClassificationModel is incomplete: "
                                + file
                                + " is missing; save the model again.");
            }
            return HadoopFiles.readBytes(conf, file);
        }
    }
}
