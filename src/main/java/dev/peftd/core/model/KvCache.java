package dev.peftd.core.model;

/** Keys and values of the positions a model has already seen, for incremental decoding. Owned by one sequence batch. */
public interface KvCache extends AutoCloseable {

    /** Number of positions cached so far; the next forward call starts at this position. */
    int length();

    @Override
    void close();
}
