package dev.peftd.ops;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import org.springframework.boot.jdbc.autoconfigure.JdbcConnectionDetails;

/**
 * Connection details for an embedded (zonky) PostgreSQL. Handing Boot these rather than zonky's own DataSource keeps
 * HikariCP, its pool behaviour and its {@code hikaricp_*} meters identical to a production database.
 */
public final class EmbeddedPostgresConnection {

    private EmbeddedPostgresConnection() {
    }

    public static JdbcConnectionDetails of(EmbeddedPostgres postgres) {
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
}
