package dev.peftd.serving;

/** A streamed answer could not be written: the client closed the connection (or its stream timed out). */
final class ClientGoneException extends RuntimeException {

    ClientGoneException(Throwable cause) {
        super("client went away", cause);
    }
}
