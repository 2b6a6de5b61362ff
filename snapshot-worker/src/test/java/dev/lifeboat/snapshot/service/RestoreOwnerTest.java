package dev.lifeboat.snapshot.service;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.UUID;

import org.junit.jupiter.api.Test;

import dev.lifeboat.testsupport.Databases;
import dev.lifeboat.testsupport.LocalStack;

/**
 * The role a restored database belongs to, on the real PostgreSQL: made anew over one of the same name (with the
 * members someone gave it), and closed with its login and every membership but the restoring user's taken away.
 */
class RestoreOwnerTest {

    @Test
    void anOwnerIsMadeAnewOverALeftoverOneAndClosedWithoutItsLoginOrForeignMembers() throws Exception {
        LocalStack.ensureStarted();
        String database = "owner_test_" + UUID.randomUUID().toString().substring(0, 8);
        String role = TargetServers.restoreOwner(database);
        String other = "owner_test_member_" + database.substring(11);
        assertThat(role).matches("lifeboat_owner_[0-9a-f]{24}").isEqualTo(TargetServers.restoreOwner(database));
        try (Connection c = Databases.connect("postgres"); Statement st = c.createStatement()) {
            st.execute("create role " + other);
            // left by an earlier attempt, or made by someone else under the name, with a member of theirs
            st.execute("create role " + role + " login createdb password 'known'");
            st.execute("grant " + role + " to " + other);

            String secret = TargetServers.prepareOwner(c, role);
            assertThat(secret).hasSizeGreaterThan(40);
            assertThat(value(st, "select rolcanlogin and not rolcreatedb and not rolsuper and rolinherit from pg_roles "
                    + "where rolname = '" + role + "'")).isEqualTo("t");
            assertThat(value(st, "select count(*) from pg_auth_members m join pg_roles r on r.oid = m.member where "
                    + "m.roleid = '" + role + "'::regrole and r.rolname = '" + other + "'"))
                    .as("made anew: the old member is gone").isEqualTo("0");

            // a member given to it while the dump loaded (as a superuser could) is taken away when it is closed
            st.execute("grant " + role + " to " + other);
            assertThat(TargetServers.closeOwner(c, role)).containsExactly(other);
            assertThat(value(st, "select count(*) from pg_auth_members where roleid = '" + role + "'::regrole and "
                    + "member = '" + other + "'::regrole")).isEqualTo("0");
            assertThat(value(st, "select rolcanlogin::text || coalesce(rolpassword, 'none') from pg_authid where "
                    + "rolname = '" + role + "'")).isEqualTo("falsenone");

            TargetServers.dropOwner(c, database);
            assertThat(value(st, "select count(*) from pg_roles where rolname = '" + role + "'")).isEqualTo("0");
            TargetServers.dropOwner(c, database); // nothing left to drop: no error
        } finally {
            Databases.execute("postgres", "drop role if exists " + role);
            Databases.execute("postgres", "drop role if exists " + other);
        }
    }

    private static String value(Statement st, String sql) throws Exception {
        try (ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }
}
