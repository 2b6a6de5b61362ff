package dev.lifeboat.recovery;

import dev.lifeboat.testsupport.Tokens;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import org.junit.jupiter.api.Test;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasItems;

/** The service's operational endpoints against the real PostgreSQL and Kafka. */
@QuarkusTest
@WithTestResource(RecoveryTestResource.class)
class PlanResourceTest {

    @Test
    void readyWithItsDatabase() {
        given().auth().oauth2(Tokens.admin()).when().get("/q/health/ready").then().statusCode(200)
                .body("status", equalTo("UP"))
                .body("checks.name", hasItems("Reactive PostgreSQL connections health check"));
    }

    @Test
    void openApiDescribesPlansAndRuns() {
        given().auth().oauth2(Tokens.admin()).when().get("/q/openapi?format=json").then().statusCode(200)
                .body(containsString("/api/v1/plans")).body(containsString("/api/v1/runs/{id}"));
    }

    @Test
    void metricsAreExposed() {
        given().auth().oauth2(Tokens.admin()).when().get("/q/metrics").then().statusCode(200).body(containsString("jvm_memory_used_bytes"));
    }
}
