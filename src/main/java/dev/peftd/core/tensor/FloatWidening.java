package dev.peftd.core.tensor;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.ShortBuffer;

/**
 * Widens 16-bit floats to float32 in Java, exactly, so that no BF16 (or F16) NDArray is ever created on the way
 * (djl-notes.md pitfall 2: a BF16 NDArray aborts the JVM).
 */
final class FloatWidening {

    private FloatWidening() {
    }

    /**
     * @param source little-endian 16-bit values (position 0, limit = 2 × count)
     * @param target receives the count float32 values in native order, from position 0; its limit is set to 4 × count
     */
    static void widenInto(ByteBuffer source, SafetensorsDtype dtype, ByteBuffer target) {
        ShortBuffer in = source.duplicate().order(ByteOrder.LITTLE_ENDIAN).asShortBuffer();
        int count = in.remaining();
        target.order(ByteOrder.nativeOrder()).clear().limit(Math.multiplyExact(count, Float.BYTES));
        FloatBuffer floats = target.asFloatBuffer();
        switch (dtype) {
            case BF16 -> {
                for (int i = 0; i < count; i++) {
                    floats.put(i, Float.intBitsToFloat((in.get(i) & 0xffff) << 16)); // bf16 is the top half of an f32
                }
            }
            case F16 -> {
                for (int i = 0; i < count; i++) {
                    floats.put(i, halfToFloat(in.get(i)));
                }
            }
            default -> throw new IllegalArgumentException("not a 16-bit float type: " + dtype);
        }
    }

    /** IEEE 754 binary16 to binary32, including subnormals, infinities and NaN payloads. */
    static float halfToFloat(short half) {
        int bits = half & 0xffff;
        int sign = (bits & 0x8000) << 16;
        int exponent = (bits >>> 10) & 0x1f;
        int mantissa = bits & 0x3ff;
        if (exponent == 0x1f) {
            return Float.intBitsToFloat(sign | 0x7f800000 | (mantissa << 13));
        }
        if (exponent == 0) {
            // zero or subnormal: value = mantissa × 2^-24, exact in float32
            float magnitude = mantissa * 0x1p-24f;
            return sign == 0 ? magnitude : -magnitude;
        }
        return Float.intBitsToFloat(sign | ((exponent + 112) << 23) | (mantissa << 13));
    }
}
