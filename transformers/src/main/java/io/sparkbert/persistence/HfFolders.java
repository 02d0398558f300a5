package io.sparkbert.persistence;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * Where a saved classifier keeps its HF folder: {@code path/hf}, or, when the model was saved
 * inside a larger directory that holds the HF folder itself (the train job's {@code DIR/hf} beside
 * the pipeline's {@code DIR/stages/}), the folder its {@code sparkbert.json} names relative to the
 * model ({@value #HF_DIR_KEY}, e.g. {@code ../../hf}). The relative name keeps the directory
 * loadable after it is moved or copied as a whole, and the weights are stored once. Stateless and
 * thread-safe.
 */
public final class HfFolders {
    /** The HF folder's name below a saved model. */
    public static final String HF = "hf";

    /** The sparkbert.json key naming the HF folder relative to the model, when it moved. */
    public static final String HF_DIR_KEY = "hfDir";

    private static final String INFO = "sparkbert.json";

    private HfFolders() {}

    /**
     * The HF folder of a model saved at {@code path} whose sparkbert.json is {@code info}.
     *
     * @throws IllegalArgumentException when {@value #HF_DIR_KEY} is not {@code ../} steps followed
     *     by folder names
     */
    public static Path of(String path, JsonObject info) {
        if (!info.has(HF_DIR_KEY)) {
            return new Path(path, HF);
        }
        String rel = info.get(HF_DIR_KEY).getAsString();
        Path dir = new Path(path);
        String[] parts = rel.split("/");
        int i = 0;
        while (i < parts.length && parts[i].equals("..") && dir != null) {
            dir = dir.getParent();
            i++;
        }
        if (i == parts.length || dir == null) {
            throw new IllegalArgumentException(
                    path + "/" + INFO + ": " + HF_DIR_KEY + " '" + rel + "' names no folder.");
        }
        for (; i < parts.length; i++) {
            if (parts[i].isEmpty() || parts[i].equals("..") || parts[i].equals(".")) {
                throw new IllegalArgumentException(
                        path
                                + "/"
                                + INFO
                                + ": "
                                + HF_DIR_KEY
                                + " '"
                                + rel
                                + "' must be ../ steps followed by folder names.");
            }
            dir = new Path(dir, parts[i]);
        }
        return dir;
    }

    /**
     * Moves the HF folder of a model saved at {@code savedModel} to {@code hfDir} (a rename on the
     * same file system) and records in the model's sparkbert.json where it went, relative to the
     * model, with format version {@code formatVersion}.
     *
     * @param conf the Hadoop configuration
     * @param savedModel where the model was saved
     * @param hfDir the new place of its HF folder, outside the model's own folder (it must not
     *     exist)
     * @param formatVersion the layout version that knows {@value #HF_DIR_KEY}
     */
    public static void move(
            Configuration conf, String savedModel, String hfDir, int formatVersion) {
        Path model = new Path(savedModel);
        Path target = new Path(hfDir);
        try {
            FileSystem fs = model.getFileSystem(conf);
            model = fs.makeQualified(model);
            target = fs.makeQualified(target);
            // ../ steps up to the deepest folder holding the target, then down to it.
            StringBuilder rel = new StringBuilder();
            Path base = model;
            while (base != null && !isAncestor(base, target)) {
                rel.append("../");
                base = base.getParent();
            }
            if (base == null || base.equals(model)) {
                throw new IllegalArgumentException(
                        hfDir + " cannot hold the HF folder of the model at " + savedModel);
            }
            rel.append(target.toUri().getPath().substring(base.toUri().getPath().length() + 1));
            Path infoFile = new Path(model, INFO);
            JsonObject info;
            try (InputStream in = fs.open(infoFile)) {
                info =
                        JsonParser.parseString(
                                        new String(in.readAllBytes(), StandardCharsets.UTF_8))
                                .getAsJsonObject();
            }
            Path from = of(model.toString(), info);
            if (!fs.rename(from, target)) {
                throw new IllegalStateException("Cannot move " + from + " to " + target);
            }
            info.addProperty(HF_DIR_KEY, rel.toString());
            info.addProperty("formatVersion", formatVersion);
            try (OutputStream os = fs.create(infoFile, true)) {
                os.write(info.toString().getBytes(StandardCharsets.UTF_8));
            }
        } catch (IOException e) {
            throw new IllegalStateException(
                    "Cannot move the HF folder of " + savedModel + ": " + e.getMessage(), e);
        }
    }

    private static boolean isAncestor(Path dir, Path p) {
        String d = dir.toUri().getPath();
        String q = p.toUri().getPath();
        return q.startsWith(d.endsWith("/") ? d : d + "/");
    }
}
