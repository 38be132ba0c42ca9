package dev.peftd.core.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Reading a file Python's safetensors wrote (python-mixed.safetensors, see make_model_fixtures.py), and broken files. */
class SafetensorsFileTest {

    @AutoClose
    private static final NDManager manager = NDManager.newBaseManager(Device.cpu());

    @TempDir
    Path temp;

    static Path fixture(String name) throws Exception {
        return Path.of(SafetensorsFileTest.class.getClassLoader().getResource("fixtures/safetensors/" + name).toURI());
    }

    @Test
    void readsEveryDtypeWidening16BitFloatsExactly() throws Exception {
        try (SafetensorsFile file = SafetensorsFile.open(fixture("python-mixed.safetensors"))) {
            assertEquals(Map.of("format", "pt"), file.metadata());
            NDArray f32 = file.load("f32", manager);
            assertArrayEquals(new long[] {2, 3}, f32.getShape().getShape());
            assertArrayEquals(new float[] {-0.5f, -0.25f, 0f, 0.25f, 0.5f, 0.75f}, f32.toFloatArray());

            NDArray bf16 = file.load("bf16", manager);
            assertEquals(DataType.FLOAT32, bf16.getDataType());
            float[] widened = bf16.toFloatArray();
            // bf16 keeps float32's top 16 bits: 3e38 and 1e-30 round to these float32 values
            assertArrayEquals(new float[] {1.5f, -2.75f, -0.0f, Float.POSITIVE_INFINITY,
                    Float.intBitsToFloat(0x7f62_0000), Float.intBitsToFloat(0x0da2_0000)}, widened);
            assertEquals(Float.floatToRawIntBits(-0.0f), Float.floatToRawIntBits(widened[2]), "sign of zero kept");

            NDArray f16 = file.load("f16", manager);
            assertEquals(DataType.FLOAT32, f16.getDataType());
            assertArrayEquals(new float[] {1f, -0.5f, 65504f, 0x1p-24f, Float.NEGATIVE_INFINITY}, f16.toFloatArray());

            NDArray i64 = file.load("i64", manager);
            assertEquals(DataType.INT64, i64.getDataType());
            assertArrayEquals(new long[] {-1, 1L << 40, 7}, i64.toLongArray());
            assertArrayEquals(new int[] {3, -4}, file.load("i32", manager).toIntArray());
            assertArrayEquals(new long[] {1, 2}, file.load("i32", manager).getShape().getShape());
            assertArrayEquals(new byte[] {0, (byte) 255}, file.load("u8", manager).toByteArray());
            NDArray scalar = file.load("scalar", manager);
            assertEquals(0, scalar.getShape().dimension());
            assertEquals(2.5f, scalar.getFloat());
        }
    }

    @Test
    void widensLargeBf16AndF16TensorsAcrossChunks() throws Exception {
        int rows = 1025;
        int cols = 4099; // 4.2 M elements: more than one 4 M-element widening chunk, and not a multiple of it
        int count = rows * cols;
        for (String dtype : List.of("BF16", "F16")) {
            String header = "{\"w\":{\"dtype\":\"" + dtype + "\",\"shape\":[" + rows + "," + cols
                    + "],\"data_offsets\":[0," + 2L * count + "]}}";
            ByteBuffer file = ByteBuffer.wrap(withHeader(header, 2 * count)).order(ByteOrder.LITTLE_ENDIAN);
            int dataStart = file.capacity() - 2 * count;
            for (int i = 0; i < count; i++) {
                file.putShort(dataStart + 2 * i, (short) (i * 7919)); // every bit pattern shows up, NaNs included
            }
            Path path = temp.resolve(dtype + ".safetensors");
            Files.write(path, file.array());
            try (SafetensorsFile read = SafetensorsFile.open(path)) {
                float[] widened = read.load("w", manager).toFloatArray();
                for (int i = 0; i < count; i++) {
                    short bits = (short) (i * 7919);
                    float expected = dtype.equals("BF16") ? Float.intBitsToFloat((bits & 0xffff) << 16)
                            : FloatWidening.halfToFloat(bits);
                    if (Float.floatToIntBits(expected) != Float.floatToIntBits(widened[i])) {
                        throw new AssertionError(dtype + " element " + i + ": " + widened[i] + " != " + expected);
                    }
                }
            }
        }
    }

    @Test
    void halfToFloatMatchesTheIeeeDefinition() {
        for (int bits = 0; bits < 0x10000; bits++) {
            int exponent = (bits >>> 10) & 0x1f;
            int mantissa = bits & 0x3ff;
            double magnitude = exponent == 0 ? mantissa * Math.pow(2, -24)
                    : exponent == 31 ? (mantissa == 0 ? Double.POSITIVE_INFINITY : Double.NaN)
                    : (1 + mantissa / 1024.0) * Math.pow(2, exponent - 15);
            float expected = (float) ((bits & 0x8000) != 0 ? -magnitude : magnitude);
            float actual = FloatWidening.halfToFloat((short) bits);
            if (Float.isNaN(expected) ? !Float.isNaN(actual) : Float.floatToIntBits(expected) != Float.floatToIntBits(actual)) {
                throw new AssertionError(Integer.toHexString(bits) + ": " + actual + " != " + expected);
            }
        }
    }

    @Test
    void loadedArraysAreOwnedCopiesThatCanBeWritten() throws Exception {
        try (SafetensorsFile file = SafetensorsFile.open(fixture("python-mixed.safetensors"))) {
            NDArray a = file.load("f32", manager);
            a.addi(manager.create(1f)); // would crash on the read-only mapping if the array were a view
            assertEquals(0.5f, a.toFloatArray()[0]);
            assertEquals(-0.5f, file.load("f32", manager).toFloatArray()[0], "the file is unchanged");
        }
    }

    @Test
    void missingTensorNamesFileAndKey() throws Exception {
        Path path = fixture("python-mixed.safetensors");
        try (SafetensorsFile file = SafetensorsFile.open(path)) {
            TensorFileException e = assertThrows(TensorFileException.class, () -> file.load("nope", manager));
            assertTrue(e.getMessage().contains(path.toString()) && e.getMessage().contains("'nope'"), e.getMessage());
        }
    }

    @Test
    void truncatedFileNamesTheTensorThatNoLongerFits() throws Exception {
        byte[] bytes = Files.readAllBytes(fixture("python-mixed.safetensors"));
        Path cut = temp.resolve("cut.safetensors");
        Files.write(cut, java.util.Arrays.copyOf(bytes, bytes.length - 3));
        TensorFileException e = assertThrows(TensorFileException.class, () -> SafetensorsFile.open(cut));
        assertTrue(e.getMessage().contains(cut.toString()) && e.getMessage().contains("truncated"), e.getMessage());
        assertTrue(e.getMessage().contains("tensor '"), e.getMessage());
    }

    @Test
    void badHeadersAreRejectedWithTheReason() throws Exception {
        List<byte[]> broken = List.of(
                new byte[] {1, 2, 3},
                withHeader("{\"x\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]}}", 4),
                withHeader("{not json", 0),
                withHeader("{\"x\": {\"dtype\": \"F32\", \"shape\": [3], \"data_offsets\": [0, 8]}}", 8),
                withHeader("{\"x\": {\"dtype\": \"Q7\", \"shape\": [1], \"data_offsets\": [0, 1]}}", 8),
                withHeader("{\"x\": {\"dtype\": \"F32\", \"shape\": [1]}}", 8));
        List<String> reasons = List.of("too short", "truncated", "not valid JSON", "do not fit shape", "unsupported dtype",
                "bad header entry");
        for (int i = 0; i < broken.size(); i++) {
            Path file = temp.resolve("broken-" + i + ".safetensors");
            Files.write(file, broken.get(i));
            TensorFileException e = assertThrows(TensorFileException.class, () -> SafetensorsFile.open(file));
            assertTrue(e.getMessage().startsWith(file.toString()) && e.getMessage().contains(reasons.get(i)),
                    "case " + i + ": " + e.getMessage());
        }
        Path huge = temp.resolve("huge-length.safetensors");
        Files.write(huge, ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(0, 1L << 40).array());
        TensorFileException e = assertThrows(TensorFileException.class, () -> SafetensorsFile.open(huge));
        assertTrue(e.getMessage().contains("bad header length"), e.getMessage());
    }

    @Test
    void int16TensorsAreRefusedInsteadOfAbortingTheJvm() throws Exception {
        Path file = temp.resolve("i16.safetensors");
        Files.write(file, withHeader("{\"x\": {\"dtype\": \"I16\", \"shape\": [2], \"data_offsets\": [0, 4]}}", 4));
        try (SafetensorsFile opened = SafetensorsFile.open(file)) {
            TensorFileException e = assertThrows(TensorFileException.class, () -> opened.load("x", manager));
            assertTrue(e.getMessage().contains("I16"), e.getMessage());
        }
    }

    private static byte[] withHeader(String json, int dataBytes) {
        byte[] header = json.getBytes(StandardCharsets.UTF_8);
        return ByteBuffer.allocate(8 + header.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN)
                .putLong(header.length).put(header).array();
    }

    /** The chunk buffers a half load reads through are freed with the file, not left for a GC that may never come. */
    @Test
    void closingTheFileFreesItsChunkBuffers() throws Exception {
        SafetensorsFile file = SafetensorsFile.open(fixture("python-mixed.safetensors"));
        try (HalfTensor half = file.loadHalf("bf16", manager, HalfType.BFLOAT16)) {
            assertTrue(file.bufferBytes() >= 6 * 2 + 6 * 4, "16-bit and float32 chunk buffers held while open");
        } finally {
            file.close();
        }
        assertEquals(0, file.bufferBytes());
    }
}
