package dev.lifeboat.recovery;

import dev.lifeboat.testsupport.Tokens;
import io.restassured.RestAssured;
import io.restassured.http.ContentType;
import io.restassured.specification.RequestSpecification;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static org.hamcrest.Matchers.anyOf;
import static org.hamcrest.Matchers.is;

/** Plan and target server request bodies for tests, and requests with a token. */
final class Plans {
    private Plans() {
    }

    static String uniqueId(String prefix) {
        return prefix + "-" + UUID.randomUUID().toString().substring(0, 8);
    }

    static Map<String, Object> plan(String id, String rto, List<Map<String, Object>> steps) {
        Map<String, Object> p = new LinkedHashMap<>();
        p.put("id", id);
        p.put("name", "Orders DR " + id);
        p.put("rto", rto);
        p.put("rpo", "PT24H");
        p.put("steps", new ArrayList<>(steps));
        return p;
    }

    /** Requests as an admin (every role); {@link #as(String)} for another token. */
    static RequestSpecification admin() {
        return as(Tokens.admin());
    }

    static RequestSpecification as(String token) {
        return RestAssured.given().auth().oauth2(token);
    }

    /** A target server on the stack's PostgreSQL allowing drill_ and orders* databases, registered (PUT). */
    static String registerTarget(String name, String pattern) {
        admin().contentType(ContentType.JSON).body(target(pattern)).put("/api/v1/targets/" + name).then()
                .statusCode(anyOf(is(200), is(201)));
        return name;
    }

    static Map<String, Object> target(String pattern) {
        return new LinkedHashMap<>(Map.of("host", "127.0.0.1", "port", 25432, "user", "restore",
                "passwordRef", "env:LIFEBOAT_SECRET_RESTORE_DB_PASSWORD", "databasePattern", pattern));
    }

    static final String TARGET = "restore-local";
    static final String TARGET_PATTERN = "^(drill_|orders).*";

    static Map<String, Object> restore(String database) {
        registerTarget(TARGET, TARGET_PATTERN);
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("kind", "RestoreDatabase");
        s.put("sourceId", RecoveryTestResource.SOURCE);
        s.put("backup", "latest");
        s.put("target", TARGET);
        s.put("database", database);
        return s;
    }

    static Map<String, Object> verify(boolean checksums) {
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("kind", "VerifyIntegrity");
        s.put("checksums", checksums);
        s.put("checks", List.of(Map.of("name", "orders-not-empty", "kind", "ROW_COUNT_AT_LEAST",
                "table", "public.orders", "minRows", 1)));
        return s;
    }

    static Map<String, Object> restart(String url, int retries) {
        return new LinkedHashMap<>(Map.of("kind", "RestartServices", "endpoints",
                List.of(Map.of("method", "POST", "url", url, "expectedStatus", 200)), "timeout", "PT2S",
                "retries", retries));
    }

    static Map<String, Object> notify(String url) {
        return new LinkedHashMap<>(Map.of("kind", "NotifyStakeholders", "webhooks", List.of(url)));
    }
}
