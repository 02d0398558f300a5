package io.sparkbert.bert;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.util.Locale;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Lets the MKL inside libtorch use its AVX2 / AVX-512 kernels on AMD processors.
 *
 * <p>libtorch's Linux x86-64 CPU build links Intel MKL, which chooses generic kernels for every
 * processor whose vendor is not Intel, whatever its instruction set. On the AVX-512 AMD EPYC this
 * project is benchmarked on, that halves fp32 GEMM speed and so BERT inference and fine-tuning
 * speed (docs/lab-notes.md). {@link #install()} loads a small native library
 * (src/main/native/mkl_dispatch.c) that answers MKL's vendor question with "Intel"; MKL's own
 * instruction-set checks still pick between SSE, AVX2 and AVX-512. Results stay within float
 * rounding of the generic kernels (the engine's parity tests run with it).
 *
 * <p>Applied only on Linux x86-64 with an AMD CPU. Turned off by the system property {@code
 * sparkbert.mkl.dispatch=off} or the environment variable {@code SPARKBERT_MKL_DISPATCH=off}.
 * Installed once per class loader, by {@link Devices} and by the manager every {@link BertModel}'s
 * parameters are created in, before libtorch's first GEMM (MKL remembers the vendor it saw first).
 * Thread-safe.
 */
public final class MklDispatch {
    /** System property that turns the dispatch fix off ({@code off}) or leaves it on. */
    public static final String PROPERTY = "sparkbert.mkl.dispatch";

    /** Environment variable with the same meaning as {@link #PROPERTY}. */
    public static final String ENV = "SPARKBERT_MKL_DISPATCH";

    static final String RESOURCE = "/native/linux-x86_64/libsparkbert_mkl.so";

    private static final Logger LOG = LoggerFactory.getLogger(MklDispatch.class);

    /** What {@link #install()} did in this JVM (class loader). */
    public enum Status {
        /** Not tried yet. */
        NOT_INSTALLED,
        /** Turned off by the property or environment variable. */
        DISABLED,
        /** Not Linux x86-64 or not an AMD CPU: MKL already picks its best kernels. */
        NOT_NEEDED,
        /** The native library was not built into this jar (no C compiler at build time). */
        UNAVAILABLE,
        /** Loaded and in the global symbol scope: MKL sees the fast path. */
        ACTIVE,
        /** Loading failed; the reason was logged and MKL keeps its generic kernels. */
        FAILED
    }

    private static Status status = Status.NOT_INSTALLED;

    private MklDispatch() {}

    /**
     * Loads the dispatch library when this machine needs it. Idempotent. A problem while loading
     * leaves MKL on its generic kernels and is logged once.
     *
     * @return the outcome
     * @throws IllegalArgumentException when the setting is not auto/on/off (names it)
     */
    public static synchronized Status install() {
        if (status != Status.NOT_INSTALLED) {
            return status;
        }
        String setting = System.getProperty(PROPERTY, System.getenv(ENV));
        status =
                decide(
                        System.getProperty("os.name", ""),
                        System.getProperty("os.arch", ""),
                        cpuVendor(),
                        setting,
                        MklDispatch.class.getResource(RESOURCE) != null);
        if (status == Status.ACTIVE) {
            status = load();
        } else if (status == Status.UNAVAILABLE) {
            LOG.warn(
                    "AMD CPU, but this build has no {} (no C compiler when it was built): MKL in"
                            + " libtorch uses its generic kernels, about half speed. Rebuild"
                            + " with gcc on the PATH to get the fast path.",
                    RESOURCE);
        } else if (status == Status.DISABLED) {
            LOG.info("MKL dispatch fix turned off ({}={})", PROPERTY, setting);
        }
        return status;
    }

    /**
     * @return what {@link #install()} did, or {@link Status#NOT_INSTALLED} before it ran
     */
    public static synchronized Status status() {
        return status;
    }

    /**
     * How many times MKL asked the library for the CPU vendor: more than 0 once libtorch has run a
     * GEMM with the fix active, proving that MKL calls it.
     *
     * @return the count, or -1 when the library is not loaded
     */
    public static long vendorChecksAnswered() {
        return status() == Status.ACTIVE ? vendorChecks() : -1;
    }

    /**
     * The decision, separated for tests.
     *
     * @param osName {@code os.name}
     * @param osArch {@code os.arch}
     * @param vendor the CPU vendor string ({@code AuthenticAMD}, ...), or null when unknown
     * @param setting the property / environment value, null when unset
     * @param libraryPresent whether the native library is in the jar
     * @return {@link Status#ACTIVE} when the library should be loaded, else why not
     * @throws IllegalArgumentException for a setting other than auto/on/off
     */
    static Status decide(
            String osName, String osArch, String vendor, String setting, boolean libraryPresent) {
        String s = setting == null ? "auto" : setting.trim().toLowerCase(Locale.ROOT);
        switch (s) {
            case "off":
            case "false":
                return Status.DISABLED;
            case "auto":
            case "on":
            case "true":
                break;
            default:
                throw new IllegalArgumentException(
                        PROPERTY
                                + " (or "
                                + ENV
                                + ") = \""
                                + setting
                                + "\" is not one of auto, on, off.");
        }
        boolean linuxX64 =
                osName.toLowerCase(Locale.ROOT).startsWith("linux")
                        && ("amd64".equals(osArch) || "x86_64".equals(osArch));
        boolean amd = "AuthenticAMD".equals(vendor) || "HygonGenuine".equals(vendor);
        if (!linuxX64 || !amd) {
            return Status.NOT_NEEDED;
        }
        return libraryPresent ? Status.ACTIVE : Status.UNAVAILABLE;
    }

    private static Status load() {
        try {
            Path file = Files.createTempFile("sparkbert_mkl", ".so");
            file.toFile().deleteOnExit();
            try (InputStream in = MklDispatch.class.getResourceAsStream(RESOURCE)) {
                Files.copy(in, file, StandardCopyOption.REPLACE_EXISTING);
            }
            System.load(file.toAbsolutePath().toString());
            if (!inGlobalScope()) {
                LOG.warn(
                        "{} loaded but not in the global symbol scope; MKL keeps its generic"
                                + " kernels",
                        RESOURCE);
                return Status.FAILED;
            }
            LOG.info(
                    "AMD CPU: MKL in libtorch may use its AVX2/AVX-512 kernels ({}=off turns"
                            + " this off)",
                    PROPERTY);
            return Status.ACTIVE;
        } catch (IOException | UnsatisfiedLinkError | SecurityException e) {
            LOG.warn(
                    "Could not load {}; MKL keeps its generic kernels: {}", RESOURCE, e.toString());
            return Status.FAILED;
        }
    }

    /**
     * @return the {@code vendor_id} of /proc/cpuinfo, or null when unreadable
     */
    static String cpuVendor() {
        Path cpuinfo = Paths.get("/proc/cpuinfo");
        if (!Files.isReadable(cpuinfo)) {
            return null;
        }
        try (Stream<String> lines = Files.lines(cpuinfo, StandardCharsets.UTF_8)) {
            return lines.filter(l -> l.startsWith("vendor_id"))
                    .map(l -> l.substring(l.indexOf(':') + 1).trim())
                    .findFirst()
                    .orElse(null);
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    private static native boolean inGlobalScope();

    private static native long vendorChecks();
}
