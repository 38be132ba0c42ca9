package dev.peftd.bench;

/** A benchmark that cannot run or whose child process failed; the message says which and why, in one line. */
public class BenchmarkException extends Exception {
    public BenchmarkException(String message) {
        super(message);
    }
}
