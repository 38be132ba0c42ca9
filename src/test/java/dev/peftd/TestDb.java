package dev.peftd;

import dev.peftd.ops.EmbeddedPostgresConnection;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import org.springframework.boot.jdbc.autoconfigure.JdbcConnectionDetails;
import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.boot.testcontainers.service.connection.ServiceConnection;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Condition;
import org.springframework.context.annotation.ConditionContext;
import org.springframework.context.annotation.Conditional;
import org.springframework.core.type.AnnotatedTypeMetadata;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.postgresql.PostgreSQLContainer;

/**
 * The one test database configuration: a PostgreSQL container when a Docker engine answers, the embedded (zonky)
 * server otherwise. Either way Boot builds HikariCP from connection details, as in production.
 */
@TestConfiguration(proxyBeanMethods = false)
public class TestDb {

    private static volatile Boolean docker;

    static boolean docker() {
        if (docker == null) {
            boolean available;
            // without a socket or DOCKER_HOST there is nothing to ask; Testcontainers' own probe takes seconds to say no
            boolean candidate = System.getenv("DOCKER_HOST") != null
                    || java.nio.file.Files.exists(java.nio.file.Path.of("/var/run/docker.sock"));
            try {
                available = candidate && DockerClientFactory.instance().isDockerAvailable();
            } catch (Throwable t) {
                available = false;
            }
            docker = available;
        }
        return docker;
    }

    static class DockerUp implements Condition {
        @Override
        public boolean matches(ConditionContext context, AnnotatedTypeMetadata metadata) {
            return docker();
        }
    }

    static class DockerDown implements Condition {
        @Override
        public boolean matches(ConditionContext context, AnnotatedTypeMetadata metadata) {
            return !docker();
        }
    }

    @Bean
    @ServiceConnection
    @Conditional(DockerUp.class)
    PostgreSQLContainer postgres() {
        return new PostgreSQLContainer("postgres:17-alpine");
    }

    @Bean(destroyMethod = "close")
    @Conditional(DockerDown.class)
    EmbeddedPostgres embeddedPostgres() throws Exception {
        return EmbeddedPostgres.builder().start();
    }

    @Bean
    @Conditional(DockerDown.class)
    JdbcConnectionDetails zonkyConnection(EmbeddedPostgres pg) {
        return EmbeddedPostgresConnection.of(pg);
    }
}
