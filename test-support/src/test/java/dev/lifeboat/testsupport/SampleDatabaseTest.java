package dev.lifeboat.testsupport;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;

import org.junit.jupiter.api.Test;

class SampleDatabaseTest {

    @Test
    void scriptIsJdbcFriendly() {
        String sql = Databases.sampleSql(3);
        assertThat(sql).doesNotContain(":scale").doesNotContain("\\");
        assertThat(sql.strip()).contains("ANALYZE shop.").endsWith(";");
    }

    @Test
    void scaleSixtyIsAtLeastFiftyMegabytesAndReloadable() throws Exception {
        String db = "ts_sample_60";
        Databases.createDatabase(db);
        try {
            long t0 = System.nanoTime();
            Databases.loadSample(db, 60);
            long loadMs = (System.nanoTime() - t0) / 1_000_000;
            long size = databaseSize(db);
            System.out.printf("sample scale 60: pg_database_size %d bytes (%.1f MB), loaded in %d ms%n",
                    size, size / 1e6, loadMs);
            assertThat(size).isGreaterThanOrEqualTo(50L * 1024 * 1024);

            var first = TableFingerprint.of(db);
            Databases.loadSample(db, 60);   // re-runnable on a loaded database, same content
            assertThat(TableFingerprint.of(db)).isEqualTo(first);
        } finally {
            Databases.dropDatabase(db);
        }
    }

    private static long databaseSize(String db) throws Exception {
        try (Connection c = Databases.connect("postgres"); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT pg_database_size('" + db + "')")) {
            rs.next();
            return rs.getLong(1);
        }
    }
}
