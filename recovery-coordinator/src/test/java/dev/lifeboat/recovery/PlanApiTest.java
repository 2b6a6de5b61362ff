package dev.lifeboat.recovery;

import dev.lifeboat.identity.Roles;
import dev.lifeboat.testsupport.Tokens;
import dev.lifeboat.recovery.service.DrillScheduler;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.response.ValidatableResponse;
import jakarta.inject.Inject;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.List;
import java.util.Map;

import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasItem;
import static org.hamcrest.Matchers.hasSize;
import static org.hamcrest.Matchers.not;
import static org.hamcrest.Matchers.notNullValue;

/** Plans over HTTP, stored in the real PostgreSQL; sources checked against the scheduler stand-in. */
@QuarkusTest
@WithTestResource(RecoveryTestResource.class)
class PlanApiTest {
    @Inject
    DrillScheduler drills;

    private static ValidatableResponse post(Object body) {
        return Plans.admin().contentType(ContentType.JSON).body(body).post("/api/v1/plans").then();
    }

    @Test
    void planIsCreatedReadUpdatedListedAndDeleted() {
        String id = Plans.uniqueId("orders");
        Map<String, Object> plan = Plans.plan(id, "PT0.001S", List.of(Plans.restore("orders_restored"),
                Plans.verify(true), Plans.restart("http://127.0.0.1:9/restart", 1),
                Plans.notify("http://127.0.0.1:9/hook")));
        plan.put("drillSchedule", "0 3 * * 6");
        post(plan).statusCode(201).header("Location", containsString("/api/v1/plans/" + id))
                .body("rto", equalTo("PT0.001S"))
                .body("steps[0].kind", equalTo("RestoreDatabase"))
                .body("steps[0].jobs", equalTo(2))
                .body("steps[0].allowLiveSource", equalTo(false))
                .body("steps[2].retries", equalTo(1))
                .body("nextDrillAt", notNullValue());
        Plans.admin().get("/api/v1/plans/" + id).then().statusCode(200).body("name", equalTo("Orders DR " + id))
                .body("steps", hasSize(4)).body("steps[1].checks[0].name", equalTo("orders-not-empty"));
        Plans.admin().get("/api/v1/plans").then().statusCode(200).body("id", hasItem(id));

        plan.put("name", "renamed");
        plan.put("steps", List.of(Plans.restore("orders_restored")));
        Plans.admin().contentType(ContentType.JSON).body(plan).put("/api/v1/plans/" + id).then().statusCode(200)
                .body("name", equalTo("renamed")).body("steps", hasSize(1));
        post(plan).statusCode(409).contentType("application/problem+json");

        Plans.admin().delete("/api/v1/plans/" + id).then().statusCode(204);
        Plans.admin().get("/api/v1/plans/" + id).then().statusCode(404).contentType("application/problem+json")
                .body("detail", containsString(id));
        Plans.admin().get("/api/v1/plans").then().body("id", not(hasItem(id)));
    }

    @Test
    void thePrincipalsWhoWroteAPlanAndStartedARunAreRecorded() {
        String id = Plans.uniqueId("audit");
        Map<String, Object> plan = Plans.plan(id, "PT1H", List.of(Plans.restore("orders_audit")));
        Plans.as(Tokens.mint("admin-ann", Roles.ADMIN)).contentType(ContentType.JSON).body(plan)
                .post("/api/v1/plans").then().statusCode(201)
                .body("createdBy", equalTo("admin-ann")).body("updatedBy", equalTo("admin-ann"));
        plan.put("name", "changed");
        Plans.as(Tokens.mint("admin-bob", Roles.ADMIN)).contentType(ContentType.JSON).body(plan)
                .put("/api/v1/plans/" + id).then().statusCode(200)
                .body("createdBy", equalTo("admin-ann")).body("updatedBy", equalTo("admin-bob"));
        String runId = Plans.as(Tokens.mint("operator-olga", Roles.OPERATOR)).contentType(ContentType.JSON)
                .body(Map.of("mode", "drill")).post("/api/v1/plans/" + id + "/runs")
                .then().statusCode(202).extract().path("runId");
        Plans.admin().get("/api/v1/runs/" + runId).then().statusCode(200).body("trigger", equalTo("api:operator-olga"));
    }

    @Test
    void unknownSourceIsRefusedNamingIt() {
        Map<String, Object> restore = Plans.restore("orders_x");
        restore.put("sourceId", "billing");
        post(Plans.plan(Plans.uniqueId("p"), "PT15M", List.of(restore))).statusCode(422)
                .contentType("application/problem+json").body("detail", containsString("'billing'"))
                .body("detail", containsString("not registered in scheduler-service"));
    }

    @Test
    void restoreOntoTheLiveSourceIsRefusedUnlessAllowed() {
        Map<String, Object> restore = Plans.restore("orders");
        restore.put("target", Plans.registerTarget("live-local", Plans.TARGET_PATTERN));
        Map<String, Object> server = Plans.target(Plans.TARGET_PATTERN);
        server.put("host", "localhost");
        Plans.admin().contentType(ContentType.JSON).body(server).put("/api/v1/targets/live-local").then()
                .statusCode(200);
        String id = Plans.uniqueId("live");
        post(Plans.plan(id, "PT15M", List.of(restore))).statusCode(422)
                .body("detail", containsString("live database of source 'orders'"))
                .body("detail", containsString("allowLiveSource"));
        restore.put("allowLiveSource", true);
        post(Plans.plan(id, "PT15M", List.of(restore))).statusCode(201);
    }

    @Test
    void emptyStepsAreRefused() {
        post(Plans.plan(Plans.uniqueId("p"), "PT15M", List.of())).statusCode(400)
                .contentType("application/problem+json")
                .body("detail", containsString("steps: a plan needs at least one step"));
    }

    @Test
    void rtoMustBeAPositiveDuration() {
        post(Plans.plan(Plans.uniqueId("p"), "PT0S", List.of(Plans.restore("orders_a")))).statusCode(400)
                .body("detail", containsString("rto: 'PT0S' must be positive"));
        post(Plans.plan(Plans.uniqueId("p"), "15 minutes", List.of(Plans.restore("orders_a")))).statusCode(400)
                .body("detail", containsString("rto: '15 minutes' is not an ISO-8601 duration"));
    }

    @Test
    void restoreStepNeedsATarget() {
        Map<String, Object> restore = Plans.restore("orders_a");
        restore.remove("target");
        post(Plans.plan(Plans.uniqueId("p"), "PT15M", List.of(restore))).statusCode(400)
                .body("detail", containsString("steps[0].target: required"));
    }

    @Test
    void badCronIsRefused() {
        Map<String, Object> plan = Plans.plan(Plans.uniqueId("p"), "PT15M", List.of(Plans.restore("orders_a")));
        plan.put("drillSchedule", "every saturday");
        post(plan).statusCode(400).body("detail", containsString("drillSchedule 'every saturday' is not a 5-field"));
    }

    @Test
    void unknownStepKindIsNamed() {
        post(Plans.plan(Plans.uniqueId("p"), "PT15M", List.of(Map.of("kind", "FlushCaches")))).statusCode(400)
                .body("detail", containsString("steps[0].kind: unknown step kind 'FlushCaches'"));
    }

    private static Map<String, Object> verifyWith(Map<String, Object> check) {
        return Map.of("kind", "VerifyIntegrity", "checks", List.of(check));
    }

    private static ValidatableResponse postAsAdmin(Object body) {
        return Plans.admin().contentType(ContentType.JSON).body(body)
                .post("/api/v1/plans").then();
    }

    @Test
    void aQueryCheckIsOneQueryNeverAStatementList() {
        for (String sql : List.of("select 1; commit; insert into shop.orders default values",
                "commit; insert into shop.orders default values", "select 1;select 2")) {
            postAsAdmin(Plans.plan(Plans.uniqueId("p"), "PT15M", List.of(Plans.restore("orders_a"), verifyWith(Map.of(
                    "name", "sneaky", "kind", "QUERY_EQUALS", "sql", sql, "expected", "1"))))).statusCode(400)
                    .body("detail", containsString("steps[1].checks[0].sql: sql must be one statement"));
        }
        postAsAdmin(Plans.plan(Plans.uniqueId("p"), "PT15M", List.of(Plans.restore("orders_a"), verifyWith(Map.of(
                "name", "copy", "kind", "QUERY_EQUALS", "sql", "copy (select 1) to program 'touch /tmp/x'",
                "expected", "1"))))).statusCode(400)
                .body("detail", containsString("steps[1].checks[0].sql: sql must be a read-only query"))
                .body("detail", containsString("not 'copy'"));
        postAsAdmin(Plans.plan(Plans.uniqueId("p"), "PT15M", List.of(Plans.restore("orders_a"), verifyWith(Map.of(
                "name", "fine", "kind", "QUERY_EQUALS", "sql", "select count(*) from shop.orders;",
                "expected", "1"))))).statusCode(201);
    }

    @Test
    void tableMatchesSourceNamesATableOrEveryTable() {
        String id = Plans.uniqueId("p");
        postAsAdmin(Plans.plan(id, "PT15M", List.of(Plans.restore("orders_a"),
                Map.of("kind", "VerifyIntegrity", "checks", List.of(
                        Map.of("name", "orders as backed up", "kind", "TABLE_MATCHES_SOURCE", "table", "shop.orders"),
                        Map.of("name", "everything", "kind", "TABLE_MATCHES_SOURCE", "table", "*"))))))
                .statusCode(201)
                .body("steps[1].checks[0].kind", equalTo("TABLE_MATCHES_SOURCE"))
                .body("steps[1].checks[0].table", equalTo("shop.orders"))
                .body("steps[1].checks[1].table", equalTo("*"));
        for (String table : List.of("orders", "shop.orders; drop table x", "\"shop\".orders", "a.b.c")) {
            postAsAdmin(Plans.plan(Plans.uniqueId("p"), "PT15M", List.of(Plans.restore("orders_a"), verifyWith(Map.of(
                    "name", "bad", "kind", "TABLE_MATCHES_SOURCE", "table", table))))).statusCode(400)
                    .body("detail", containsString("steps[1].checks[0].table: table '" + table + "' is not"));
        }
        postAsAdmin(Plans.plan(Plans.uniqueId("p"), "PT15M", List.of(Plans.restore("orders_a"), verifyWith(Map.of(
                "name", "no table", "kind", "TABLE_MATCHES_SOURCE"))))).statusCode(400)
                .body("detail", containsString("steps[1].checks[0].table: table is required"));
    }

    @Test
    void verifyIntegrityNeedsAPrecedingRestore() {
        post(Plans.plan(Plans.uniqueId("p"), "PT15M", List.of(Plans.verify(true), Plans.restore("orders_a"))))
                .statusCode(400).body("detail", containsString("steps[0]: VerifyIntegrity checks the target of a "
                        + "preceding RestoreDatabase or RestoreCluster step"));
    }

    @Test
    void aDrillFireTimeStartsOneRunHoweverOftenItFires() {
        String id = Plans.uniqueId("drill");
        Map<String, Object> plan = Plans.plan(id, "PT15M", List.of(Plans.restart("http://127.0.0.1:9/x", 0)));
        plan.put("drillSchedule", "*/5 * * * *");
        post(plan).statusCode(201);
        Instant fireTime = Instant.parse("2026-01-03T03:00:00Z");
        drills.fire(id, fireTime);
        drills.fire(id, fireTime); // a second coordinator instance firing the same slot
        Plans.admin().get("/api/v1/plans/" + id + "/runs").then().statusCode(200).body("$", hasSize(1))
                .body("[0].runId", equalTo(DrillScheduler.drillRunId(id, fireTime)))
                .body("[0].mode", equalTo("DRILL"));
    }
}
