package dev.lifeboat.recovery;

import dev.lifeboat.testsupport.OpenApiAuthorization;
import dev.lifeboat.testsupport.OpenApiInputChecks;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import org.junit.jupiter.api.Test;

import java.net.URL;

/**
 * Every operation in this service's OpenAPI document, called without a token, with an expired one, with one signed by
 * an untrusted key (401 each), with a viewer token (403 unless it only reads) and with an admin token (neither).
 * A new endpoint without a role fails here without anyone writing a test for it.
 */
@QuarkusTest
@WithTestResource(RecoveryTestResource.class)
class AuthorizationTest {
    @TestHTTPResource("/")
    URL base;

    @Test
    void everyOperationNeedsATokenAndTheRightRole() {
        OpenApiAuthorization.assertProtected("recovery-coordinator", base, 12);
    }

    @Test
    void everyPathIdIsValidatedAndEveryBodyIsBounded() {
        OpenApiInputChecks.assertInputChecked("recovery-coordinator", base);
    }
}
