package dev.peftd;

import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * peftd started as a real child JVM (the main class, the test JVM's classpath, the embedded PostgreSQL) on a given
 * data directory and a free port, its output in a log file: for what only a separate process shows, such as two
 * processes on one data directory or a real SIGTERM.
 */
public final class ChildPeftd implements AutoCloseable {

    private final Process process;
    private final Path log;
    private final int port;

    private ChildPeftd(Process process, Path log, int port) {
        this.process = process;
        this.log = log;
        this.port = port;
    }

    /** Starts the service; {@code properties} are extra {@code key=value} settings. Does not wait for it. */
    public static ChildPeftd start(Path dataDir, Path log, String... properties) throws IOException {
        int port = freePort();
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx1g", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC",
                "-Dai.djl.offline=true", "-Dai.djl.pytorch.num_threads=1", "-Dai.djl.pytorch.num_interop_threads=1",
                "-cp", classpath(), "dev.peftd.PeftdApplication",
                "--server.port=" + port,
                "--peftd.data-dir=" + dataDir,
                "--peftd.api-keys=alpha:" + TestApi.ALPHA_KEY,
                "--peftd.hub.endpoint=http://127.0.0.1:9",
                "--peftd.worker.poll-interval=200ms",
                "--spring.main.banner-mode=off"));
        for (String property : properties) {
            command.add("--" + property);
        }
        Files.createDirectories(log.getParent());
        Process process = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        return new ChildPeftd(process, log, port);
    }

    /** Surefire runs tests from a manifest-only jar and names the real classpath in this property. */
    private static String classpath() {
        return System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }

    public TestApi api() {
        return TestApi.alpha(port);
    }

    public Process process() {
        return process;
    }

    /** HTTP status of a GET, or empty while nothing listens. */
    public Optional<Integer> status(String path) {
        try {
            return Optional.of(api().get(path).status());
        } catch (IllegalStateException e) {
            return Optional.empty();
        }
    }

    public ChildPeftd awaitReady(Duration atMost) {
        await().atMost(atMost).pollInterval(Duration.ofMillis(250)).until(() -> {
            if (!process.isAlive()) {
                throw new AssertionError("peftd exited with " + process.exitValue() + ":\n" + output());
            }
            return status("/actuator/health/readiness").equals(Optional.of(200));
        });
        return this;
    }

    public String output() {
        try {
            return Files.readString(log, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Sends SIGTERM (what {@link Process#destroy()} does on Linux) and waits for the exit code. */
    public int terminate(Duration atMost) throws InterruptedException {
        process.destroy();
        if (!process.waitFor(atMost.toMillis(), TimeUnit.MILLISECONDS)) {
            throw new AssertionError("peftd did not exit within " + atMost + " of SIGTERM:\n" + output());
        }
        return process.exitValue();
    }

    /** Kills the process if it still runs; its embedded PostgreSQL, if any is left, is the next start's orphan. */
    @Override
    public void close() throws InterruptedException {
        if (process.isAlive()) {
            process.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
        }
    }

    /** Stops whatever PostgreSQL still runs on the data directory's cluster (fast shutdown), as after a test. */
    public static void stopPostgres(Path dataDir) throws IOException, InterruptedException {
        Path pidFile = dataDir.resolve("postgres/postmaster.pid");
        if (!Files.isRegularFile(pidFile)) {
            return;
        }
        long pid = Long.parseLong(Files.readAllLines(pidFile).get(0).trim());
        Optional<ProcessHandle> server = ProcessHandle.of(pid)
                .filter(p -> p.info().command().map(c -> c.endsWith("postgres")).orElse(false));
        if (server.isPresent()) {
            new ProcessBuilder("kill", "-INT", Long.toString(pid)).start().waitFor();
            server.get().onExit().orTimeout(30, TimeUnit.SECONDS).join();
        }
    }
}
