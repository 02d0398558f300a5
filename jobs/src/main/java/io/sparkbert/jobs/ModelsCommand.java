package io.sparkbert.jobs;

import io.sparkbert.bert.BuiltInModel;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * {@code models}: lists the built-in encoders a {@code --model} value can name, with their size,
 * layers, pooling and whether their jar is on this classpath (and if not, the Maven coordinate that
 * adds it). No Spark, no model loading. Stateless.
 */
public final class ModelsCommand {
    static final String USAGE = "Usage: models";

    private ModelsCommand() {}

    /** Prints the table to stdout and exits (0, or 2 on arguments). */
    public static void main(String[] args) {
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        System.exit(run(args, out, System.err));
    }

    /** Prints the table to {@code out}; returns the exit code. */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        if (args.length > 0) {
            boolean help = args[0].equals("--help") || args[0].equals("-h");
            (help ? out : err).println(USAGE);
            return help ? 0 : 2;
        }
        String row = "%-18s %-40s %7s %6s %-7s %s%n";
        out.printf(Locale.ROOT, row, "NAME", "MODEL", "SIZE", "LAYERS", "POOLING", "PRESENT");
        for (BuiltInModel m : BuiltInModel.values()) {
            String name = m.id() + (m == BuiltInModel.defaultModel() ? " *" : "");
            String present =
                    m.isPresent()
                            ? "yes"
                            : "no: build with -Pextra-encoders or add the jar " + m.coordinate();
            out.printf(
                    Locale.ROOT,
                    row,
                    name,
                    m.hfName(),
                    String.format(Locale.ROOT, "%.0f MB", m.onnxBytes() / 1e6),
                    m.layers(),
                    m.pooling().name().toLowerCase(Locale.ROOT),
                    present);
        }
        out.println(
                "* = "
                        + BuiltInModel.DEFAULT_ALIAS
                        + ". Size: fp32 ONNX weights. Use a name as --model (hidden size 384 for"
                        + " all).");
        return 0;
    }
}
