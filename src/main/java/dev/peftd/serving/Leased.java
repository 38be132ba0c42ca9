package dev.peftd.serving;

import java.util.function.Consumer;

/**
 * A value a cache shares between requests (a loaded base model, a loaded adapter). Every request holds a {@link Lease}
 * on it; a value the cache has let go of ({@link #retire}: evicted, invalidated, the cache closed) is closed only when
 * its last lease is, so nothing is closed under a running request. The owning cache's monitor guards the count: the
 * cache calls {@link #lease} and {@link #retire} holding it, and a lease's {@code close} takes it.
 */
final class Leased<T> {

    private final T value;
    private final Object monitor;
    private final Consumer<T> close;
    private final Runnable whenIdle;
    private int leases;
    private boolean retired;

    /**
     * @param monitor  the owning cache's lock
     * @param close    frees the value (its native memory)
     * @param whenIdle runs under the monitor when the last lease on a value the cache still holds is closed
     */
    Leased(T value, Object monitor, Consumer<T> close, Runnable whenIdle) {
        this.value = value;
        this.monitor = monitor;
        this.close = close;
        this.whenIdle = whenIdle;
    }

    T value() {
        return value;
    }

    boolean inUse() {
        return leases > 0;
    }

    Lease<T> lease() {
        leases++;
        return new Lease<>(this);
    }

    void retire() {
        retired = true;
        if (leases == 0) {
            close.accept(value);
        }
    }

    private void release() {
        synchronized (monitor) {
            leases--;
            if (leases > 0) {
                return;
            }
            if (retired) {
                close.accept(value);
            } else {
                whenIdle.run();
            }
        }
    }

    /** A request's hold on a shared value; close it when the request is done (a second close does nothing). */
    static final class Lease<T> implements AutoCloseable {
        private final Leased<T> owner;
        private boolean closed;

        private Lease(Leased<T> owner) {
            this.owner = owner;
        }

        T value() {
            return owner.value;
        }

        @Override
        public void close() {
            if (!closed) {
                closed = true;
                owner.release();
            }
        }
    }
}
