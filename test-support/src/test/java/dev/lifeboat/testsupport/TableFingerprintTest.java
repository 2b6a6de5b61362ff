package dev.lifeboat.testsupport;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class TableFingerprintTest {

    private static final String A = "ts_fingerprint_a";
    private static final String B = "ts_fingerprint_b";

    @BeforeAll
    static void load() {
        LocalStack.ensureStarted();
        for (String db : new String[] {A, B}) {
            Databases.createDatabase(db);
            Databases.loadSample(db, 1);
        }
    }

    @AfterAll
    static void drop() {
        Databases.dropDatabase(A);
        Databases.dropDatabase(B);
    }

    @Test
    void sameSampleGivesSameFingerprints() {
        Map<String, TableFingerprint> a = TableFingerprint.of(A);
        Map<String, TableFingerprint> b = TableFingerprint.of(B);
        assertThat(a).containsKeys("shop.customers", "shop.products", "shop.orders", "shop.order_items",
                "shop.payments", "shop.events");
        assertThat(a.get("shop.customers").rowCount()).isEqualTo(200);
        assertThat(a.get("shop.events").rowCount()).isEqualTo(700);
        assertThat(a.get("shop.order_items").rowCount()).isGreaterThan(2 * 900);
        assertThat(a.get("shop.orders").contentHash()).matches("[0-9a-f]{32}");
        assertThat(b).isEqualTo(a);
    }

    @Test
    void changingOneRowChangesExactlyThatTable() {
        String db = "ts_fingerprint_c";
        Databases.createDatabase(db);
        try {
            Databases.loadSample(db, 1);
            Map<String, TableFingerprint> before = TableFingerprint.of(db);
            Databases.execute(db, "UPDATE shop.orders SET total = total + 0.01 WHERE id = 17");
            Map<String, TableFingerprint> after = TableFingerprint.of(db);

            assertThat(after.keySet()).isEqualTo(before.keySet());
            for (String table : before.keySet()) {
                if (table.equals("shop.orders")) {
                    assertThat(after.get(table).rowCount()).isEqualTo(before.get(table).rowCount());
                    assertThat(after.get(table).contentHash()).isNotEqualTo(before.get(table).contentHash());
                } else {
                    assertThat(after.get(table)).as(table).isEqualTo(before.get(table));
                }
            }

            Databases.execute(db, "DELETE FROM shop.events WHERE id = 3");
            assertThat(TableFingerprint.of(db).get("shop.events").rowCount())
                    .isEqualTo(before.get("shop.events").rowCount() - 1);
        } finally {
            Databases.dropDatabase(db);
        }
    }

    @Test
    void emptyTableAndOtherSchemasAreIncluded() {
        String db = "ts_fingerprint_d";
        Databases.createDatabase(db);
        try {
            Databases.execute(db, "CREATE SCHEMA other; CREATE TABLE other.empty (id int); CREATE TABLE public.\"Mixed Case\" (v text);"
                    + "INSERT INTO public.\"Mixed Case\" VALUES ('x'), ('y')");
            Map<String, TableFingerprint> fp = TableFingerprint.of(db);
            assertThat(fp).containsOnlyKeys("other.empty", "public.Mixed Case");
            assertThat(fp.get("other.empty")).isEqualTo(new TableFingerprint(0, "d41d8cd98f00b204e9800998ecf8427e"));
            assertThat(fp.get("public.Mixed Case").rowCount()).isEqualTo(2);
        } finally {
            Databases.dropDatabase(db);
        }
    }
}
