package dev.lifeboat.scheduler;

import dev.lifeboat.testsupport.Tokens;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.response.ValidatableResponse;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.Map;
import java.util.UUID;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.allOf;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasItem;
import static org.hamcrest.Matchers.nullValue;

/** Registration refuses secret references outside the configured places, and TLS settings that cannot work. */
@QuarkusTest
@QuarkusTestResource(value = RealServers.class, restrictToAnnotatedClass = true)
class SourceSecretsApiTest {
    static final String MASTER_KEY_FILE = "/run/secrets/lifeboat-master.key";

    private static Map<String, Object> source(String id, String passwordRef) {
        Map<String, Object> m = new HashMap<>(Map.of("id", id, "name", "Orders", "host", "127.0.0.1", "port", 25432,
                "database", "orders", "username", "backup", "passwordRef", passwordRef));
        return m;
    }

    private static String unique() {
        return "orders-" + UUID.randomUUID().toString().substring(0, 8);
    }

    private static ValidatableResponse post(Map<String, Object> body) {
        return given().auth().oauth2(Tokens.admin()).contentType(ContentType.JSON).body(body)
                .post("/api/v1/sources").then();
    }

    private static ValidatableResponse put(String id, Map<String, Object> body) {
        return given().auth().oauth2(Tokens.admin()).contentType(ContentType.JSON).body(body)
                .put("/api/v1/sources/" + id).then();
    }

    @Test
    void referencesOutsideTheSecretDirectoriesAreRefusedNamingTheRule() {
        for (String ref : new String[]{"file:/etc/shadow", "file:/run/secrets/../../etc/shadow", "file:/run/secrets",
                "file:/run/secretsX/pw", "file:/dev/zero"}) {
            String id = unique();
            post(source(id, ref)).statusCode(400).contentType("application/problem+json")
                    .body("detail", allOf(containsString("refused"), containsString("lifeboat.secrets.directories")));
            put(id, source(id, ref)).statusCode(400).body("detail", containsString("lifeboat.secrets.directories"));
            given().auth().oauth2(Tokens.admin()).get("/api/v1/sources/" + id).then().statusCode(404);
        }
    }

    @Test
    void variablesWithoutThePrefixAreRefusedNamingTheRule() {
        for (String ref : new String[]{"env:HOME", "env:LIFEBOAT_MASTER_KEY", "env:LIFEBOAT_DB_PASSWORD",
                "env:S3_SECRET_KEY", "env:SHOP_DB_PASSWORD", "env:LIFEBOAT_SECRET_"}) {
            post(source(unique(), ref)).statusCode(400)
                    .body("detail", allOf(containsString("LIFEBOAT_SECRET_<NAME>"),
                            containsString("lifeboat.secrets.env-prefix")));
        }
    }

    @Test
    void theMasterKeyFileIsRefusedEvenInsideASecretDirectory() {
        post(source(unique(), "file:" + MASTER_KEY_FILE)).statusCode(400)
                .body("detail", containsString("platform's own secrets"));
        post(source(unique(), "file:/run/secrets/./lifeboat-master.key")).statusCode(400)
                .body("detail", containsString("platform's own secrets"));
    }

    @Test
    void allowedReferencesAreStoredWithTheDefaultSslmodeRequire() {
        String id = unique();
        post(source(id, "env:LIFEBOAT_SECRET_ORDERS")).statusCode(201).body("sslmode", equalTo("require"))
                .body("sslRootCertRef", nullValue());
        Map<String, Object> body = source(id, "file:/etc/lifeboat/secrets/orders/password");
        body.put("sslmode", "prefer");
        put(id, body).statusCode(200).body("sslmode", equalTo("prefer"))
                .body("passwordRef", equalTo("file:/etc/lifeboat/secrets/orders/password"));
    }

    @Test
    void verifyModesNeedACaReferenceThatFollowsTheFileRules() {
        Map<String, Object> body = source(unique(), "env:LIFEBOAT_SECRET_ORDERS");
        body.put("sslmode", "verify-full");
        post(body).statusCode(400).body("detail", containsString("sslRootCertRef"));
        body.put("sslRootCertRef", "file:/etc/ssl/certs/ca-certificates.crt");
        post(body).statusCode(400).body("detail", allOf(containsString("sslRootCertRef"),
                containsString("lifeboat.secrets.directories")));
        body.put("sslRootCertRef", "env:LIFEBOAT_SECRET_CA");
        post(body).statusCode(400).body("errors.field", hasItem("sslRootCertRef"));
        String id = unique();
        body.put("id", id);
        body.put("sslRootCertRef", "file:/run/secrets/orders-ca.crt");
        post(body).statusCode(201).body("sslmode", equalTo("verify-full"))
                .body("sslRootCertRef", equalTo("file:/run/secrets/orders-ca.crt"));
        body.put("sslmode", "verify-everything");
        post(body).statusCode(400).body("errors.field", hasItem("sslmode"));
    }
}
