package dev.peftd.serving;

import dev.peftd.catalog.UploadedAdapters;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.util.List;
import java.util.Optional;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Repository;

/** The {@code served_adapters} table: every query is scoped to a tenant. */
@Repository
class ServedAdapters implements UploadedAdapters {

    private final JdbcClient jdbc;

    ServedAdapters(JdbcClient jdbc) {
        this.jdbc = jdbc;
    }

    void insert(ServedAdapter a) {
        jdbc.sql("""
                insert into served_adapters (tenant, id, name, base_model, method, rank, modules, bytes, created_at)
                values (:tenant, :id, :name, :base, :method, :rank, :modules, :bytes, :createdAt)""")
                .param("tenant", a.tenant()).param("id", a.id()).param("name", a.name()).param("base", a.baseModel())
                .param("method", a.method()).param("rank", a.rank()).param("modules", a.modules())
                .param("bytes", a.bytes()).param("createdAt", Timestamp.from(a.createdAt())).update();
    }

    /** By id, or by the name it was uploaded with. */
    Optional<ServedAdapter> find(String tenant, String idOrName) {
        return jdbc.sql("select * from served_adapters where tenant = ? and (id = ? or name = ?)")
                .params(tenant, idOrName, idOrName).query(this::map).optional();
    }

    boolean nameTaken(String tenant, String name) {
        return jdbc.sql("select count(*) from served_adapters where tenant = ? and name = ?").params(tenant, name)
                .query(Integer.class).single() > 0;
    }

    List<ServedAdapter> list(String tenant) {
        return jdbc.sql("select * from served_adapters where tenant = ? order by created_at, id").params(tenant)
                .query(this::map).list();
    }

    @Override
    public List<UploadedAdapter> uploadedAdapters(String tenant) {
        return list(tenant).stream().map(a -> new UploadedAdapter(a.id(), a.name(), a.baseModel(),
                a.createdAt().getEpochSecond())).toList();
    }

    void setMergedModel(String tenant, String id, String modelId) {
        jdbc.sql("update served_adapters set merged_model = ? where tenant = ? and id = ?").params(modelId, tenant, id)
                .update();
    }

    boolean delete(String tenant, String id) {
        return jdbc.sql("delete from served_adapters where tenant = ? and id = ?").params(tenant, id).update() > 0;
    }

    private ServedAdapter map(ResultSet rs, int row) throws SQLException {
        return new ServedAdapter(rs.getString("id"), rs.getString("tenant"), rs.getString("name"),
                rs.getString("base_model"), rs.getString("method"), rs.getInt("rank"), rs.getInt("modules"),
                rs.getLong("bytes"), rs.getString("merged_model"), rs.getTimestamp("created_at").toInstant());
    }
}
