package dev.lifeboat.repository.blob;

import dev.lifeboat.testsupport.LocalStack;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.util.UUID;

import java.net.URI;
import java.time.Duration;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The contract over S3 with throttling, 5xx and short reads injected, behind the retrying decorator: the S3 path
 * survives the faults.
 */
class FaultInjectedS3ObjectStoreTest extends ObjectStoreContract {
    private FaultInjectingObjectStore faulty;

    @Override
    ObjectStore store() {
        LocalStack stack = LocalStack.ensureStarted();
        S3ObjectStore s3 = S3ObjectStore.connect(new S3Settings(Optional.of(URI.create(stack.s3Endpoint())), "us-east-1",
                true, "local-access-key", "local-secret-key", S3Settings.MIN_PART_SIZE));
        faulty = new FaultInjectingObjectStore(s3, new FaultInjectingObjectStore.Faults(0.15, 0.15, 0.5), 42);
        return new RetryingObjectStore(faulty, new RetryPolicy(10, Duration.ofMillis(2), Duration.ofMillis(40)));
    }

    @Test
    void manySmallObjectsSurviveFaultsThatReallyHappen() throws IOException {
        ObjectStore store = store();
        store.ensureBucket(BUCKET);
        String prefix = "f/" + UUID.randomUUID() + "/";
        for (int i = 0; i < 20; i++) {
            store.put(BUCKET, prefix + i, ("object " + i).repeat(1000).getBytes());
        }
        assertThat(store.list(BUCKET, prefix)).hasSize(20);
        for (int i = 0; i < 20; i++) {
            try (InputStream in = store.open(BUCKET, prefix + i)) {
                assertThat(new String(in.readAllBytes())).isEqualTo(("object " + i).repeat(1000));
            }
        }
        assertThat(faulty.injectedFaults()).isPositive();
    }
}
