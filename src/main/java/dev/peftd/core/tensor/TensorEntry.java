package dev.peftd.core.tensor;

import ai.djl.ndarray.types.Shape;

/**
 * One tensor's header record in a safetensors file.
 *
 * @param begin byte offset of the first element, relative to the start of the data section
 * @param end   byte offset one past the last element
 */
public record TensorEntry(String name, SafetensorsDtype dtype, long[] shape, long begin, long end) {

    public Shape djlShape() {
        return new Shape(shape);
    }

    public long elementCount() {
        long n = 1;
        for (long d : shape) {
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    public long byteLength() {
        return end - begin;
    }
}
