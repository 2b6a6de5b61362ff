package dev.lifeboat.snapshot.service;

import java.io.IOException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;

import org.postgresql.PGConnection;

import dev.lifeboat.repository.snapshot.CopyRows;
import dev.lifeboat.repository.snapshot.TableFingerprints;

/**
 * Row count and content hash of a table taken from its COPY text ({@link CopyRows}): at backup time from the bytes of
 * pg_dump's data file as they stream into the repository (nothing more is asked of the source), after a restore from
 * {@code COPY (select <pg_dump's columns> from only t) TO STDOUT}. Replaces {@link TableHashes}, which had the source
 * server hash every table again while pg_dump read it.
 * <p>
 * COPY text depends on session settings, so pg_dump runs with {@link #PG_OPTIONS} and the checker pins the same
 * ones ({@link #pinTextForms}); both read in UTF-8.
 */
final class CopyHashes {
    static final String METHOD = CopyRows.METHOD;

    /**
     * For pg_dump's sessions ({@code PGOPTIONS}), what its COPY text depends on and it does not set itself (it sets
     * DateStyle ISO, IntervalStyle postgres, extra_float_digits 3 and an empty search_path on its own; they are
     * named here as well so that the checker's list below is the whole story). lc_monetary is left as the source
     * has it: money is dumped in that form and read back in the target's, which a restore must share anyway.
     */
    static final String PG_OPTIONS = "-c TimeZone=UTC -c DateStyle=ISO,YMD -c IntervalStyle=postgres "
            + "-c extra_float_digits=3 -c bytea_output=hex";

    private CopyHashes() {
    }

    /**
     * The settings of {@link #PG_OPTIONS} and pg_dump's empty search_path; inside a transaction (SET LOCAL). Under
     * an empty path functions and operators are found in pg_catalog only; relations are looked for in the session's
     * temporary schema first, which holds nothing (the worker creates no temporary objects), as under
     * {@link SearchPath}.
     */
    static void pinTextForms(Connection c) throws SQLException {
        try (Statement st = c.createStatement()) {
            st.execute("select pg_catalog.set_config('TimeZone', 'UTC', true), "
                    + "pg_catalog.set_config('DateStyle', 'ISO, YMD', true), "
                    + "pg_catalog.set_config('IntervalStyle', 'postgres', true), "
                    + "pg_catalog.set_config('extra_float_digits', '3', true), "
                    + "pg_catalog.set_config('bytea_output', 'hex', true), "
                    + "pg_catalog.set_config('search_path', '', true)");
        }
    }

    /** The fingerprint of one restored table in its own column order, hashed the current way ({@link #METHOD}). */
    static TableFingerprints.Table fingerprint(Connection c, String schema, String name) throws SQLException {
        return fingerprint(c, new TableFingerprints.Table(schema, name, 0, "", null), METHOD);
    }

    /**
     * The fingerprint of the restored table {@code recorded} names, from the COPY text of the columns pg_dump dumped:
     * those {@code recorded} lists, in that order, or else the table's own (not dropped, not generated, in attnum
     * order); the names are quoted by the server, never spliced in as given. The rows are hashed as {@code method}
     * says ({@link CopyRows#computes}).
     */
    static TableFingerprints.Table fingerprint(Connection c, TableFingerprints.Table recorded, String method)
            throws SQLException {
        String schema = recorded.schema();
        String name = recorded.name();
        String query;
        boolean asStored;
        try (PreparedStatement ps = c.prepareStatement("select 'select ' || coalesce(case when ?::text[] is null "
                + "then (select pg_catalog.string_agg(pg_catalog.quote_ident(a.attname), ', ' order by a.attnum) "
                + "from pg_attribute a where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped "
                + "and a.attgenerated = '') "
                + "else (select pg_catalog.string_agg(pg_catalog.quote_ident(u.col), ', ' order by u.ord) "
                + "from pg_catalog.unnest(?::text[]) with ordinality u(col, ord)) end, '') || ' from only ' "
                + "|| pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname), "
                + "pg_catalog.current_setting('server_encoding') = 'SQL_ASCII' "
                + "from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = ? and c.relname = ?")) {
            java.sql.Array columns = recorded.columns() == null ? null
                    : c.createArrayOf("text", recorded.columns().toArray());
            ps.setArray(1, columns);
            ps.setArray(2, columns);
            ps.setString(3, schema);
            ps.setString(4, name);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    throw new SQLException("table " + schema + "." + name + " does not exist");
                }
                query = rs.getString(1);
                asStored = rs.getBoolean(2);
            }
        }
        CopyRows rows = CopyRows.of(method);
        // a SQL_ASCII database's bytes, as stored (as pg_dump dumped them), not checked as UTF-8 on the way out; the
        // connection must allow the change (TargetServers.connect: allowEncodingChanges)
        try (Statement st = c.createStatement()) {
            if (asStored) {
                st.execute("set client_encoding = 'SQL_ASCII'");
            }
            try {
                c.unwrap(PGConnection.class).getCopyAPI().copyOut("COPY (" + query + ") TO STDOUT", rows.sink());
            } finally {
                if (asStored) {
                    st.execute("set client_encoding = 'UTF8'");
                }
            }
        } catch (IOException e) {
            throw new SQLException("reading " + schema + "." + name + " failed: " + e.getMessage(), e);
        }
        rows.end();
        return new TableFingerprints.Table(schema, name, rows.count(), rows.hash(), recorded.columns());
    }

    /**
     * The columns {@code recorded} lists that the restored table lacks (or has only as generated ones): its data
     * cannot equal the backup's then, and the check says which.
     */
    static List<String> missingColumns(Connection c, TableFingerprints.Table recorded) throws SQLException {
        if (recorded.columns() == null) {
            return List.of();
        }
        try (PreparedStatement ps = c.prepareStatement("select u.col from pg_catalog.unnest(?::text[]) "
                + "with ordinality u(col, ord) where not exists (select 1 from pg_attribute a "
                + "join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace "
                + "where n.nspname = ? and c.relname = ? "
                + "and a.attname = u.col and a.attnum > 0 and not a.attisdropped and a.attgenerated = '') "
                + "order by u.ord")) {
            ps.setArray(1, c.createArrayOf("text", recorded.columns().toArray()));
            ps.setString(2, recorded.schema());
            ps.setString(3, recorded.name());
            List<String> missing = new java.util.ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    missing.add(rs.getString(1));
                }
            }
            return missing;
        }
    }
}
