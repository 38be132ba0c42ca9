package dev.peftd.ops;

import dev.peftd.kernel.DataDirectory;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.jdbc.autoconfigure.JdbcConnectionDetails;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Condition;
import org.springframework.context.annotation.ConditionContext;
import org.springframework.context.annotation.Conditional;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.type.AnnotatedTypeMetadata;
import org.springframework.util.StringUtils;

/**
 * With no {@code SPRING_DATASOURCE_URL}, peftd runs its own PostgreSQL in-process (zonky's binaries), its cluster
 * under {@code <data dir>/postgres} so that jobs survive a restart. Boot still builds HikariCP from the
 * {@link JdbcConnectionDetails}, so pool behaviour and metrics are the same as with an external server.
 */
@Configuration(proxyBeanMethods = false)
@Conditional(EmbeddedDatabaseConfiguration.NoExternalDatabase.class)
class EmbeddedDatabaseConfiguration {

    private static final Logger log = LoggerFactory.getLogger(EmbeddedDatabaseConfiguration.class);

    /**
     * The {@link DataDirectory} parameter is what orders this after the data folder's lock: a server found on the
     * cluster here belongs to no live peftd process.
     *
     * <p>Stopped only by the context, never by zonky's own JVM shutdown hook: that hook runs in parallel with the
     * context's on SIGTERM and stopped the database ~0.2 s after the signal, before the workers had checkpointed and
     * handed their jobs back. Beans are destroyed after every {@code SmartLifecycle} (the worker pool) has stopped, and
     * after the DataSource that depends on this bean, so the database is the last thing to go.
     *
     * <p>zonky starts the server with {@code -F} (fsync off) and {@code synchronous_commit=off}: fine for throwaway
     * test clusters, but this cluster holds the jobs, so both are switched back to PostgreSQL's defaults.
     */
    @Bean(destroyMethod = "close")
    EmbeddedPostgres embeddedPostgres(DataDirectory dataDirectory) throws IOException {
        Path cluster = dataDirectory.resolve("postgres");
        stopOrphanedServer(cluster);
        EmbeddedPostgres postgres = EmbeddedPostgres.builder()
                .setDataDirectory(cluster)
                .setCleanDataDirectory(false)        // keep the cluster: it holds the jobs
                .setRegisterShutdownHook(false)
                .setServerConfig("fsync", "on")      // later on the command line than zonky's -F, so it wins
                .setServerConfig("synchronous_commit", "on")
                .setPGStartupWait(Duration.ofSeconds(120))   // crash recovery on a busy machine takes a while
                .start();
        log.info("embedded PostgreSQL on port {} with its data in {}", postgres.getPort(), cluster);
        return postgres;
    }

    /**
     * A JVM that was killed (no shutdown hook) leaves its PostgreSQL child running on the cluster, and a new server
     * cannot start on it. Called only while holding the data folder's lock, so the server is an orphan. postmaster.pid names that process: ask it for a fast shutdown and wait until it is gone.
     */
    static void stopOrphanedServer(Path cluster) throws IOException {
        Path pidFile = cluster.resolve("postmaster.pid");
        if (!Files.isRegularFile(pidFile)) {
            return;
        }
        long pid;
        try {
            pid = Long.parseLong(Files.readAllLines(pidFile).get(0).trim());
        } catch (RuntimeException e) {
            return;   // unreadable: let PostgreSQL judge the stale file itself
        }
        Optional<ProcessHandle> orphan = ProcessHandle.of(pid)
                .filter(p -> p.info().command().map(c -> c.endsWith("postgres")).orElse(false));
        if (orphan.isEmpty()) {
            return;
        }
        log.warn("a PostgreSQL server (pid {}) from a previous run still holds {}; stopping it", pid, cluster);
        try {
            new ProcessBuilder("kill", "-INT", Long.toString(pid)).inheritIO().start().waitFor();
            orphan.get().onExit().get(60, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while stopping the old PostgreSQL server " + pid, e);
        } catch (ExecutionException | TimeoutException e) {
            throw new IOException("the old PostgreSQL server (pid " + pid + ") on " + cluster
                    + " did not stop within 60 s; stop it and start again", e);
        }
    }

    @Bean
    JdbcConnectionDetails embeddedConnectionDetails(EmbeddedPostgres postgres) {
        return EmbeddedPostgresConnection.of(postgres);
    }

    /** True unless a datasource URL is configured or the embedded database is switched off (tests bring their own). */
    static class NoExternalDatabase implements Condition {
        @Override
        public boolean matches(ConditionContext context, AnnotatedTypeMetadata metadata) {
            var env = context.getEnvironment();
            return !StringUtils.hasText(env.getProperty("spring.datasource.url"))
                    && env.getProperty("peftd.embedded-database", Boolean.class, true);
        }
    }
}
