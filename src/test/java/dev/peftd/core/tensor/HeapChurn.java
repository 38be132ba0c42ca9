package dev.peftd.core.tensor;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * Makes use-after-free bugs visible: collects garbage so that the direct buffers of closed NDArrays are freed, then
 * allocates and fills direct memory of many small sizes so that freed blocks are handed out again and overwritten.
 * A tensor that still points into such a buffer then reads NaN or garbage instead of its values.
 */
public final class HeapChurn {

    private HeapChurn() {
    }

    public static void freeAndReuseDirectMemory() {
        List<ByteBuffer> reused = new ArrayList<>();
        for (int round = 0; round < 5; round++) {
            System.gc();
            try {
                Thread.sleep(20); // the reference handler frees direct buffers shortly after the collection
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
            for (int size = 16; size <= 16384; size += 16) {
                ByteBuffer b = ByteBuffer.allocateDirect(size);
                while (b.remaining() >= 4) {
                    b.putFloat(Float.NaN);
                }
                reused.add(b);
            }
        }
        reused.clear();
    }
}
