package io.sparkbert.jobs;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The effective options of one job run, merged from three layers, later ones winning:
 *
 * <ol>
 *   <li>{@code <conf dir>/<job>.conf}: the defaults. The conf dir is the system property {@value
 *       #CONF_DIR_PROPERTY}, else the environment variable {@value #CONF_DIR_ENV}, else the copy of
 *       the project's {@code conf/} compiled into the jar (resource {@value #CONF_RESOURCE}).
 *   <li>{@code --conf FILE}: a file in the same {@code key = value} format.
 *   <li>command-line flags: {@code --key value} or {@code --key=value}.
 * </ol>
 *
 * Every key must be declared by the job; unknown keys and bad values fail with an {@link
 * IllegalArgumentException} that names the flag and what is allowed. An empty value means "not
 * set".
 *
 * <p>Immutable after parsing and thread-safe.
 */
public final class JobOptions {
    /** System property naming the directory with the {@code <job>.conf} defaults. */
    public static final String CONF_DIR_PROPERTY = "sparkbert.conf.dir";

    /** Environment variable naming the directory with the {@code <job>.conf} defaults. */
    public static final String CONF_DIR_ENV = "SPARKBERT_CONF_DIR";

    /** Class-path folder holding the compiled-in copy of {@code conf/}. */
    public static final String CONF_RESOURCE = "sparkbert-conf";

    private final String job;
    private final Map<String, JobOption> specs;
    private final Map<String, String> defaults;
    private final Map<String, String> values;
    private final Map<String, String> origins;
    private final boolean help;

    private JobOptions(
            String job,
            Map<String, JobOption> specs,
            Map<String, String> defaults,
            Map<String, String> values,
            Map<String, String> origins,
            boolean help) {
        this.job = job;
        this.specs = specs;
        this.defaults = defaults;
        this.values = values;
        this.origins = origins;
        this.help = help;
    }

    /**
     * Parses {@code args} for {@code job} with the defaults from the conf dir found as described
     * above.
     */
    public static JobOptions parse(String job, List<JobOption> options, String[] args) {
        return parse(job, options, args, confDir());
    }

    /**
     * Parses {@code args} with the defaults read from {@code confDir/<job>.conf}, or from the
     * compiled-in copy when {@code confDir} is null.
     *
     * @throws IllegalArgumentException for an unknown flag, a missing value, a bad value or an
     *     unreadable conf file
     */
    public static JobOptions parse(
            String job, List<JobOption> options, String[] args, Path confDir) {
        Map<String, JobOption> specs = new LinkedHashMap<>();
        for (JobOption o : options) {
            specs.put(o.key(), o);
        }
        Map<String, String> values = new LinkedHashMap<>();
        Map<String, String> origins = new LinkedHashMap<>();
        String defaultsName;
        if (confDir != null) {
            Path file = confDir.resolve(job + ".conf");
            if (!Files.isRegularFile(file)) {
                throw new IllegalArgumentException(
                        "Defaults file "
                                + file
                                + " does not exist; "
                                + CONF_DIR_PROPERTY
                                + " / "
                                + CONF_DIR_ENV
                                + " must name the project's conf/ directory.");
            }
            defaultsName = file.toString();
            try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
                readConf(r, defaultsName, specs, values, origins);
            } catch (IOException e) {
                throw new IllegalArgumentException(
                        "Cannot read defaults file " + file + ": " + e, e);
            }
        } else {
            String resource = CONF_RESOURCE + "/" + job + ".conf";
            defaultsName = "jar:" + resource;
            InputStream in = JobOptions.class.getClassLoader().getResourceAsStream(resource);
            if (in == null) {
                throw new IllegalStateException(
                        "The jar lacks its compiled-in defaults " + resource + "; rebuild it.");
            }
            try (Reader r = new InputStreamReader(in, StandardCharsets.UTF_8)) {
                readConf(r, defaultsName, specs, values, origins);
            } catch (IOException e) {
                throw new IllegalStateException("Cannot read " + resource, e);
            }
        }
        Map<String, String> defaults = new LinkedHashMap<>(values);

        // --conf FILE first (wherever it appears), then the flags in order.
        List<String[]> flags = new ArrayList<>();
        boolean help = false;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("--help") || a.equals("-h")) {
                help = true;
                continue;
            }
            if (!a.startsWith("--") || a.length() == 2) {
                throw new IllegalArgumentException(
                        "Unexpected argument '"
                                + a
                                + "': options are --key value pairs; run with --help for the list.");
            }
            String key;
            String value;
            int eq = a.indexOf('=');
            if (eq > 0) {
                key = a.substring(2, eq);
                value = a.substring(eq + 1);
            } else {
                key = a.substring(2);
                if (i + 1 >= args.length) {
                    throw new IllegalArgumentException("--" + key + " needs a value.");
                }
                value = args[++i];
            }
            flags.add(new String[] {key, value});
        }
        if (help) {
            return new JobOptions(job, specs, defaults, values, origins, true);
        }
        for (String[] f : flags) {
            if (f[0].equals("conf")) {
                Path file = Path.of(f[1]);
                try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
                    readConf(r, file.toString(), specs, values, origins);
                } catch (IOException e) {
                    throw new IllegalArgumentException(
                            "--conf: cannot read '" + f[1] + "' (" + e.getMessage() + ").", e);
                }
            }
        }
        for (String[] f : flags) {
            if (f[0].equals("conf")) {
                continue;
            }
            JobOption spec = specs.get(f[0]);
            if (spec == null) {
                throw unknown("--" + f[0], "on the command line", specs);
            }
            values.put(f[0], spec.check(f[1], "command line"));
            origins.put(f[0], "command line");
        }
        return new JobOptions(job, specs, defaults, values, origins, false);
    }

    private static void readConf(
            Reader reader,
            String name,
            Map<String, JobOption> specs,
            Map<String, String> values,
            Map<String, String> origins)
            throws IOException {
        BufferedReader r = new BufferedReader(reader);
        String line;
        int n = 0;
        while ((line = r.readLine()) != null) {
            n++;
            String t = line.strip();
            if (t.isEmpty() || t.startsWith("#")) {
                continue;
            }
            int eq = t.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException(
                        name + ":" + n + ": expected 'key = value' but found '" + t + "'.");
            }
            String key = t.substring(0, eq).strip();
            String value = t.substring(eq + 1).strip();
            JobOption spec = specs.get(key);
            if (spec == null) {
                throw unknown("key '" + key + "'", "in " + name + ":" + n, specs);
            }
            String origin = name + ":" + n;
            values.put(key, spec.check(value, origin));
            origins.put(key, origin);
        }
    }

    private static IllegalArgumentException unknown(
            String what, String where, Map<String, JobOption> specs) {
        return new IllegalArgumentException(
                "Unknown option "
                        + what
                        + " "
                        + where
                        + "; known options: --"
                        + String.join(", --", specs.keySet())
                        + ", --conf FILE, --help.");
    }

    /** The conf dir from the system property or environment, or null for the jar's copy. */
    public static Path confDir() {
        String dir = System.getProperty(CONF_DIR_PROPERTY);
        if (dir == null || dir.isBlank()) {
            dir = System.getenv(CONF_DIR_ENV);
        }
        return dir == null || dir.isBlank() ? null : Path.of(dir);
    }

    /** The job name, e.g. {@code train}. */
    public String job() {
        return job;
    }

    /** True when {@code --help} was given; values are then the defaults only. */
    public boolean helpRequested() {
        return help;
    }

    /** The usage text: every option with its description and default. */
    public String usage() {
        StringBuilder sb = new StringBuilder();
        sb.append("usage: scripts/sparkbert ")
                .append(job)
                .append(" [--master URL] [--spark-conf K=V] [--conf FILE] [options]\n\n")
                .append("options (defaults from conf/")
                .append(job)
                .append(".conf; --conf FILE overrides them, flags override both):\n");
        for (JobOption o : specs.values()) {
            sb.append(o.usage(defaults.get(o.key()))).append('\n');
        }
        return sb.toString();
    }

    /** The value of {@code key}, empty when unset or blank. */
    public Optional<String> get(String key) {
        spec(key);
        String v = values.get(key);
        return v == null || v.isEmpty() ? Optional.empty() : Optional.of(v);
    }

    /**
     * The value of {@code key}.
     *
     * @throws IllegalArgumentException when it is not set
     */
    public String require(String key) {
        return get(key).orElseThrow(
                        () ->
                                new IllegalArgumentException(
                                        "--"
                                                + key
                                                + " is required ("
                                                + spec(key).description()
                                                + ")."));
    }

    /** The int value of {@code key} (which must be set). */
    public int getInt(String key) {
        return Integer.parseInt(require(key));
    }

    /** The long value of {@code key} (which must be set). */
    public long getLong(String key) {
        return Long.parseLong(require(key));
    }

    /** The double value of {@code key} (which must be set). */
    public double getDouble(String key) {
        return Double.parseDouble(require(key));
    }

    /** The boolean value of {@code key} (which must be set). */
    public boolean getBoolean(String key) {
        return Boolean.parseBoolean(require(key));
    }

    /**
     * Checks that the value of {@code key} lies in [min, max]; {@code min = Double.MIN_VALUE} means
     * "any positive number" and is written (0, max].
     *
     * @throws IllegalArgumentException naming the flag and the range
     */
    public double checkRange(String key, double min, double max) {
        double v = getDouble(key);
        if (!(v >= min && v <= max)) {
            String range =
                    min == Double.MIN_VALUE
                            ? "(0, " + fmt(max) + "]"
                            : "[" + fmt(min) + ", " + fmt(max) + "]";
            throw new IllegalArgumentException(
                    "--"
                            + key
                            + ": invalid value "
                            + values.get(key)
                            + " ("
                            + origins.get(key)
                            + "); expected a number in "
                            + range
                            + ".");
        }
        return v;
    }

    private static String fmt(double d) {
        return d == Math.rint(d) && Math.abs(d) < 1e15
                ? Long.toString((long) d)
                : Double.toString(d);
    }

    /** Where the effective value of {@code key} came from (a file:line or "command line"). */
    public String origin(String key) {
        spec(key);
        return origins.getOrDefault(key, "unset");
    }

    /** All effective values, in declaration order, for logs and manifests. */
    public Map<String, String> asMap() {
        Map<String, String> m = new LinkedHashMap<>();
        for (String k : specs.keySet()) {
            m.put(k, values.getOrDefault(k, ""));
        }
        return m;
    }

    private JobOption spec(String key) {
        JobOption s = specs.get(key);
        if (s == null) {
            throw new IllegalStateException("job " + job + " does not declare option " + key);
        }
        return s;
    }
}
