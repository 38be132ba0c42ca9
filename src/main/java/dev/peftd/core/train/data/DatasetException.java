package dev.peftd.core.train.data;

/** A dataset the training cannot use; the message names the file, the line and the reason. */
public class DatasetException extends RuntimeException {
    public DatasetException(String message) {
        super(message);
    }

    public DatasetException(String message, Throwable cause) {
        super(message, cause);
    }
}
