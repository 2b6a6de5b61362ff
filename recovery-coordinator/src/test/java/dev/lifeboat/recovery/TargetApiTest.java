package dev.lifeboat.recovery;

import dev.lifeboat.testsupport.Tokens;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.response.ValidatableResponse;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.hamcrest.Matchers.allOf;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasItem;
import static org.hamcrest.Matchers.not;

/**
 * What a plan may touch: registered target servers and their database patterns, the URL allowlist and the
 * platform's own APIs, and who may start a recovery.
 */
@QuarkusTest
@WithTestResource(RecoveryTestResource.class)
class TargetApiTest {

    private static ValidatableResponse put(String name, Object body) {
        return Plans.admin().contentType(ContentType.JSON).body(body).put("/api/v1/targets/" + name).then();
    }

    private static ValidatableResponse postPlan(Object body) {
        return Plans.admin().contentType(ContentType.JSON).body(body).post("/api/v1/plans").then();
    }

    @Test
    void targetIsRegisteredReadReplacedAndDeleted() {
        String name = Plans.uniqueId("pg");
        put(name, Plans.target("^(drill_|restored_).*")).statusCode(201)
                .header("Location", containsString("/api/v1/targets/" + name))
                .body("name", equalTo(name)).body("host", equalTo("127.0.0.1")).body("port", equalTo(25432))
                .body("user", equalTo("restore")).body("passwordRef", equalTo("env:LIFEBOAT_SECRET_RESTORE_DB_PASSWORD"))
                .body("databasePattern", equalTo("^(drill_|restored_).*"))
                .body("createdBy", equalTo("test-admin")).body("updatedBy", equalTo("test-admin"));
        Plans.as(Tokens.viewer()).get("/api/v1/targets/" + name).then().statusCode(200).body("name", equalTo(name));
        Plans.as(Tokens.viewer()).get("/api/v1/targets").then().statusCode(200).body("name", hasItem(name));
        Map<String, Object> changed = Plans.target("^restored_.*");
        changed.put("port", 5433);
        // who replaced it comes from the token, never from the body
        changed.put("createdBy", "someone-else");
        changed.put("updatedBy", "someone-else");
        String otherAdmin = Tokens.mint("second-admin", dev.lifeboat.identity.Roles.ADMIN);
        Plans.as(otherAdmin).contentType(ContentType.JSON).body(changed).put("/api/v1/targets/" + name).then()
                .statusCode(200).body("port", equalTo(5433)).body("databasePattern", equalTo("^restored_.*"))
                .body("createdBy", equalTo("test-admin")).body("updatedBy", equalTo("second-admin"));
        Plans.admin().delete("/api/v1/targets/" + name).then().statusCode(204);
        Plans.admin().get("/api/v1/targets/" + name).then().statusCode(404).contentType("application/problem+json");
        Plans.admin().get("/api/v1/targets").then().body("name", not(hasItem(name)));
    }

    @Test
    void aDatabaseTargetsConnectionsRequireTlsUnlessRegisteredOtherwiseAndACertificateCheckNeedsItsCa() {
        String name = Plans.uniqueId("pg");
        put(name, Plans.target("^drill_.*")).statusCode(201).body("sslmode", equalTo("require"))
                .body("$", not(org.hamcrest.Matchers.hasKey("sslRootCertRef")));
        Map<String, Object> verified = Plans.target("^drill_.*");
        verified.put("sslmode", "verify-full");
        put(name, verified).statusCode(400).body("detail", containsString("sslRootCertRef: sslmode verify-full "
                + "checks the server's certificate"));
        verified.put("sslRootCertRef", "env:LIFEBOAT_SECRET_CA");
        put(name, verified).statusCode(400).body("detail", containsString("sslRootCertRef"));
        verified.put("sslRootCertRef", "file:/etc/lifeboat/secrets/../../shadow");
        put(name, verified).statusCode(400).body("detail", containsString("sslRootCertRef"));
        verified.put("sslRootCertRef", "file:/etc/lifeboat/secrets/targets-ca.crt");
        put(name, verified).statusCode(200).body("sslmode", equalTo("verify-full"))
                .body("sslRootCertRef", equalTo("file:/etc/lifeboat/secrets/targets-ca.crt"));
        Map<String, Object> plain = Plans.target("^drill_.*");
        plain.put("sslmode", "prefer; drop");
        put(name, plain).statusCode(400).body("detail", containsString("sslmode"));
        plain.put("sslmode", " ");
        put(name, plain).statusCode(400).body("detail", containsString("sslmode"));
        // a CA means a certificate check: libpq would make one under require, the JDBC driver would not
        plain.put("sslmode", "require");
        plain.put("sslRootCertRef", "file:/etc/lifeboat/secrets/targets-ca.crt");
        put(name, plain).statusCode(400).body("detail", containsString("only sslmode verify-ca or verify-full"));
        plain.remove("sslRootCertRef");
        plain.put("sslmode", "disable");
        put(name, plain).statusCode(200).body("sslmode", equalTo("disable"));
        put(Plans.uniqueId("clusters"), Map.of("kind", "cluster", "dataRoot", "/var/lib/lifeboat/restores", "ports",
                "5433-5440", "sslmode", "require")).statusCode(400)
                .body("detail", containsString("sslmode: a cluster target has no sslmode"));
        Plans.admin().delete("/api/v1/targets/" + name).then().statusCode(204);
    }

    @Test
    void invalidTargetIsRefusedNamingEveryField() {
        Map<String, Object> bad = Map.of("host", "db host; rm -rf", "port", 70000, "user", "x\"y",
                "passwordRef", "hunter2", "databasePattern", "(unclosed");
        put("bad-target", bad).statusCode(400).contentType("application/problem+json")
                .body("detail", allOf(containsString("host: "), containsString("port: 70000 is not in 1..65535"),
                        containsString("user: "), containsString("passwordRef: "),
                        containsString("databasePattern: '(unclosed' must be anchored")));
        for (String outside : java.util.List.of("file:/etc/shadow", "env:PATH", "env:LIFEBOAT_MASTER_KEY")) {
            Map<String, Object> t = Plans.target("^restored_.*");
            t.put("passwordRef", outside);
            put("bad-target", t).statusCode(400).body("detail", containsString("passwordRef"));
        }
        put("bad-target", Plans.target("^(unclosed")).statusCode(400)
                .body("detail", containsString("is not a valid regular expression"));
        put("bad-target", Plans.target("^.*")).statusCode(400)
                .body("detail", containsString("matches the system database"));
        put("Not_A_Slug", Plans.target("^restored_.*")).statusCode(400)
                .body("detail", containsString("'Not_A_Slug' is not a slug"));
        Plans.admin().get("/api/v1/targets/" + "x".repeat(100)).then().statusCode(400);
        Plans.admin().get("/api/v1/targets/bad-target").then().statusCode(404);
    }

    @Test
    void clusterTargetHoldsADataRootAndPortsAndRestoreClusterStepsMustFitIt() {
        String name = Plans.uniqueId("clusters");
        put(name, Map.of("kind", "cluster", "dataRoot", "/var/lib/lifeboat/restores", "ports", "5433-5440"))
                .statusCode(201).body("kind", equalTo("cluster"))
                .body("dataRoot", equalTo("/var/lib/lifeboat/restores")).body("ports", equalTo("5433-5440"));
        put("bad-cluster", Map.of("kind", "cluster", "dataRoot", "/var/lib/../../etc", "ports", "80-70000",
                "host", "10.0.0.1")).statusCode(400).body("detail", allOf(containsString("dataRoot: "),
                containsString("ports: 80-70000 must lie within 1024-65535"), containsString("host: a cluster target")));
        put("bad-cluster", Map.of("kind", "cluster", "dataRoot", "/tmp/x'; archive_command='sh", "ports", "6000-6001"))
                .statusCode(400).body("detail", containsString("is not an absolute path of letters"));
        put("bad-cluster", Map.of("kind", "tape")).statusCode(400)
                .body("detail", containsString("kind: 'tape' is not one of database, cluster"));

        Map<String, Object> step = new java.util.LinkedHashMap<>(Map.of("kind", "RestoreCluster", "sourceId",
                RecoveryTestResource.SOURCE, "target", name, "cluster", "orders-pitr", "port", 5434,
                "recoveryTarget", Map.of("kind", "TIME", "value", "2026-12-03T22:15:00Z"), "drillAgo", "PT5M"));
        postPlan(Plans.plan(Plans.uniqueId("pitr"), "PT15M", List.of(step))).statusCode(201)
                .body("steps[0].kind", equalTo("RestoreCluster"))
                .body("steps[0].recoveryTarget.kind", equalTo("TIME"));
        step.put("port", 5441);
        postPlan(Plans.plan(Plans.uniqueId("pitr"), "PT15M", List.of(step))).statusCode(422)
                .body("detail", containsString("port: 5441 is not one of the ports 5433-5440"));
        step.put("port", 5434);
        step.put("target", Plans.TARGET);
        Plans.restore("orders_x");
        postPlan(Plans.plan(Plans.uniqueId("pitr"), "PT15M", List.of(step))).statusCode(422)
                .body("detail", containsString("is a database server; RestoreCluster needs a cluster target"));
        step.put("target", name);
        step.put("cluster", "../etc");
        step.put("recoveryTarget", Map.of("kind", "NAME", "value", "x'; drop"));
        postPlan(Plans.plan(Plans.uniqueId("pitr"), "PT15M", List.of(step))).statusCode(400)
                .body("detail", allOf(containsString("cluster: '../etc' is not a plain name"),
                        containsString("is not a restore point name")));
    }

    @Test
    void planNamingAnUnregisteredTargetIsRefusedNamingIt() {
        Map<String, Object> restore = Plans.restore("orders_restored");
        restore.put("target", "nowhere");
        postPlan(Plans.plan(Plans.uniqueId("p"), "PT15M", List.of(restore))).statusCode(422)
                .contentType("application/problem+json").body("detail", containsString("'nowhere'"))
                .body("detail", containsString("not registered"));
    }

    @Test
    void planWithTheOldInlineTargetIsRefused() {
        Map<String, Object> restore = Plans.restore("orders_restored");
        restore.put("target", Map.of("host", "10.0.0.7", "port", 5432, "user", "u", "passwordRef", "env:X"));
        postPlan(Plans.plan(Plans.uniqueId("p"), "PT15M", List.of(restore))).statusCode(400)
                .body("detail", containsString("names a registered target server"));
    }

    @Test
    void databaseOutsideTheTargetsPatternIsRefused() {
        postPlan(Plans.plan(Plans.uniqueId("p"), "PT15M", List.of(Plans.restore("payroll")))).statusCode(422)
                .body("detail", containsString("steps[0].database: 'payroll' does not match ^(drill_|orders).*"));
    }

    @Test
    void drillScheduleNeedsATargetThatAllowsScratchDatabases() {
        String name = Plans.registerTarget(Plans.uniqueId("pg"), "^orders_.*");
        Map<String, Object> restore = Plans.restore("orders_restored");
        restore.put("target", name);
        Map<String, Object> plan = Plans.plan(Plans.uniqueId("p"), "PT15M", List.of(restore));
        postPlan(plan).statusCode(201);
        plan.put("id", Plans.uniqueId("p"));
        plan.put("drillSchedule", "0 3 * * 6");
        postPlan(plan).statusCode(422).body("detail", containsString("scratch database 'drill_"));
    }

    @Test
    void targetUsedByAPlanCannotBeDeletedAndRunsRecheckIt() {
        String name = Plans.registerTarget(Plans.uniqueId("pg"), "^(drill_|orders).*");
        Map<String, Object> restore = Plans.restore("orders_restored");
        restore.put("target", name);
        String id = Plans.uniqueId("uses");
        postPlan(Plans.plan(id, "PT15M", List.of(restore))).statusCode(201);
        Plans.admin().delete("/api/v1/targets/" + name).then().statusCode(409)
                .contentType("application/problem+json").body("detail", containsString(id));

        // the admin narrows the pattern afterwards: a recovery of the plan no longer starts
        put(name, Plans.target("^drill_.*")).statusCode(200);
        Plans.admin().contentType(ContentType.JSON).body(Map.of("mode", "recovery"))
                .post("/api/v1/plans/" + id + "/runs").then().statusCode(422)
                .body("detail", containsString("'orders_restored' does not match ^drill_.*"));
        Plans.admin().delete("/api/v1/plans/" + id).then().statusCode(204);
        Plans.admin().delete("/api/v1/targets/" + name).then().statusCode(204);
    }

    @Test
    void urlOutsideTheAllowlistIsRefused() {
        postPlan(Plans.plan(Plans.uniqueId("p"), "PT15M", List.of(Plans.restart("http://10.1.2.3:8080/restart", 0),
                Plans.notify("https://hooks.example.com/dr")))).statusCode(422)
                .contentType("application/problem+json")
                .body("detail", containsString("steps[0].endpoints[0].url: 'http://10.1.2.3:8080/restart' is not "
                        + "under any prefix of lifeboat.recovery.url-allowlist"))
                .body("detail", containsString("steps[1].webhooks[0]: 'https://hooks.example.com/dr'"));
        postPlan(Plans.plan(Plans.uniqueId("p"), "PT15M", List.of(Plans.notify("http://user:pw@127.0.0.1:9/h"))))
                .statusCode(422).body("detail", containsString("user info"))
                .body("detail", not(containsString("pw@")));
        postPlan(Plans.plan(Plans.uniqueId("p"), "PT15M", List.of(Plans.notify("http://127.0.0.1:9/a/../b"))))
                .statusCode(422).body("detail", containsString("'..' path segments"));
        // ways out of an allowed prefix on servers that decode a slash before routing, or read '..;' as '..'
        for (String escape : List.of("http://127.0.0.1:9/hooks/..%2Fadmin", "http://127.0.0.1:9/hooks/..%5cadmin",
                "http://127.0.0.1:9/hooks/..;/admin")) {
            postPlan(Plans.plan(Plans.uniqueId("p"), "PT15M", List.of(Plans.notify(escape)))).statusCode(422)
                    .body("detail", containsString("an encoded slash or backslash, a backslash or a ';' in its path"));
        }
    }

    @Test
    void thePlatformsOwnApisAreRefusedEvenWhenAllowlisted() {
        // scheduler-service's default port, and the scheduler this coordinator asks (same host, any path)
        postPlan(Plans.plan(Plans.uniqueId("p"), "PT15M",
                List.of(Plans.restart("http://127.0.0.1:8081/api/v1/sources", 0),
                        Plans.restart("http://localhost:8083/api/v1/gc", 0)))).statusCode(422)
                .body("detail", containsString("steps[0].endpoints[0].url: 'http://127.0.0.1:8081/api/v1/sources' is "
                        + "an API of the platform itself"))
                .body("detail", containsString("steps[1].endpoints[0].url: 'http://localhost:8083/api/v1/gc' is an "
                        + "API of the platform itself"));
    }

    @Test
    void recoveryRunsAreForAdmins() {
        String id = Plans.uniqueId("roles");
        postPlan(Plans.plan(id, "PT15M", List.of(Plans.restore("orders_roles")))).statusCode(201);
        Plans.as(Tokens.operator()).contentType(ContentType.JSON).body(Map.of("mode", "recovery"))
                .post("/api/v1/plans/" + id + "/runs").then().statusCode(403)
                .contentType("application/problem+json").body("detail", containsString("lifeboat-admin"));
        Plans.as(Tokens.operator()).contentType(ContentType.JSON).body(Map.of("mode", "drill"))
                .post("/api/v1/plans/" + id + "/runs").then().statusCode(202);
    }

    @Test
    void aDrillThatRestartsRealServicesIsForAdmins() {
        String id = Plans.uniqueId("restarts");
        postPlan(Plans.plan(id, "PT15M", List.of(Plans.restart("http://127.0.0.1:9/x", 0)))).statusCode(201);
        Plans.as(Tokens.operator()).contentType(ContentType.JSON).body(Map.of("mode", "drill"))
                .post("/api/v1/plans/" + id + "/runs").then().statusCode(403)
                .contentType("application/problem+json").body("detail", containsString("RestartServices"));
        Plans.admin().contentType(ContentType.JSON).body(Map.of("mode", "drill"))
                .post("/api/v1/plans/" + id + "/runs").then().statusCode(202);
    }

    @Test
    void replaceExistingIsForRecoveriesOnly() {
        String id = Plans.uniqueId("replace");
        postPlan(Plans.plan(id, "PT15M", List.of(Plans.restart("http://127.0.0.1:9/x", 0)))).statusCode(201);
        Plans.admin().contentType(ContentType.JSON).body(Map.of("mode", "drill", "replaceExisting", true))
                .post("/api/v1/plans/" + id + "/runs").then().statusCode(400)
                .body("detail", containsString("replaceExisting: only a recovery run"));
        Plans.admin().contentType(ContentType.JSON).body(Map.of("mode", "recovery", "replaceExisting", "yes"))
                .post("/api/v1/plans/" + id + "/runs").then().statusCode(400)
                .body("detail", containsString("replaceExisting: must be true or false"));
    }
}
