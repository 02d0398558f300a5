package io.sparkbert.jobs;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sparkbert.bert.BuiltInModel;
import io.sparkbert.bert.Encoding;
import io.sparkbert.bert.HfTokenizer;
import io.sparkbert.bert.TokenizerOptions;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;

/**
 * {@code tokenize}: shows how the BERT tokenizer splits and encodes texts, without Spark.
 *
 * <pre>
 * tokenize [--model DIR|default] [--pair TEXT_B] [--max-length N] [--truncation S]
 *          [--padding S] [--json] TEXT...
 * </pre>
 *
 * With {@code --json}, stdout carries exactly one JSON object per text and line (keys {@code text},
 * {@code tokens}, {@code ids}, {@code input_ids}, {@code token_type_ids}, {@code attention_mask},
 * {@code decoded}); everything else, logging included, goes to stderr. Exit codes: 0 success, 1
 * tokenization failure, 2 bad arguments. Stateless; each call of {@link #run} is independent.
 */
public final class TokenizeCommand {
    static final String USAGE =
            "Usage: tokenize [--model DIR|default] [--pair TEXT_B] [--max-length N]"
                    + " [--truncation longest_first|only_first|only_second|none]"
                    + " [--padding none|longest|max_length] [--json] TEXT...";

    private static final ObjectMapper JSON = new ObjectMapper();

    private TokenizeCommand() {}

    /**
     * Runs the command with the real stdout; anything else that writes to {@code System.out}
     * (library logging) is sent to stderr so that {@code --json} output stays clean.
     */
    public static void main(String[] args) {
        PrintStream stdout =
                new PrintStream(
                        new java.io.FileOutputStream(java.io.FileDescriptor.out),
                        true,
                        StandardCharsets.UTF_8);
        System.setOut(System.err);
        int code = run(args, stdout, System.err);
        stdout.flush();
        System.exit(code);
    }

    /** Parses {@code args}, tokenizes, prints to {@code out}; returns the exit code. */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        String model = "default";
        String pair = null;
        TokenizerOptions options = TokenizerOptions.defaults();
        boolean json = false;
        List<String> texts = new ArrayList<>();
        try {
            for (int i = 0; i < args.length; i++) {
                String a = args[i];
                switch (a) {
                    case "--model":
                        model = value(args, ++i, a);
                        break;
                    case "--pair":
                        pair = value(args, ++i, a);
                        break;
                    case "--max-length":
                        String n = value(args, ++i, a);
                        try {
                            options = options.withMaxLength(Integer.parseInt(n));
                        } catch (NumberFormatException e) {
                            throw new IllegalArgumentException(
                                    "--max-length needs a positive integer, got '" + n + "'");
                        }
                        break;
                    case "--truncation":
                        options = options.withTruncation(value(args, ++i, a));
                        break;
                    case "--padding":
                        options = options.withPadding(value(args, ++i, a));
                        break;
                    case "--json":
                        json = true;
                        break;
                    case "-h":
                    case "--help":
                        out.println(USAGE);
                        return 0;
                    case "--":
                        texts.addAll(Arrays.asList(args).subList(i + 1, args.length));
                        i = args.length;
                        break;
                    default:
                        if (a.startsWith("--")) {
                            throw new IllegalArgumentException(
                                    "Unknown option "
                                            + a
                                            + " (use -- before texts that start"
                                            + " with --)");
                        }
                        texts.add(a);
                }
            }
            if (texts.isEmpty()) {
                throw new IllegalArgumentException("No TEXT given");
            }
        } catch (IllegalArgumentException e) {
            err.println("tokenize: " + e.getMessage());
            err.println(USAGE);
            return 2;
        }

        try (HfTokenizer tokenizer = open(model, options)) {
            Encoding[] encodings =
                    pair == null
                            ? tokenizer.encodeBatch(texts)
                            : tokenizer.encodeBatch(texts, Collections.nCopies(texts.size(), pair));
            for (int i = 0; i < texts.size(); i++) {
                String text = texts.get(i);
                List<String> tokens = tokenizer.tokenize(text);
                long[] ids = tokenizer.convertTokensToIds(tokens);
                String decoded = tokenizer.decode(ids, true, true);
                if (json) {
                    out.println(toJson(text, tokens, ids, encodings[i], decoded));
                } else {
                    if (i > 0) {
                        out.println();
                    }
                    printReadable(out, text, pair, tokens, ids, encodings[i], decoded);
                }
            }
            out.flush();
            return 0;
        } catch (IllegalArgumentException | IllegalStateException e) {
            err.println("tokenize: " + e.getMessage());
            return 1;
        }
    }

    private static HfTokenizer open(String model, TokenizerOptions options) {
        return BuiltInModel.find(model)
                .map(m -> HfTokenizer.builtIn(m, options))
                .orElseGet(() -> HfTokenizer.fromDirectory(Paths.get(model), options));
    }

    private static String value(String[] args, int i, String option) {
        if (i >= args.length) {
            throw new IllegalArgumentException(option + " needs a value");
        }
        return args[i];
    }

    static String toJson(String text, List<String> tokens, long[] ids, Encoding e, String decoded) {
        ObjectNode o = JSON.createObjectNode();
        o.put("text", text);
        ArrayNode t = o.putArray("tokens");
        tokens.forEach(t::add);
        array(o.putArray("ids"), ids);
        array(o.putArray("input_ids"), e.inputIds());
        array(o.putArray("token_type_ids"), e.tokenTypeIds());
        array(o.putArray("attention_mask"), e.attentionMask());
        o.put("decoded", decoded);
        return o.toString();
    }

    private static void array(ArrayNode a, long[] values) {
        for (long v : values) {
            a.add(v);
        }
    }

    private static void printReadable(
            PrintStream out,
            String text,
            String pair,
            List<String> tokens,
            long[] ids,
            Encoding e,
            String decoded) {
        out.println("text:           " + text);
        if (pair != null) {
            out.println("pair:           " + pair);
        }
        out.println("tokens:         " + String.join(" ", tokens));
        out.println("ids:            " + Arrays.toString(ids));
        out.println("encoded tokens: " + String.join(" ", e.tokens()));
        out.println("input_ids:      " + Arrays.toString(e.inputIds()));
        out.println("token_type_ids: " + Arrays.toString(e.tokenTypeIds()));
        out.println("attention_mask: " + Arrays.toString(e.attentionMask()));
        out.println("decoded:        " + decoded);
    }
}
