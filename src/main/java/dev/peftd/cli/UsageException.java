package dev.peftd.cli;

/** A problem the user must fix (bad argument, missing directory, corrupt file); printed as one line, exit code 2. */
public class UsageException extends Exception {
    public UsageException(String message) {
        super(message);
    }

    public UsageException(String message, Throwable cause) {
        super(message, cause);
    }
}
