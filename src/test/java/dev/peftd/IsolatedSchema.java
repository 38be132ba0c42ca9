package dev.peftd;

import com.zaxxer.hikari.HikariDataSource;
import javax.sql.DataSource;
import org.flywaydb.core.Flyway;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.jdbc.datasource.DriverManagerDataSource;

/**
 * A private copy of the schema (same migrations) in its own PostgreSQL schema on the test database, for tests that
 * drive the queue directly and must not meet the shared context's workers.
 */
public final class IsolatedSchema {

    private IsolatedSchema() {
    }

    public static JdbcClient create(DataSource shared, String schema) {
        HikariDataSource hikari = (HikariDataSource) shared;
        String url = hikari.getJdbcUrl() + (hikari.getJdbcUrl().contains("?") ? "&" : "?") + "currentSchema=" + schema;
        DriverManagerDataSource dataSource = new DriverManagerDataSource(url, hikari.getUsername(), hikari.getPassword());
        Flyway.configure().dataSource(dataSource).schemas(schema).cleanDisabled(false).load().clean();
        Flyway.configure().dataSource(dataSource).schemas(schema).load().migrate();
        return JdbcClient.create(dataSource);
    }
}
