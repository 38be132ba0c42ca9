package dev.peftd.core.tensor;

import ai.djl.ndarray.NDArray;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Writes safetensors files the way Python's {@code safetensors.torch.save_file} does: tensors ordered by dtype
 * (widest first, in the Rust crate's enum order) then by name, a compact JSON header with {@code __metadata__} first,
 * padded with spaces to a multiple of 8 bytes. For the same tensors and (at most one) metadata entry the bytes are
 * identical to Python's; metadata keys are written sorted.
 *
 * <p>The file is written to a temporary sibling and moved into place, so a crash never leaves a half-written file
 * under the final name.
 */
public final class SafetensorsWriter {

    private SafetensorsWriter() {
    }

    /**
     * @param tensors  name → array (any dtype safetensors can hold; never BF16, which DJL cannot create anyway)
     * @param metadata the {@code __metadata__} block, e.g. {@code {"format": "pt"}} for PEFT/transformers; omitted when empty
     */
    public static void write(Path file, Map<String, NDArray> tensors, Map<String, String> metadata) throws IOException {
        if (!ByteOrder.nativeOrder().equals(ByteOrder.LITTLE_ENDIAN)) {
            throw new IOException("safetensors data is little-endian; writing from a big-endian JVM is not supported");
        }
        List<Map.Entry<String, NDArray>> ordered = new ArrayList<>(tensors.entrySet());
        ordered.sort(Comparator.<Map.Entry<String, NDArray>>comparingInt(e -> -dtypeOf(e).ordinal())
                .thenComparing(Map.Entry::getKey));
        List<ByteBuffer> data = new ArrayList<>();
        StringBuilder header = new StringBuilder("{");
        if (!metadata.isEmpty()) {
            header.append(quoted(SafetensorsFile.METADATA_KEY)).append(":{");
            String separator = "";
            for (Map.Entry<String, String> m : new TreeMap<>(metadata).entrySet()) {
                header.append(separator).append(quoted(m.getKey())).append(':').append(quoted(m.getValue()));
                separator = ",";
            }
            header.append('}');
        }
        long offset = 0;
        for (Map.Entry<String, NDArray> e : ordered) {
            ByteBuffer bytes = e.getValue().toByteBuffer();
            data.add(bytes);
            if (header.length() > 1) {
                header.append(',');
            }
            header.append(quoted(e.getKey())).append(":{\"dtype\":\"").append(dtypeOf(e).name()).append("\",\"shape\":[");
            long[] shape = e.getValue().getShape().getShape();
            for (int i = 0; i < shape.length; i++) {
                header.append(i == 0 ? "" : ",").append(shape[i]);
            }
            header.append("],\"data_offsets\":[").append(offset).append(',').append(offset + bytes.remaining()).append("]}");
            offset += bytes.remaining();
        }
        header.append('}');
        byte[] headerBytes = header.toString().getBytes(StandardCharsets.UTF_8);
        int padded = (headerBytes.length + 7) / 8 * 8;
        ByteBuffer prefix = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
        prefix.putLong(padded).put(headerBytes);
        while (prefix.hasRemaining()) {
            prefix.put((byte) ' ');
        }
        prefix.flip();
        writeAtomically(file, prefix, data);
    }

    private static SafetensorsDtype dtypeOf(Map.Entry<String, NDArray> e) {
        return SafetensorsDtype.of(e.getValue().getDataType());
    }

    private static void writeAtomically(Path file, ByteBuffer prefix, List<ByteBuffer> data) throws IOException {
        Path absolute = file.toAbsolutePath();
        Path temp = Files.createTempFile(absolute.getParent(), absolute.getFileName() + ".", ".tmp");
        try {
            try (FileChannel out = FileChannel.open(temp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                writeFully(out, prefix);
                for (ByteBuffer b : data) {
                    writeFully(out, b);
                }
                out.force(true);
            }
            Files.move(temp, absolute, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(temp);
        }
    }

    private static void writeFully(FileChannel out, ByteBuffer buffer) throws IOException {
        while (buffer.hasRemaining()) {
            out.write(buffer);
        }
    }

    /** A JSON string literal escaped as serde_json (the Rust writer) escapes it: non-ASCII stays raw UTF-8. */
    private static String quoted(String s) {
        StringBuilder out = new StringBuilder(s.length() + 2).append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                case '\b' -> out.append("\\b");
                case '\f' -> out.append("\\f");
                default -> {
                    if (c < 0x20) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        return out.append('"').toString();
    }
}
