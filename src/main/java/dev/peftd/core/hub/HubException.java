package dev.peftd.core.hub;

/** A Hub download that cannot complete: unknown repo or revision, missing token, network or integrity failure. */
public class HubException extends RuntimeException {
    public HubException(String message) {
        super(message);
    }

    public HubException(String message, Throwable cause) {
        super(message, cause);
    }
}
