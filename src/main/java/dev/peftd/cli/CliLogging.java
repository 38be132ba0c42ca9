package dev.peftd.cli;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.core.ConsoleAppender;
import org.slf4j.LoggerFactory;

/**
 * Logging for command-line runs: warnings and errors only, on stderr, so that stdout carries nothing but the
 * command's output (which {@code --json} callers parse). Without Spring, logback would otherwise log INFO to stdout.
 */
final class CliLogging {

    private CliLogging() {
    }

    static void toStderr() {
        if (!(LoggerFactory.getILoggerFactory() instanceof LoggerContext context)) {
            return; // another slf4j backend: leave its configuration alone
        }
        Logger root = context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        root.detachAndStopAllAppenders();
        PatternLayoutEncoder encoder = new PatternLayoutEncoder();
        encoder.setContext(context);
        encoder.setPattern("%level %logger{0}: %msg%n");
        encoder.start();
        ConsoleAppender<ch.qos.logback.classic.spi.ILoggingEvent> stderr = new ConsoleAppender<>();
        stderr.setContext(context);
        stderr.setTarget("System.err");
        stderr.setEncoder(encoder);
        stderr.start();
        root.addAppender(stderr);
        root.setLevel(Level.WARN);
        // DJL probes for CUDA on every engine start and warns on every CPU-only machine.
        context.getLogger("ai.djl.util.cuda.CudaUtils").setLevel(Level.ERROR);
    }
}
