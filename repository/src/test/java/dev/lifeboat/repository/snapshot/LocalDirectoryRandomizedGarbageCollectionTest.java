package dev.lifeboat.repository.snapshot;

import dev.lifeboat.repository.blob.LocalDirectoryObjectStore;
import dev.lifeboat.repository.blob.ObjectStore;

import java.time.Duration;

class LocalDirectoryRandomizedGarbageCollectionTest extends RandomizedGarbageCollectionContract {
    @Override
    ObjectStore store() {
        return new LocalDirectoryObjectStore(tmp.resolve("store"));
    }

    @Override
    int backups() {
        return 40;
    }

    @Override
    Duration grace() {
        return Duration.ofSeconds(5);
    }
}
