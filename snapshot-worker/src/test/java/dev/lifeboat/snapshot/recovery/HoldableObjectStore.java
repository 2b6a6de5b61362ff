package dev.lifeboat.snapshot.recovery;

import dev.lifeboat.repository.blob.FaultInjectingObjectStore;
import dev.lifeboat.repository.blob.S3ObjectStore;
import jakarta.annotation.Priority;
import jakarta.enterprise.inject.Alternative;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;

/**
 * The worker under test talks to the real S3Proxy through a {@link FaultInjectingObjectStore} that injects no faults
 * unless a test asks it to hold writes (an upload stopped part way): every other test sees the store unchanged.
 */
public class HoldableObjectStore {

    @Produces
    @Singleton
    @Alternative
    @Priority(1)
    FaultInjectingObjectStore store(S3ObjectStore s3) {
        return new FaultInjectingObjectStore(s3, FaultInjectingObjectStore.Faults.none(), 1);
    }
}
