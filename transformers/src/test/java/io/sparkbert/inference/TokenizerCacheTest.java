package io.sparkbert.inference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.sparkbert.bert.HfTokenizer;
import io.sparkbert.bert.TokenizerOptions;
import io.sparkbert.testing.Fixtures;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class TokenizerCacheTest {
    @AfterEach
    void reset() {
        TokenizerCache.clear();
    }

    @Test
    void loadsOncePerLocationAndOptions() throws Exception {
        TokenizerCache.clear();
        TokenizerOptions o = TokenizerOptions.defaults();
        ExecutorService pool = Executors.newFixedThreadPool(4);
        List<Future<HfTokenizer>> futures = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
            futures.add(pool.submit(() -> TokenizerCache.get("default", o)));
        }
        HfTokenizer first = futures.get(0).get();
        for (Future<HfTokenizer> f : futures) {
            assertSame(first, f.get());
        }
        pool.shutdown();
        assertEquals(1, TokenizerCache.loadCount());
        assertSame(first, TokenizerCache.get("DEFAULT", TokenizerOptions.defaults()));
        TokenizerCache.get(Fixtures.tinyBert().toString(), o);
        TokenizerCache.get("default", o.withMaxLength(64));
        assertEquals(3, TokenizerCache.loadCount());
    }

    @Test
    void failedLoadsAreNotCached() {
        TokenizerCache.clear();
        assertThrows(
                IllegalArgumentException.class,
                () -> TokenizerCache.get("/no/such/model", TokenizerOptions.defaults()));
        assertEquals(0, TokenizerCache.loadCount());
    }
}
