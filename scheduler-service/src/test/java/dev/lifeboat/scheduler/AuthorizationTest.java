package dev.lifeboat.scheduler;

import dev.lifeboat.testsupport.Http;
import dev.lifeboat.testsupport.OpenApiAuthorization;
import dev.lifeboat.testsupport.OpenApiInputChecks;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import org.junit.jupiter.api.Test;

import java.net.URL;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.LogRecord;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Every operation in this service's OpenAPI document, called without a token, with an expired one, with one signed by
 * an untrusted key (401 each), with a viewer token (403 unless it only reads) and with an admin token (neither).
 * A new endpoint without a role fails here without anyone writing a test for it.
 */
@QuarkusTest
@QuarkusTestResource(value = RealServers.class, restrictToAnnotatedClass = true)
class AuthorizationTest {
    @TestHTTPResource("/")
    URL base;

    @Test
    void everyOperationNeedsATokenAndTheRightRole() {
        OpenApiAuthorization.assertProtected("scheduler-service", base, 14);
    }

    @Test
    void everyPathIdIsValidatedAndEveryBodyIsBounded() {
        OpenApiInputChecks.assertInputChecked("scheduler-service", base);
    }

    /**
     * A path is logged as it was sent: an anonymous caller putting an encoded line break into it cannot write a line
     * of its own into the log of denied requests.
     */
    @Test
    void aDeniedRequestIsLoggedOnOneLineWhateverItsPath() {
        List<String> lines = new CopyOnWriteArrayList<>();
        Handler capture = new Handler() {
            @Override
            public void publish(LogRecord r) {
                lines.add(r instanceof org.jboss.logmanager.ExtLogRecord e ? e.getFormattedMessage() : r.getMessage());
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        java.util.logging.Logger denied = java.util.logging.Logger.getLogger("dev.lifeboat.security.denied");
        denied.addHandler(capture);
        try {
            String forged = "x%0A00:00:00.000%20INFO%20%5Bdev.lifeboat.security.audit%5D%20audit:%20principal%20'admin'";
            Http.Response r = Http.get(base + "api/v1/sources/" + forged, Map.of());
            assertThat(r.status()).isEqualTo(401);
            await().atMost(Duration.ofSeconds(10)).until(() -> lines.stream().anyMatch(l -> l.contains("x%0A")));
            assertThat(lines).filteredOn(l -> l.contains("x%0A")).singleElement().asString()
                    .startsWith("denied GET /api/v1/sources/x%0A00:00:00.000%20INFO").doesNotContain("\n");
        } finally {
            denied.removeHandler(capture);
        }
    }
}
