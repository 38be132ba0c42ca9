package dev.peftd.serving;

import java.util.function.Consumer;

/**
 * A streamed answer whose request is already checked and whose model is already open: everything that can be the
 * client's fault has failed before the first byte (so HTTP can still answer 400), and {@link #run} only generates.
 * Closing it (also after {@link #run}) releases the model session.
 */
final class StreamingAnswer<T> implements AutoCloseable {

    /** The generating part: writes chunks to the sink. */
    @FunctionalInterface
    interface Body<T> {
        void write(Consumer<T> sink);
    }

    private final ServingEngine.Session session;
    private final Body<T> body;

    StreamingAnswer(ServingEngine.Session session, Body<T> body) {
        this.session = session;
        this.body = body;
    }

    /** Generates and hands every chunk to {@code sink}, on the calling thread; releases the session when done. */
    public void run(Consumer<T> sink) {
        try {
            body.write(sink);
        } finally {
            session.close();
        }
    }

    /** Stops the generation at its next token (the client is gone); {@link #run} then returns or throws. */
    public void cancel() {
        session.cancel();
    }

    @Override
    public void close() {
        session.close();
    }
}
