package dev.lifeboat.snapshot.service;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

import dev.lifeboat.repository.snapshot.TableFingerprints;

/**
 * Row count and content hash of a table as backups recorded them before {@link CopyHashes} (computed by the source
 * server, in the dump's snapshot): kept to check restores of those backups, and to list a restored database's tables. The hash is the sum over rows of the first 64 bits of {@code md5(row::text)} as a signed bigint (summed
 * as numeric, so it cannot overflow): independent of row order, so it needs no sort and costs one sequential scan.
 * Row text depends on session settings, so both sides pin them first ({@link #pinTextForms}).
 */
final class TableHashes {
    static final String METHOD = "md5-sum64-v1";

    /**
     * Ordinary tables (partitions included, partitioned parents not: their rows are in the partitions), except those
     * of an extension: CREATE EXTENSION makes them and fills them, not the backup's data.
     */
    private static final String TABLES = """
            select n.nspname, c.relname
            from pg_class c join pg_namespace n on n.oid = c.relnamespace
            where c.relkind = 'r'
              and n.nspname not in ('pg_catalog', 'information_schema')
              and n.nspname not like 'pg\\_temp\\_%' and n.nspname not like 'pg\\_toast%'
              and not exists (select 1 from pg_depend d where d.classid = 'pg_catalog.pg_class'::regclass
                              and d.objid = c.oid and d.deptype = 'e')
            order by 1, 2""";

    private TableHashes() {
    }

    /** Text forms independent of the server's and the role's defaults; inside a transaction (SET LOCAL). */
    static void pinTextForms(Connection c) throws SQLException {
        try (Statement st = c.createStatement()) {
            st.execute("select pg_catalog.set_config('TimeZone', 'UTC', true), "
                    + "pg_catalog.set_config('DateStyle', 'ISO, YMD', true), "
                    + "pg_catalog.set_config('IntervalStyle', 'postgres', true), "
                    + "pg_catalog.set_config('extra_float_digits', '3', true), "
                    + "pg_catalog.set_config('bytea_output', 'hex', true)");
        }
    }

    static List<String[]> tables(Connection c) throws SQLException {
        List<String[]> out = new ArrayList<>();
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(TABLES)) {
            while (rs.next()) {
                out.add(new String[] {rs.getString(1), rs.getString(2)});
            }
        }
        return out;
    }

    /** The fingerprint of one table; the names are quoted by the server, never spliced in as given. */
    static TableFingerprints.Table fingerprint(Connection c, String schema, String name) throws SQLException {
        String relation;
        try (PreparedStatement ps = c.prepareStatement("select pg_catalog.quote_ident(?) || '.' || "
                + "pg_catalog.quote_ident(?)")) {
            ps.setString(1, schema);
            ps.setString(2, name);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                relation = rs.getString(1);
            }
        }
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("select pg_catalog.count(*), "
                + "coalesce(pg_catalog.sum(('x' || pg_catalog.left(pg_catalog.md5(t::text), 16))::bit(64)::bigint), "
                + "0)::text from only " + relation + " as t")) {
            rs.next();
            return new TableFingerprints.Table(schema, name, rs.getLong(1), rs.getString(2));
        }
    }
}
