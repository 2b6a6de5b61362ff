package dev.lifeboat.repository.snapshot;

import dev.lifeboat.repository.blob.FaultInjectingObjectStore;
import dev.lifeboat.repository.blob.ObjectStore;
import dev.lifeboat.repository.blob.RetryPolicy;
import dev.lifeboat.repository.blob.RetryingObjectStore;
import dev.lifeboat.repository.blob.S3ObjectStore;
import dev.lifeboat.repository.blob.S3Settings;
import dev.lifeboat.testsupport.LocalStack;

import java.net.URI;
import java.time.Duration;
import java.util.Optional;

/** The randomized run on S3Proxy, through retries and light fault injection; fewer backups (each is slower). */
class S3RandomizedGarbageCollectionTest extends RandomizedGarbageCollectionContract {
    @Override
    ObjectStore store() {
        LocalStack stack = LocalStack.ensureStarted();
        S3ObjectStore s3 = S3ObjectStore.connect(new S3Settings(Optional.of(URI.create(stack.s3Endpoint())), "us-east-1",
                true, "local-access-key", "local-secret-key", S3Settings.MIN_PART_SIZE));
        return new RetryingObjectStore(new FaultInjectingObjectStore(s3,
                new FaultInjectingObjectStore.Faults(0.01, 0.01, 0.01), 23),
                new RetryPolicy(8, Duration.ofMillis(2), Duration.ofMillis(50)));
    }

    @Override
    int backups() {
        return 20;
    }

    @Override
    Duration grace() {
        return Duration.ofSeconds(10);
    }
}
