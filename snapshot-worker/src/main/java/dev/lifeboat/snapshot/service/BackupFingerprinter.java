package dev.lifeboat.snapshot.service;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.jboss.logging.Logger;

import dev.lifeboat.repository.snapshot.CopyRows;
import dev.lifeboat.repository.snapshot.TableFingerprints;
import dev.lifeboat.snapshot.domain.BackupFailure;

/**
 * Fingerprints the tables of a source from the dump itself ({@link CopyHashes}): every table data file of the dump
 * is counted and hashed as the repository reads it ({@link #open}), so the source does no work for them. Which table
 * a file holds comes from the dump's table of contents ({@code pg_restore -l}: dump id, table oid) and the source's
 * catalog, read in the snapshot pg_dump dumps: a REPEATABLE READ transaction exports it ({@link #snapshotId()}, for
 * {@code pg_dump --snapshot}) and stays open until {@link #close()}, after pg_dump (and its parallel workers) have
 * imported it, so a table renamed or created meanwhile is named as the dump names it.
 * <p>
 * A table whose data file was not read to its end, or that the catalog does not name, is left out (logged), not the
 * backup: its TABLE_MATCHES_SOURCE check then fails saying the backup recorded nothing for it.
 */
public final class BackupFingerprinter implements AutoCloseable, PgDump.Tap {
    private static final Logger LOG = Logger.getLogger(BackupFingerprinter.class);
    private static final Pattern DATA_FILE = Pattern.compile("(\\d+)\\.dat");
    /** A table's data in {@code pg_restore -l}: {@code <dumpId>; <tableoid> <oid> TABLE DATA <schema> <name> <owner>}. */
    private static final Pattern TABLE_DATA = Pattern.compile("^(\\d+); \\d+ (\\d+) TABLE DATA ");
    private static final String TOC = "toc.dat";
    private static final long LIST_TIMEOUT_SECONDS = 60;

    /**
     * Ordinary tables (partitions included, partitioned parents not: their rows are in the partitions), by oid, and
     * whether an extension owns them: pg_dump dumps of an extension's configuration table only the rows its filter
     * keeps, while CREATE EXTENSION fills in the others on restore, so those are not fingerprinted (nor checked).
     * For a table that inherits, also the columns pg_dump's COPY names, in its order (not dropped, not generated, by
     * attnum): a restore recreates such a table with its inherited columns first, which need not be the source's
     * order, while the data file keeps the source's. And whether the table is a partition under hash partitioning,
     * whose rows pg_dump may load through the partitioned root (enum keys hash differently on another server), so
     * that they land in other partitions on restore than the file they came in.
     */
    private static final String TABLES = """
            select c.oid, n.nspname, c.relname,
                   exists (select 1 from pg_depend d where d.classid = 'pg_catalog.pg_class'::regclass
                           and d.objid = c.oid and d.deptype = 'e'),
                   case when exists (select 1 from pg_inherits i where i.inhrelid = c.oid) then
                     array(select a.attname::text from pg_attribute a where a.attrelid = c.oid and a.attnum > 0
                           and not a.attisdropped and a.attgenerated = '' order by a.attnum) end,
                   c.relispartition and exists (
                     with recursive up(relid) as (
                       select i.inhparent from pg_inherits i where i.inhrelid = c.oid
                       union all
                       select i.inhparent from pg_inherits i join up on i.inhrelid = up.relid)
                     select 1 from up join pg_partitioned_table p on p.partrelid = up.relid where p.partstrat = 'h')
            from pg_class c join pg_namespace n on n.oid = c.relnamespace
            where c.relkind = 'r'
              and n.nspname not in ('pg_catalog', 'information_schema')
              and n.nspname not like 'pg\\_temp\\_%' and n.nspname not like 'pg\\_toast%'""";

    /**
     * The session settings pg_dump must run with ({@code PGOPTIONS}), along with {@code --encoding=UTF8}, for its
     * data files to hash as the checker hashes a restored table.
     */
    public static final String PG_OPTIONS = CopyHashes.PG_OPTIONS;

    /**
     * @param columns          pg_dump's column order where a restore may change it, else null
     * @param mayLoadElsewhere a hash partition: its file's rows may be routed to other partitions on restore
     */
    private record Named(String schema, String name, boolean ofExtension, List<String> columns,
                         boolean mayLoadElsewhere) {
    }

    private record Counted(long rows, String hash) {
    }

    private final Connection connection;
    private final String snapshotId;
    private final Map<Long, Named> tables;
    private final Path pgRestore;
    /** Each data file read to its end, by dump id: its rows counted and hashed (the hasher itself is not kept). */
    private final Map<Integer, Counted> hashed = new ConcurrentHashMap<>();
    private volatile Map<Integer, Long> contents;
    private volatile String contentsFailure;
    private final boolean dumpInUtf8;

    private BackupFingerprinter(Connection connection, String snapshotId, Map<Long, Named> tables, Path pgRestore,
                                boolean dumpInUtf8) {
        this.connection = connection;
        this.snapshotId = snapshotId;
        this.tables = tables;
        this.pgRestore = pgRestore;
        this.dumpInUtf8 = dumpInUtf8;
    }

    /**
     * Whether pg_dump must write in UTF-8 ({@code --encoding=UTF8}), as the checker reads: yes, but for a SQL_ASCII
     * database, whose bytes no encoding converts (both read them as stored) and whose dump, labelled UTF-8, a
     * SQL_ASCII target would check as UTF-8 and refuse where they are not.
     */
    @Override
    public boolean utf8() {
        return dumpInUtf8;
    }

    /** @param pgRestore the pg_restore of the pg_dump that dumps (it lists the dump's table of contents) */
    public static BackupFingerprinter open(String host, int port, String database, String user, String password,
                                           int timeoutSeconds, Path pgRestore) {
        Properties props = new Properties();
        props.setProperty("user", user);
        props.setProperty("password", password);
        props.setProperty("connectTimeout", String.valueOf(timeoutSeconds));
        props.setProperty("options", SearchPath.PINNED);
        return open("jdbc:postgresql://" + host + ":" + port + "/" + database, props,
                host + ":" + port + "/" + database, pgRestore);
    }

    /** Over the source's own connection settings (password and TLS as resolved for this backup). */
    static BackupFingerprinter open(SourceConnection source, int timeoutSeconds, Deadline deadline, Path pgRestore) {
        return open(source.jdbcUrl(), source.jdbcProperties(timeoutSeconds,
                (int) Math.max(1, deadline.remaining().toSeconds() + 1)), source.toString(), pgRestore);
    }

    private static BackupFingerprinter open(String url, Properties props, String where, Path pgRestore) {
        props.setProperty("ApplicationName", "lifeboat-snapshot-fingerprints");
        Connection c;
        try {
            c = DriverManager.getConnection(url, props);
        } catch (SQLException e) {
            throw failedToBegin(where, e);
        }
        return begin(c, where, pgRestore);
    }

    /**
     * On a connection to the source the backup opened already (its probe's), which it takes over and closes: one
     * connection (TLS, authentication) less before pg_dump can start. Its reads may wait until the backup's deadline.
     */
    static BackupFingerprinter on(Connection c, String where, Deadline deadline, Path pgRestore) {
        try {
            c.setNetworkTimeout(Runnable::run, (int) Math.min(Integer.MAX_VALUE,
                    deadline.remaining().toMillis() + 1000));
        } catch (SQLException e) {
            closeQuietly(c);
            throw failedToBegin(where, e);
        }
        return begin(c, where, pgRestore);
    }

    /** Exports the snapshot pg_dump will dump in and reads the tables' names in it. */
    private static BackupFingerprinter begin(Connection c, String where, Path pgRestore) {
        try {
            boolean sqlAscii;
            try (Statement st = c.createStatement();
                 // idle until pg_dump's workers have imported the snapshot: a source's idle or transaction timeout
                 // must not end it first (pg_dump turns them off for its own sessions too)
                 ResultSet rs = st.executeQuery("select coalesce(pg_catalog.string_agg("
                         + "pg_catalog.set_config(name, '0', false), ','), ''), "
                         + "pg_catalog.current_setting('server_encoding') = 'SQL_ASCII' from pg_settings where name in "
                         + "('idle_in_transaction_session_timeout', 'transaction_timeout')")) {
                rs.next();
                sqlAscii = rs.getBoolean(2);
            }
            c.setAutoCommit(false);
            try (Statement st = c.createStatement()) {
                st.execute("set transaction isolation level repeatable read, read only");
                String id;
                try (ResultSet rs = st.executeQuery("select pg_catalog.pg_export_snapshot()")) {
                    rs.next();
                    id = rs.getString(1);
                }
                Map<Long, Named> tables = new HashMap<>();
                try (ResultSet rs = st.executeQuery(TABLES)) {
                    while (rs.next()) {
                        java.sql.Array columns = rs.getArray(5);
                        tables.put(rs.getLong(1), new Named(rs.getString(2), rs.getString(3), rs.getBoolean(4),
                                columns == null ? null : List.of((String[]) columns.getArray()), rs.getBoolean(6)));
                    }
                }
                return new BackupFingerprinter(c, id, tables, pgRestore, !sqlAscii);
            }
        } catch (SQLException e) {
            closeQuietly(c);
            throw failedToBegin(where, e);
        }
    }

    private static BackupFailure failedToBegin(String where, SQLException e) {
        return new BackupFailure("DUMP", "cannot open a snapshot of " + where + " for the table fingerprints: "
                + e.getMessage() + " (set LIFEBOAT_TABLE_FINGERPRINTS=false to back up without them)");
    }

    private static void closeQuietly(Connection c) {
        try {
            c.close();
        } catch (SQLException ignored) {
            // the connection is unusable anyway
        }
    }

    /** What {@code pg_dump --snapshot} takes. */
    public String snapshotId() {
        return snapshotId;
    }

    /**
     * {@code in}, the content of {@code file} of a complete or growing dump, as the repository reads it: a table's
     * data file is hashed on the way; the table of contents, handed out once pg_dump has ended, is listed first.
     */
    @Override
    public InputStream open(Path file, InputStream in) throws IOException {
        String name = file.getFileName().toString();
        Matcher data = DATA_FILE.matcher(name);
        if (data.matches()) {
            int dumpId = Integer.parseInt(data.group(1));
            return CopyRows.hashing(in, rows -> hashed.put(dumpId, new Counted(rows.count(), rows.hash())));
        }
        if (name.equals(TOC)) {
            close();   // pg_dump has ended: its snapshot need not hold the source's vacuum back any longer
            listContents(file.getParent());
        }
        return in;
    }

    /**
     * dump id to table oid of every table's data in the dump, from {@code pg_restore --list} (it reads toc.dat only),
     * its listing written next to the dump and read once it has ended, under a deadline.
     */
    private void listContents(Path dumpDir) {
        Path listing = dumpDir.resolveSibling("toc.list");
        Process p = null;
        try {
            ProcessBuilder pb = new ProcessBuilder(pgRestore.toString(), "--list", "--file=" + listing,
                    dumpDir.toString()).redirectErrorStream(true)
                    .redirectOutput(dumpDir.resolveSibling("toc.list.stderr").toFile());
            SourceConnection.withoutPlatformEnvironment(pb.environment());
            p = pb.start();
            if (!p.waitFor(LIST_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                contentsFailure = pgRestore + " --list " + dumpDir + " did not end within " + LIST_TIMEOUT_SECONDS
                        + " s";
                return;
            }
            if (p.exitValue() != 0) {
                contentsFailure = pgRestore + " --list " + dumpDir + " exited with " + p.exitValue() + ": "
                        + Files.readString(dumpDir.resolveSibling("toc.list.stderr")).strip();
                return;
            }
            Map<Integer, Long> out = new HashMap<>();
            try (var lines = Files.lines(listing, StandardCharsets.ISO_8859_1)) {
                lines.map(TABLE_DATA::matcher).filter(Matcher::find).forEach(m ->
                        out.put(Integer.parseInt(m.group(1)), Long.parseLong(m.group(2))));
            }
            contents = out;
        } catch (IOException | RuntimeException e) {
            contentsFailure = "cannot list the table of contents of " + dumpDir + " with " + pgRestore + ": " + e;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            p.destroyForcibly();
            contentsFailure = "interrupted while listing the dump's table of contents";
        }
    }

    /**
     * The fingerprints, once the repository has read every file of the dump through {@link #open}: every table whose
     * data the dump holds, an empty one with 0 rows.
     */
    public TableFingerprints fingerprints() {
        Map<Integer, Long> toc = contents;
        if (toc == null) {
            throw new BackupFailure("DUMP", "table fingerprints failed: " + (contentsFailure != null ? contentsFailure
                    : "the dump's table of contents was not read") + "; nothing was uploaded as a backup (set "
                    + "LIFEBOAT_TABLE_FINGERPRINTS=false to back up without them)");
        }
        List<TableFingerprints.Table> out = new ArrayList<>();
        toc.entrySet().stream().sorted(Map.Entry.comparingByKey()).forEach(e -> {
            Named table = tables.get(e.getValue());
            Counted rows = hashed.get(e.getKey());
            if (table == null) {
                LOG.warnf("table with oid %d (dump id %d) left out of the fingerprints: not an ordinary table in "
                        + "the dump's snapshot", e.getValue(), e.getKey());
            } else if (table.ofExtension()) {
                LOG.debugf("table %s.%s not fingerprinted: it belongs to an extension", table.schema(), table.name());
            } else if (rows == null) {
                LOG.warnf("table %s.%s left out of the fingerprints: its data file %d.dat was not read to its end",
                        table.schema(), table.name(), e.getKey());
            } else {
                out.add(new TableFingerprints.Table(table.schema(), table.name(), rows.rows(), rows.hash(),
                        table.columns(), table.mayLoadElsewhere() ? null : e.getKey() + ".dat"));
            }
        });
        out.sort(java.util.Comparator.comparing(TableFingerprints.Table::schema)
                .thenComparing(TableFingerprints.Table::name));
        return new TableFingerprints(CopyHashes.METHOD, out);
    }

    /** Ends the transaction (and the exported snapshot); once pg_dump has ended, or when the backup ends. */
    @Override
    public void close() {
        try {
            if (!connection.isClosed()) {
                connection.rollback();
                connection.close();
            }
        } catch (SQLException e) {
            LOG.debugf("closing the fingerprint connection: %s", e.getMessage());
        }
    }
}
