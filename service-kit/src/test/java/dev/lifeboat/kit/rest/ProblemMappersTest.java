package dev.lifeboat.kit.rest;

import io.netty.channel.ConnectTimeoutException;
import jakarta.ws.rs.core.Response;
import org.junit.jupiter.api.Test;

import java.net.ConnectException;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A server the service depends on being away is a 503 naming it, with Retry-After; anything else stays an opaque 500.
 * The PostgreSQL case itself is shown against a stopped server by scheduler-service's OutageRecoveryTest.
 */
class ProblemMappersTest {
    private static ProblemMappers mappers(String application) {
        ProblemMappers m = new ProblemMappers();
        m.applicationName = application;
        m.retryAfter = Duration.ofSeconds(20);
        m.dependencies = new Dependencies(Set.of("db.internal:5432"));
        return m;
    }

    private static Problem problem(Response r) {
        return (Problem) r.getEntity();
    }

    @Test
    void aDatabaseThatCannotBeReachedIsA503NamingTheServicesDatabaseWithRetryAfter() {
        // JDBC (Agroal): the driver's connection error, and the pool that could not hand out a connection in time
        for (Throwable jdbc : new Throwable[] {
                new IllegalStateException("job ledger unavailable", new SQLException(
                        "Connection to db.internal:5432 refused. Check that the hostname and port are correct",
                        "08001")),
                new SQLException("Sorry, acquisition timeout!"),
                // a connection the server ended while shutting down: no address in the message
                new SQLException("FATAL: terminating connection due to administrator command", "57P01"),
                // the reactive client: a refused connection names only the address
                new ConnectException("Connection refused: db.internal/10.0.0.7:5432")}) {
            Response r = mappers("storage-worker").unexpected(jdbc, null);
            assertThat(r.getStatus()).as("%s", jdbc).isEqualTo(503);
            assertThat(r.getHeaderString("Retry-After")).isEqualTo("20");
            assertThat(r.getMediaType().toString()).isEqualTo(Problem.MEDIA_TYPE);
            assertThat(problem(r).detail()).startsWith("storage-worker's database is unavailable (")
                    .endsWith("); retry later");
            assertThat(problem(r).detail()).as("names where").contains("db.internal").contains(":5432");
        }
    }

    @Test
    void anotherServerAwayIsA503NamingNoDatabase() {
        Response r = mappers("catalog-service").unexpected(
                new RuntimeException(new ConnectTimeoutException("connection timed out: scheduler:8081")), null);
        assertThat(r.getStatus()).isEqualTo(503);
        assertThat(problem(r).detail()).startsWith("a server catalog-service depends on is unavailable (")
                .contains("scheduler:8081");
    }

    @Test
    void aBugOrAPermanentDatabaseErrorStaysAnOpaque500() {
        for (Throwable permanent : new Throwable[] {new NullPointerException("x"),
                new SQLException("password authentication failed for user \"lifeboat\"", "28P01"),
                new SQLException("duplicate key value violates unique constraint", "23505")}) {
            Response r = mappers("scheduler-service").unexpected(permanent, null);
            assertThat(r.getStatus()).as("%s", permanent).isEqualTo(500);
            assertThat(r.getHeaderString("Retry-After")).isNull();
            assertThat(problem(r).detail()).doesNotContain("password").doesNotContain("lifeboat\"");
        }
    }
}
