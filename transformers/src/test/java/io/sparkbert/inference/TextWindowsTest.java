package io.sparkbert.inference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class TextWindowsTest {

    @Test
    void shortTextIsOneWindow() {
        List<int[]> r = TextWindows.ranges(5, 10, 3);
        assertEquals(1, r.size());
        assertArrayEquals(new int[] {0, 5}, r.get(0));
        assertArrayEquals(new int[] {0, 0}, TextWindows.ranges(0, 10, 3).get(0));
        assertArrayEquals(new int[] {0, 10}, TextWindows.ranges(10, 10, 3).get(0));
    }

    @Test
    void windowsOverlapByStrideAndCoverEveryToken() {
        List<int[]> r = TextWindows.ranges(25, 10, 3);
        // step 7: [0,10) [7,17) [14,24) [21,25)
        assertEquals(4, r.size());
        assertArrayEquals(new int[] {0, 10}, r.get(0));
        assertArrayEquals(new int[] {7, 17}, r.get(1));
        assertArrayEquals(new int[] {14, 24}, r.get(2));
        assertArrayEquals(new int[] {21, 25}, r.get(3));
        for (int i = 1; i < r.size(); i++) {
            assertEquals(3, r.get(i - 1)[1] - r.get(i)[0], "overlap of window " + i);
            assertTrue(r.get(i)[1] - r.get(i)[0] <= 10);
        }
        assertEquals(25, r.get(r.size() - 1)[1]);
    }

    @Test
    void noStrideGivesDisjointWindows() {
        List<int[]> r = TextWindows.ranges(20, 10, 0);
        assertEquals(2, r.size());
        assertArrayEquals(new int[] {10, 20}, r.get(1));
    }

    @Test
    void badArgumentsNameTheFix() {
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> TextWindows.ranges(20, 10, 10));
        assertTrue(e.getMessage().contains("stride"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> TextWindows.ranges(20, 0, 0));
        assertTrue(e.getMessage().contains("maxLength"), e.getMessage());
    }
}
