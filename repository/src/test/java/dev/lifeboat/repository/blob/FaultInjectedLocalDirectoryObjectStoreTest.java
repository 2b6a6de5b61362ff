package dev.lifeboat.repository.blob;

import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;

/** The contract over a local directory behind fault injection and retries. */
class FaultInjectedLocalDirectoryObjectStoreTest extends ObjectStoreContract {
    @TempDir
    Path dir;

    @Override
    ObjectStore store() {
        return new RetryingObjectStore(
                new FaultInjectingObjectStore(new LocalDirectoryObjectStore(dir),
                        new FaultInjectingObjectStore.Faults(0.2, 0.2, 0.5), 7),
                new RetryPolicy(12, Duration.ofMillis(1), Duration.ofMillis(10)));
    }
}
