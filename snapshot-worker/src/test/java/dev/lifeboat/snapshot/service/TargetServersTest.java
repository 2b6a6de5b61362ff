package dev.lifeboat.snapshot.service;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Properties;

import org.junit.jupiter.api.Test;

import dev.lifeboat.contracts.recovery.DatabaseTarget;
import dev.lifeboat.snapshot.domain.CommandFailure;

/** The worker's own rules for the names it builds a JDBC URL from, whatever the command's schema let through. */
class TargetServersTest {
    private static final DatabaseTarget TARGET = new DatabaseTarget("db.example", 5432, "restored_shop", "restore",
            "env:LIFEBOAT_SECRET_X", "drills");

    @Test
    void aPlainDatabaseNameMakesAPlainUrl() {
        assertThat(TargetServers.url(TARGET, "restored_shop", new Properties()))
                .isEqualTo("jdbc:postgresql://db.example:5432/restored_shop");
        assertThat(TargetServers.url(TARGET, "drill_0123abcd-0000-0000-0000-000000000000_0", new Properties()))
                .endsWith("/drill_0123abcd-0000-0000-0000-000000000000_0");
    }

    @Test
    void theRegisteredSslmodeGoesToTheDriverAndToPgRestoreAndRequireWhenNoneIsRegistered() {
        Properties p = new Properties();
        TargetServers.url(TARGET, "restored_shop", p);
        assertThat(p.getProperty("sslmode")).isEqualTo("require");
        java.util.Map<String, String> env = new java.util.HashMap<>();
        TargetServers.libpqTls(TARGET, env);
        assertThat(env).containsEntry("PGSSLMODE", "require").doesNotContainKey("PGSSLROOTCERT");
        DatabaseTarget plain = new DatabaseTarget("db.example", 5432, "restored_shop", "restore",
                "env:LIFEBOAT_SECRET_X", "drills", "disable", null);
        TargetServers.url(plain, "restored_shop", p);
        assertThat(p.getProperty("sslmode")).isEqualTo("disable");
        TargetServers.libpqTls(plain.withDatabase("other"), env);
        assertThat(env).containsEntry("PGSSLMODE", "disable");
        // a CA the registry check did not read and place is never assumed
        DatabaseTarget unread = new DatabaseTarget("db.example", 5432, "restored_shop", "restore",
                "env:LIFEBOAT_SECRET_X", "drills", "verify-full", "file:/nowhere/ca.crt");
        assertThatThrownBy(() -> TargetServers.libpqTls(unread, new java.util.HashMap<>()))
                .isInstanceOf(CommandFailure.class).hasMessageContaining("was not read with the target's registration");
    }

    @Test
    void aDatabaseNameThatWouldAddUrlParametersIsRefusedBeforeAnyUrlIsMade() {
        // pgjdbc's URL parameters override the properties: the pinned search_path and sslmode would be gone
        for (String forged : new String[] {"restored_x?options=-csearch_path%3Dpublic&sslmode=disable",
                "restored_x&sslmode=disable", "a/b", "x y", "dbname=evil host=attacker", "", "1abc",
                "x".repeat(64)}) {
            assertThatThrownBy(() -> TargetServers.url(TARGET, forged, new Properties()))
                    .as(forged).isInstanceOf(CommandFailure.class).hasMessageContaining("not a plain PostgreSQL name");
            assertThatThrownBy(() -> TargetServers.validName(TARGET.withDatabase(forged)))
                    .as(forged).isInstanceOf(CommandFailure.class);
        }
    }

    @Test
    void aHostThatIsNotAHostNameIsRefused() {
        DatabaseTarget forged = new DatabaseTarget("attacker.example:6543/x?sslmode=disable#", 5432, "restored_shop",
                "restore", "env:LIFEBOAT_SECRET_X", "drills");
        assertThatThrownBy(() -> TargetServers.url(forged, "restored_shop", new Properties()))
                .isInstanceOf(CommandFailure.class).hasMessageContaining("is not a host name or address");
    }

    @Test
    void systemDatabasesAreNeverActedOn() {
        for (String system : new String[] {"postgres", "template0", "template1"}) {
            assertThatThrownBy(() -> TargetServers.validName(TARGET.withDatabase(system)))
                    .isInstanceOf(CommandFailure.class).hasMessageContaining("system database");
        }
    }
}
