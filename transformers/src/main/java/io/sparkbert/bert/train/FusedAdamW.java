package io.sparkbert.bert.train;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Locale;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The fused CPU step of {@link AdamW}: one pass of a small native loop (src/main/native/
 * fused_adamw.c) over a float32 parameter, its gradient and both moments, all given as direct
 * buffers over their memory. Present on Linux x86-64 builds made with a C compiler; elsewhere
 * {@link #available()} is false and {@link AdamW} runs its NDArray form. Thread-safe (stateless
 * once loaded).
 */
final class FusedAdamW {
    static final String RESOURCE = "/native/linux-x86_64/libsparkbert_adamw.so";

    private static final Logger LOG = LoggerFactory.getLogger(FusedAdamW.class);
    private static final boolean AVAILABLE = load();

    private FusedAdamW() {}

    /** Whether the native step is loaded in this JVM. */
    static boolean available() {
        return AVAILABLE;
    }

    private static boolean load() {
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch", "");
        if (!os.startsWith("linux") || !("amd64".equals(arch) || "x86_64".equals(arch))) {
            return false;
        }
        if (FusedAdamW.class.getResource(RESOURCE) == null) {
            LOG.info(
                    "This build has no {} (no C compiler when it was built): AdamW runs as NDArray"
                            + " operations, slower on the CPU, same results within float rounding",
                    RESOURCE);
            return false;
        }
        try {
            Path file = Files.createTempFile("sparkbert_adamw", ".so");
            file.toFile().deleteOnExit();
            try (InputStream in = FusedAdamW.class.getResourceAsStream(RESOURCE)) {
                Files.copy(in, file, StandardCopyOption.REPLACE_EXISTING);
            }
            System.load(file.toAbsolutePath().toString());
            return true;
        } catch (IOException | UnsatisfiedLinkError | SecurityException e) {
            LOG.warn("Could not load {}; AdamW runs as NDArray operations: {}", RESOURCE, e);
            return false;
        }
    }

    /**
     * One AdamW step over {@code n} floats, in place; the gradient is left zeroed. See
     * fused_adamw.c for the arithmetic. A large parameter is split over up to {@code threads}
     * threads; the result does not depend on how many.
     *
     * @return false (and nothing changed) when a buffer is not direct or shorter than {@code n}
     */
    static native boolean update(
            ByteBuffer param,
            ByteBuffer grad,
            ByteBuffer expAvg,
            ByteBuffer expAvgSq,
            long n,
            float gradScale,
            float decay,
            float beta2,
            float oneMinusBeta1,
            float oneMinusBeta2,
            float stepSize,
            float bc2Sqrt,
            float eps,
            int threads);
}
