package dev.peftd.core.tensor;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * One safetensors file, read through memory mapping: the header is parsed when the file is opened, and each tensor
 * is mapped (with long offsets, so shards beyond 2 GiB work) and copied into an NDArray only when asked for.
 *
 * <p>Floating tensors load as float32 whatever their stored width (BF16 and F16 are widened in Java); integer and
 * boolean tensors keep their type. Thread-safe once opened.
 */
public final class SafetensorsFile implements AutoCloseable {

    /** The same limit Python's reader applies, so a corrupt length fails fast instead of allocating gigabytes. */
    private static final long MAX_HEADER_BYTES = 100L * 1024 * 1024;
    static final String METADATA_KEY = "__metadata__";
    /** Elements widened per step: 16 MiB of float32. */
    private static final int WIDENING_CHUNK = 4 * 1024 * 1024;

    private final Path path;
    private final FileChannel channel;
    private final long dataStart;
    private final Map<String, TensorEntry> entries;
    private final Map<String, String> metadata;
    /** Reused by every 16-bit or half load of this file (guarded by {@code this}). */
    private final ChunkBuffers chunkBuffers = new ChunkBuffers();

    private SafetensorsFile(Path path, FileChannel channel, long dataStart, Map<String, TensorEntry> entries,
            Map<String, String> metadata) {
        this.path = path;
        this.channel = channel;
        this.dataStart = dataStart;
        this.entries = entries;
        this.metadata = metadata;
    }

    /** Opens {@code path} and validates its header against the file size. */
    public static SafetensorsFile open(Path path) throws IOException {
        FileChannel channel;
        try {
            channel = FileChannel.open(path, StandardOpenOption.READ);
        } catch (IOException e) {
            throw new TensorFileException(path, "cannot open: " + e, e);
        }
        try {
            long fileSize = channel.size();
            if (fileSize < 8) {
                throw new TensorFileException(path, "not a safetensors file: " + fileSize + " bytes, too short for the header length");
            }
            ByteBuffer lengthBytes = readFully(channel, 0, 8).order(ByteOrder.LITTLE_ENDIAN);
            long headerLength = lengthBytes.getLong(0);
            if (headerLength < 0 || headerLength > MAX_HEADER_BYTES || 8 + headerLength > fileSize) {
                throw new TensorFileException(path, "bad header length " + Long.toUnsignedString(headerLength)
                        + " for a file of " + fileSize + " bytes (not a safetensors file, or truncated)");
            }
            String header = StandardCharsets.UTF_8.decode(readFully(channel, 8, (int) headerLength)).toString();
            long dataStart = 8 + headerLength;
            JsonObject json = parseHeader(path, header);
            Map<String, String> metadata = readMetadata(path, json);
            Map<String, TensorEntry> entries = readEntries(path, json, fileSize - dataStart);
            return new SafetensorsFile(path, channel, dataStart, entries, metadata);
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
    }

    public Path path() {
        return path;
    }

    /** Tensor names in header order. */
    public Set<String> names() {
        return entries.keySet();
    }

    public boolean contains(String name) {
        return entries.containsKey(name);
    }

    public TensorEntry entry(String name) throws TensorFileException {
        TensorEntry entry = entries.get(name);
        if (entry == null) {
            throw new TensorFileException(path, name, "missing (the file holds " + entries.size() + " other tensors)");
        }
        return entry;
    }

    /** The {@code __metadata__} block, empty when the file has none. */
    public Map<String, String> metadata() {
        return metadata;
    }

    /**
     * Copies one tensor into a new array owned by {@code manager} (not by any {@link NDScope} open on this thread),
     * widening 16-bit floats to float32.
     */
    public NDArray load(String name, NDManager manager) throws IOException {
        TensorEntry entry = entry(name);
        if (entry.dtype() == SafetensorsDtype.I16) {
            // DJL 0.36 has no INT16 case in its dtype mapping either: creating one aborts the JVM (HalfFenceAbortTest)
            throw new TensorFileException(path, name, "is I16, which peftd cannot load (DJL aborts on 16-bit integers)");
        }
        if (entry.byteLength() > Integer.MAX_VALUE) {
            throw new TensorFileException(path, name, "holds " + entry.byteLength() + " bytes; tensors over 2 GiB are not supported");
        }
        ByteBuffer data = channel.map(FileChannel.MapMode.READ_ONLY, dataStart + entry.begin(), entry.byteLength())
                .order(ByteOrder.LITTLE_ENDIAN);
        NDArray owned;
        if (entry.dtype() == SafetensorsDtype.BF16 || entry.dtype() == SafetensorsDtype.F16) {
            owned = widened(entry, data, manager);
        } else {
            // create() over a direct buffer is zero-copy (torch::from_blob): copy into memory the array owns, because
            // the mapping is read-only (an in-place update would crash) and is unmapped when garbage-collected.
            try (NDArray view = manager.create(data, entry.djlShape(), entry.dtype().loadedType())) {
                owned = view.duplicate();
            }
        }
        NDScope.unregister(owned);
        return owned;
    }

    /**
     * Loads one floating tensor as a frozen {@code type} tensor owned by {@code manager}, with no float32 copy of it
     * at any point: its bytes are read a chunk at a time through one reused buffer (positional reads, not a mapping,
     * so the file's pages do not sit in the process's RSS until a GC unmaps them), BF16/F16 chunks widened exactly
     * in Java, and each chunk rounded into the half tensor (exact when the file holds {@code type}; one
     * round-to-nearest-even otherwise, as torch's {@code .to()}).
     */
    public synchronized HalfTensor loadHalf(String name, NDManager manager, HalfType type) throws IOException {
        HalfOps.Builder builder = new HalfOps.Builder(manager, entry(name).djlShape(), type);
        appendHalf(name, manager, builder);
        return builder.build();
    }

    /** Rounds tensor {@code name}'s elements, in order, into {@code builder}, as {@link #loadHalf} does. */
    synchronized void appendHalf(String name, NDManager manager, HalfOps.Builder builder) throws IOException {
        TensorEntry entry = entry(name);
        SafetensorsDtype stored = entry.dtype();
        if (stored != SafetensorsDtype.F32 && stored != SafetensorsDtype.BF16 && stored != SafetensorsDtype.F16) {
            throw new TensorFileException(path, name, "is " + stored + ", not a floating type");
        }
        long count = entry.elementCount();
        int chunkElements = (int) Math.min(count, WIDENING_CHUNK);
        ByteBuffer raw = chunkBuffers.raw(chunkElements * stored.bytes());
        ByteBuffer floats = stored == SafetensorsDtype.F32 ? raw : chunkBuffers.floats(chunkElements * Float.BYTES);
        for (long start = 0; start < count; start += WIDENING_CHUNK) {
            int length = (int) Math.min(WIDENING_CHUNK, count - start);
            readAt(raw, dataStart + entry.begin() + start * stored.bytes(), length * stored.bytes(), entry);
            if (stored != SafetensorsDtype.F32) {
                FloatWidening.widenInto(raw, stored, floats);
            }
            try (NDArray chunk = manager.create(floats, new Shape(length), DataType.FLOAT32)) { // view of the buffer
                builder.append(chunk);
            }
        }
    }

    private void readAt(ByteBuffer buffer, long position, int length, TensorEntry entry) throws IOException {
        buffer.clear().limit(length);
        while (buffer.hasRemaining()) {
            if (channel.read(buffer, position + buffer.position()) < 0) {
                throw new TensorFileException(path, entry.name(), "file ends inside the tensor's data");
            }
        }
        buffer.flip();
    }

    /**
     * Widens a 16-bit float tensor into a float32 array a chunk at a time through one reusable buffer, so that a
     * gigabyte-sized BF16 embedding never needs a gigabyte of Java direct memory (which only the GC would free).
     */
    private synchronized NDArray widened(TensorEntry entry, ByteBuffer halves, NDManager manager) {
        long count = entry.elementCount();
        ByteBuffer chunk = chunkBuffers.floats((int) Math.min(count, WIDENING_CHUNK) * Float.BYTES);
        try (NDArray flat = manager.create(new Shape(count), DataType.FLOAT32)) { // [count], uninitialised
            for (long start = 0; start < count; start += WIDENING_CHUNK) {
                int length = (int) Math.min(WIDENING_CHUNK, count - start);
                FloatWidening.widenInto(halves.slice((int) (start * 2), length * 2), entry.dtype(), chunk);
                try (NDArray part = manager.create(chunk, new Shape(length), DataType.FLOAT32)) { // view of chunk
                    flat.set(new NDIndex("{}:{}", start, start + length), part); // copies
                }
            }
            return flat.reshape(entry.djlShape()); // a view sharing flat's tensor-owned storage
        }
    }

    /** Native bytes this file's chunk buffers hold now (0 once closed). */
    synchronized long bufferBytes() {
        return chunkBuffers.bytes();
    }

    @Override
    public synchronized void close() throws IOException {
        try {
            channel.close();
        } finally {
            chunkBuffers.free();
        }
    }

    /**
     * The native buffers chunked loads go through, reused across tensors and freed when the file closes. Why freed
     * here and not left to the GC: a direct {@link ByteBuffer}'s memory goes back only when a GC collects it, and
     * loading weights makes little heap garbage, so the buffers of a loaded model (24 MiB: 8 MiB of 16-bit values,
     * 16 MiB of floats) stayed resident through the whole training run that followed (NMT's "Other" still held them
     * at the step's peak). Earlier, a buffer per tensor: 0.3 GB of extra peak RSS for a 135M-parameter model. Grown
     * (never shrunk) to the largest chunk asked for.
     */
    private static final class ChunkBuffers {
        private final NativeBuffer raw = new NativeBuffer(ByteOrder.LITTLE_ENDIAN); // the file's bytes
        private final NativeBuffer floats = new NativeBuffer(ByteOrder.nativeOrder()); // widened for DJL

        ByteBuffer raw(int bytes) {
            return raw.atLeast(bytes);
        }

        ByteBuffer floats(int bytes) {
            return floats.atLeast(bytes);
        }

        long bytes() {
            return raw.bytes() + floats.bytes();
        }

        /** Frees both buffers; their views must not be used after this (the next load allocates new ones). */
        void free() {
            raw.free();
            floats.free();
        }
    }

    /** One native block and a direct view of it in a fixed byte order, grown on demand and freed explicitly. */
    private static final class NativeBuffer {
        private final ByteOrder order;
        private com.sun.jna.Memory memory;
        private ByteBuffer view;

        NativeBuffer(ByteOrder order) {
            this.order = order;
        }

        /** A cleared view of at least {@code bytes} bytes. */
        ByteBuffer atLeast(int bytes) {
            if (view == null || view.capacity() < bytes) {
                free();
                memory = new com.sun.jna.Memory(Math.max(1, bytes));
                view = memory.getByteBuffer(0, memory.size()); // a direct view of memory that free() releases
            }
            view.clear();
            return view.order(order);
        }

        long bytes() {
            return memory == null ? 0 : memory.size();
        }

        void free() {
            if (memory != null) {
                memory.close();
            }
            memory = null;
            view = null;
        }
    }

    private static ByteBuffer readFully(FileChannel channel, long position, int length) throws IOException {
        ByteBuffer buffer = ByteBuffer.allocate(length);
        while (buffer.hasRemaining()) {
            if (channel.read(buffer, position + buffer.position()) < 0) {
                throw new IOException("unexpected end of file at byte " + (position + buffer.position()));
            }
        }
        return buffer.flip();
    }

    private static JsonObject parseHeader(Path path, String header) throws TensorFileException {
        try {
            JsonElement json = JsonParser.parseString(header);
            if (!json.isJsonObject()) {
                throw new TensorFileException(path, "bad header: expected a JSON object");
            }
            return json.getAsJsonObject();
        } catch (JsonParseException e) {
            throw new TensorFileException(path, "bad header: not valid JSON (" + e.getMessage() + ")", e);
        }
    }

    private static Map<String, String> readMetadata(Path path, JsonObject json) throws TensorFileException {
        JsonElement block = json.get(METADATA_KEY);
        if (block == null || block.isJsonNull()) {
            return Map.of();
        }
        if (!block.isJsonObject()) {
            throw new TensorFileException(path, "bad header: __metadata__ must be an object of strings");
        }
        Map<String, String> metadata = new LinkedHashMap<>();
        for (Map.Entry<String, JsonElement> e : block.getAsJsonObject().entrySet()) {
            if (!e.getValue().isJsonPrimitive() || !e.getValue().getAsJsonPrimitive().isString()) {
                throw new TensorFileException(path, "bad header: __metadata__." + e.getKey() + " is not a string");
            }
            metadata.put(e.getKey(), e.getValue().getAsString());
        }
        return Collections.unmodifiableMap(metadata);
    }

    private static Map<String, TensorEntry> readEntries(Path path, JsonObject json, long dataLength)
            throws TensorFileException {
        Map<String, TensorEntry> entries = new LinkedHashMap<>();
        for (Map.Entry<String, JsonElement> e : json.entrySet()) {
            if (!e.getKey().equals(METADATA_KEY)) {
                TensorEntry entry = readEntry(path, e.getKey(), e.getValue());
                if (entry.end() > dataLength) {
                    throw new TensorFileException(path, entry.name(), "ends at data byte " + entry.end()
                            + " but the file holds only " + dataLength + " data bytes (truncated file?)");
                }
                entries.put(entry.name(), entry);
            }
        }
        return Collections.unmodifiableMap(entries);
    }

    private static TensorEntry readEntry(Path path, String name, JsonElement value) throws TensorFileException {
        try {
            JsonObject info = value.getAsJsonObject();
            String dtypeName = info.get("dtype").getAsString();
            SafetensorsDtype dtype = SafetensorsDtype.fromHeaderName(dtypeName);
            if (dtype == null) {
                throw new TensorFileException(path, name, "unsupported dtype " + dtypeName);
            }
            JsonArray shapeJson = info.getAsJsonArray("shape");
            long[] shape = new long[shapeJson.size()];
            for (int i = 0; i < shape.length; i++) {
                shape[i] = shapeJson.get(i).getAsLong();
                if (shape[i] < 0) {
                    throw new TensorFileException(path, name, "negative dimension in shape " + shapeJson);
                }
            }
            JsonArray offsets = info.getAsJsonArray("data_offsets");
            long begin = offsets.get(0).getAsLong();
            long end = offsets.get(1).getAsLong();
            TensorEntry entry = new TensorEntry(name, dtype, shape, begin, end);
            // multiplyExact: a shape whose byte count wraps around to the stored length must not pass
            long bytes = Math.multiplyExact(entry.elementCount(), dtype.bytes());
            if (begin < 0 || end < begin || entry.byteLength() != bytes) {
                throw new TensorFileException(path, name, "data_offsets [" + begin + ", " + end + "] do not fit shape "
                        + shapeJson + " of " + dtypeName);
            }
            return entry;
        } catch (RuntimeException e) { // missing field, wrong JSON type, overflow
            throw new TensorFileException(path, name, "bad header entry " + value + " (" + e.getMessage() + ")");
        }
    }
}
