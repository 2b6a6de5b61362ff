package dev.lifeboat.recovery;

import dev.lifeboat.testsupport.LocalStack;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.UUID;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.empty;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasItem;
import static org.hamcrest.Matchers.hasItems;

/** The minimal recovery-coordinator against the real PostgreSQL: it migrates, starts, and lists plans. */
@QuarkusTest
@WithTestResource(RecoveryTestResource.class)
class PlanResourceTest {

    @Test
    void plansAreListedFromTheRecoverySchema() throws SQLException {
        sql("DELETE FROM recovery.plan");
        given().when().get("/api/v1/plans").then().statusCode(200).body("$", empty());

        String id = "plan-" + UUID.randomUUID();
        try (Connection c = connect(); PreparedStatement ps = c.prepareStatement(
                "INSERT INTO recovery.plan (id, name, created_at) VALUES (?, ?, ?)")) {
            ps.setString(1, id);
            ps.setString(2, "orders primary");
            ps.setTimestamp(3, Timestamp.from(Instant.parse("2026-01-02T03:04:05Z")));
            ps.executeUpdate();
        }
        given().when().get("/api/v1/plans").then().statusCode(200)
                .body("id", hasItem(id))
                .body("find { it.id == '" + id + "' }.name", equalTo("orders primary"))
                .body("find { it.id == '" + id + "' }.createdAt", equalTo("2026-01-02T03:04:05Z"));
        sql("DELETE FROM recovery.plan WHERE id = '" + id + "'");
    }

    @Test
    void readyWithItsDatabase() {
        given().when().get("/q/health/ready").then().statusCode(200)
                .body("status", equalTo("UP"))
                .body("checks.name", hasItems("Reactive PostgreSQL connections health check"));
    }

    @Test
    void openApiDescribesThePlansEndpoint() {
        given().when().get("/q/openapi?format=json").then().statusCode(200)
                .body(containsString("/api/v1/plans"));
    }

    @Test
    void metricsAreExposed() {
        given().when().get("/q/metrics").then().statusCode(200).body(containsString("jvm_memory_used_bytes"));
    }

    private static Connection connect() throws SQLException {
        return DriverManager.getConnection(LocalStack.ensureStarted().jdbcUrl(RecoveryTestResource.DATABASE),
                RecoveryTestResource.USER, RecoveryTestResource.PASSWORD);
    }

    private static void sql(String statement) throws SQLException {
        try (Connection c = connect(); Statement st = c.createStatement()) {
            st.execute(statement);
        }
    }
}
