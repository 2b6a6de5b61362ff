package dev.lifeboat.repository.snapshot;

import dev.lifeboat.repository.blob.LocalDirectoryObjectStore;
import dev.lifeboat.repository.blob.ObjectStore;

class LocalDirectoryGarbageCollectionTest extends GarbageCollectionContract {
    @Override
    ObjectStore store() {
        return new LocalDirectoryObjectStore(tmp.resolve("store"));
    }
}
