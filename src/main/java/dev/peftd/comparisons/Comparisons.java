package dev.peftd.comparisons;

import dev.peftd.api.SeqPages;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.util.List;
import java.util.Optional;
import org.springframework.jdbc.core.RowMapper;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Repository;

/** The comparison table: insert, read and page, always scoped to a tenant. */
@Repository
class Comparisons {

    private static final RowMapper<ComparisonRecord> MAPPER = Comparisons::map;

    private final JdbcClient jdbc;

    Comparisons(JdbcClient jdbc) {
        this.jdbc = jdbc;
    }

    void insert(ComparisonRecord c) {
        jdbc.sql("""
                insert into fine_tuning_comparisons (id, tenant, model, training_file, validation_file,
                    validation_fraction, request, created_at)
                values (?, ?, ?, ?, ?, ?, ?, ?)""")
                .params(c.id(), c.tenant(), c.model(), c.trainingFile(), c.validationFile(), c.validationFraction(),
                        c.planJson(), Timestamp.from(c.createdAt()))
                .update();
    }

    Optional<ComparisonRecord> find(String tenant, String id) {
        return jdbc.sql("select * from fine_tuning_comparisons where id = ? and tenant = ?").params(id, tenant)
                .query(MAPPER).optional();
    }

    /** Newest first; {@code after} is the id of the last comparison of the previous page. */
    List<ComparisonRecord> page(String tenant, String after, int limitPlusOne) {
        return SeqPages.newestFirst(jdbc, "fine_tuning_comparisons", tenant, after, limitPlusOne, MAPPER);
    }

    private static ComparisonRecord map(ResultSet rs, int row) throws SQLException {
        return new ComparisonRecord(rs.getString("id"), rs.getString("tenant"), rs.getString("model"),
                rs.getString("training_file"), rs.getString("validation_file"),
                (Double) rs.getObject("validation_fraction"), rs.getString("request"),
                rs.getTimestamp("created_at").toInstant());
    }
}
