package dev.lifeboat.repository.blob;

import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

class LocalDirectoryObjectStoreTest extends ObjectStoreContract {
    @TempDir
    Path dir;

    @Override
    ObjectStore store() {
        return new LocalDirectoryObjectStore(dir);
    }
}
