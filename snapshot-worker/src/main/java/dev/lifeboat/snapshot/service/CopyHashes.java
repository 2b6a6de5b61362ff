package dev.lifeboat.snapshot.service;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.math.BigInteger;
import java.security.DigestException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.function.Consumer;

import org.postgresql.PGConnection;

import dev.lifeboat.repository.snapshot.TableFingerprints;

/**
 * Row count and content hash of a table taken from its COPY text: at backup time from the bytes of pg_dump's data
 * file as they stream into the repository (nothing more is asked of the source), after a restore from
 * {@code COPY (select <pg_dump's columns> from only t) TO STDOUT}. The hash is the sum over rows of the first 64
 * bits of the MD5 of the row's line (without its newline) as a signed long, summed without overflow: independent of
 * row order, the same shape as {@link TableHashes}, whose method it replaces. MD5 because the JDK computes it with
 * an intrinsic and it only has to tell content apart, not resist a forger (the fingerprints are sealed under the
 * repository's key).
 * <p>
 * COPY text depends on session settings, so pg_dump runs with {@link #PG_OPTIONS} and the checker pins the same
 * ones ({@link #pinTextForms}); both read in UTF-8.
 */
final class CopyHashes {
    static final String METHOD = "copy-md5-sum64-v2";

    /**
     * For pg_dump's sessions ({@code PGOPTIONS}), what its COPY text depends on and it does not set itself (it sets
     * DateStyle ISO, IntervalStyle postgres, extra_float_digits 3 and an empty search_path on its own; they are
     * named here as well so that the checker's list below is the whole story).
     */
    static final String PG_OPTIONS = "-c TimeZone=UTC -c DateStyle=ISO,YMD -c IntervalStyle=postgres "
            + "-c extra_float_digits=3 -c bytea_output=hex -c lc_monetary=C";

    private CopyHashes() {
    }

    /** The settings of {@link #PG_OPTIONS} and pg_dump's empty search_path; inside a transaction (SET LOCAL). */
    static void pinTextForms(Connection c) throws SQLException {
        try (Statement st = c.createStatement()) {
            st.execute("select set_config('TimeZone', 'UTC', true), set_config('DateStyle', 'ISO, YMD', true), "
                    + "set_config('IntervalStyle', 'postgres', true), set_config('extra_float_digits', '3', true), "
                    + "set_config('bytea_output', 'hex', true), set_config('lc_monetary', 'C', true), "
                    + "set_config('search_path', '', true)");
        }
    }

    /**
     * The fingerprint of one restored table, from the COPY text of the columns pg_dump dumps (not dropped, not
     * generated, in attnum order); the names are quoted by the server, never spliced in as given.
     */
    static TableFingerprints.Table fingerprint(Connection c, String schema, String name) throws SQLException {
        String query;
        try (PreparedStatement ps = c.prepareStatement("select 'select ' || coalesce((select string_agg("
                + "quote_ident(a.attname), ', ' order by a.attnum) from pg_attribute a where a.attrelid = c.oid "
                + "and a.attnum > 0 and not a.attisdropped and a.attgenerated = ''), '') || ' from only ' "
                + "|| quote_ident(n.nspname) || '.' || quote_ident(c.relname) "
                + "from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = ? and c.relname = ?")) {
            ps.setString(1, schema);
            ps.setString(2, name);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    throw new SQLException("table " + schema + "." + name + " does not exist");
                }
                query = rs.getString(1);
            }
        }
        Rows rows = new Rows();
        try {
            c.unwrap(PGConnection.class).getCopyAPI().copyOut("COPY (" + query + ") TO STDOUT", rows.sink());
        } catch (IOException e) {
            throw new SQLException("reading " + schema + "." + name + " failed: " + e.getMessage(), e);
        }
        rows.end();
        return new TableFingerprints.Table(schema, name, rows.count(), rows.hash());
    }

    /**
     * Counts and hashes the rows of COPY text fed to it in pieces of any size: one line per row, ended by a newline
     * (COPY escapes newlines inside values); a {@code \.} line ends the data and nothing after it is a row. Memory
     * stays flat: a line is hashed as its bytes come, never held.
     */
    static final class Rows {
        private final MessageDigest md5;
        private final byte[] digest = new byte[16];
        private long rows;
        /** The sum, 128 bits wide: a signed long per row cannot carry it past either end. */
        private long low;
        private long high;
        /** Bytes of the current line so far, and its first two (to recognise {@code \.}). */
        private long lineLength;
        private byte first;
        private byte second;
        private boolean ended;

        Rows() {
            try {
                md5 = MessageDigest.getInstance("MD5");
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException("this JVM has no MD5", e);
            }
        }

        void update(byte[] b, int off, int len) {
            int end = off + len;
            int start = off;
            for (int i = off; i < end && !ended; i++) {
                if (b[i] == '\n') {
                    take(b, start, i - start);
                    lineDone();
                    start = i + 1;
                }
            }
            if (!ended && start < end) {
                take(b, start, end - start);
            }
        }

        private void take(byte[] b, int off, int len) {
            if (len == 0) {
                return;
            }
            if (lineLength == 0) {
                first = b[off];
                second = len > 1 ? b[off + 1] : 0;
            } else if (lineLength == 1) {
                second = b[off];
            }
            lineLength += len;
            md5.update(b, off, len);
        }

        private void lineDone() {
            try {
                md5.digest(digest, 0, digest.length);
            } catch (DigestException e) {
                throw new IllegalStateException(e);
            }
            if (lineLength == 2 && first == '\\' && second == '.') {
                ended = true;
                return;
            }
            long v = 0;
            for (int i = 0; i < 8; i++) {
                v = (v << 8) | (digest[i] & 0xff);
            }
            long sum = low + v;
            // unsigned carry out of the low half, plus the sign of v extended into the high half
            high += (Long.compareUnsigned(sum, low) < 0 ? 1 : 0) + (v < 0 ? -1 : 0);
            low = sum;
            rows++;
            lineLength = 0;
        }

        /** The data is complete: a last line without its newline still counts as a row. */
        void end() {
            if (!ended && lineLength > 0) {
                lineDone();
            }
            ended = true;
        }

        long count() {
            return rows;
        }

        /** The sum as a decimal string (as PostgreSQL prints the numeric sum of the earlier method). */
        String hash() {
            return BigInteger.valueOf(high).shiftLeft(64).add(new BigInteger(Long.toUnsignedString(low))).toString();
        }

        /** An output stream feeding these rows (what PgJDBC's COPY writes into). */
        OutputStream sink() {
            return new OutputStream() {
                @Override
                public void write(int b) {
                    update(new byte[] {(byte) b}, 0, 1);
                }

                @Override
                public void write(byte[] b, int off, int len) {
                    update(b, off, len);
                }
            };
        }
    }

    /**
     * {@code in} as read, its bytes counted and hashed as rows on the way; {@code done} receives the rows once
     * {@code in} has been read to its end (not when it is closed before: then the file's rows are unknown).
     */
    static InputStream hashing(InputStream in, Consumer<Rows> done) {
        Rows rows = new Rows();
        return new InputStream() {
            private boolean finished;

            @Override
            public int read() throws IOException {
                byte[] one = new byte[1];
                return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                int n = in.read(b, off, len);
                if (n > 0) {
                    rows.update(b, off, n);
                } else if (n < 0 && !finished) {
                    finished = true;
                    rows.end();
                    done.accept(rows);
                }
                return n;
            }

            @Override
            public int available() throws IOException {
                return in.available();
            }

            @Override
            public void close() throws IOException {
                in.close();
            }
        };
    }
}
