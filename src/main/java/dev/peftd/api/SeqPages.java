package dev.peftd.api;

import java.util.List;
import org.springframework.jdbc.core.RowMapper;
import org.springframework.jdbc.core.simple.JdbcClient;

/**
 * The cursor page of a tenant's rows in a table with a {@code seq} column (creation order), newest first: the
 * query behind {@link ListPage} for jobs and comparisons. The cursor is the id of the previous page's last row.
 */
public final class SeqPages {

    private SeqPages() {
    }

    /**
     * @param table a table with {@code id}, {@code tenant} and {@code seq} columns (a constant of the caller, never
     *              user input)
     * @param after the id of the last row of the previous page, or {@code null} for the first page
     */
    public static <T> List<T> newestFirst(JdbcClient jdbc, String table, String tenant, String after,
            int limitPlusOne, RowMapper<T> mapper) {
        if (after == null) {
            return jdbc.sql("select * from " + table + " where tenant = ? order by seq desc limit ?")
                    .params(tenant, limitPlusOne).query(mapper).list();
        }
        return jdbc.sql("select * from " + table + " where tenant = ?"
                        + " and seq < (select seq from " + table + " where id = ? and tenant = ?)"
                        + " order by seq desc limit ?")
                .params(tenant, after, tenant, limitPlusOne).query(mapper).list();
    }
}
