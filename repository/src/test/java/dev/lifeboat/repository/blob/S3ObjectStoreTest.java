package dev.lifeboat.repository.blob;

import dev.lifeboat.testsupport.LocalStack;

import java.net.URI;
import java.util.Optional;

/** The contract against the real S3-compatible server of the local stack, with the smallest multipart part. */
class S3ObjectStoreTest extends ObjectStoreContract {
    @Override
    ObjectStore store() {
        LocalStack stack = LocalStack.ensureStarted();
        return S3ObjectStore.connect(new S3Settings(Optional.of(URI.create(stack.s3Endpoint())), "us-east-1", true,
                "local-access-key", "local-secret-key", S3Settings.MIN_PART_SIZE));
    }
}
