package dev.lifeboat.snapshot.service;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** A failed restore's message keeps pg_restore's errors and leaves out the lines that quote the restored rows. */
class PgRestoreMessageTest {

    @Test
    void detailAndContextLinesThatQuoteRowsAreLeftOutAndTheErrorsKept() {
        String output = """
                pg_restore: error: COPY failed for table "customers": ERROR:  new row for relation "customers" violates check constraint "balance_positive"
                DETAIL:  Failing row contains (7, alice@example.com, -12.00).
                CONTEXT:  COPY customers, line 7: "7\talice@example.com\t-12.00"
                pg_restore: warning: errors ignored on restore: 1""";
        String message = DatabaseRestorer.withoutRowLines(output);

        assertThat(message).contains("violates check constraint \"balance_positive\"")
                .contains("errors ignored on restore: 1").doesNotContain("alice@example.com")
                .doesNotContain("Failing row").endsWith("(the server's DETAIL and CONTEXT lines, which can quote the "
                        + "restored rows, are left out here)");
        assertThat(DatabaseRestorer.withoutRowLines("pg_restore: error: could not connect"))
                .isEqualTo("pg_restore: error: could not connect");
    }
}
