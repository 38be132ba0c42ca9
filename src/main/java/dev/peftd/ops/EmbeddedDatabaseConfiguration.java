package dev.peftd.ops;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.nio.file.Path;
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

    @Bean(destroyMethod = "close")
    EmbeddedPostgres embeddedPostgres(DataDirectory dataDirectory) throws IOException {
        Path cluster = dataDirectory.resolve("postgres");
        EmbeddedPostgres postgres = EmbeddedPostgres.builder()
                .setDataDirectory(cluster)
                .setCleanDataDirectory(false)        // keep the cluster: it holds the jobs
                .start();
        log.info("embedded PostgreSQL on port {} with its data in {}", postgres.getPort(), cluster);
        return postgres;
    }

    @Bean
    JdbcConnectionDetails embeddedConnectionDetails(EmbeddedPostgres postgres) {
        String url = postgres.getJdbcUrl("postgres", "postgres");
        return new JdbcConnectionDetails() {
            @Override
            public String getUsername() {
                return "postgres";
            }

            @Override
            public String getPassword() {
                return "postgres";
            }

            @Override
            public String getJdbcUrl() {
                return url;
            }
        };
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
