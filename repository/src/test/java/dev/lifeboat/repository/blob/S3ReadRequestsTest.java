package dev.lifeboat.repository.blob;

import dev.lifeboat.testsupport.LocalStack;
import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.net.URI;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A restore reads every chunk through the retrying store: on the real S3-compatible server each read is one request,
 * not a HEAD and then a GET, since a restore's speed is bound by its round trips. The GET answers the object's length
 * as well, which the store needs to resume a cut stream (FaultInjectedS3ObjectStoreTest covers the resuming).
 */
class S3ReadRequestsTest {

    @Test
    void aReadThroughTheRetryingStoreIsOneRequestAndAMissingObjectIsStillReported() throws Exception {
        LocalStack stack = LocalStack.ensureStarted();
        S3ObjectStore s3 = S3ObjectStore.connect(new S3Settings(Optional.of(URI.create(stack.s3Endpoint())),
                "us-east-1", true, "local-access-key", "local-secret-key", S3Settings.MIN_PART_SIZE));
        s3.ensureBucket("read-requests");
        Counting counting = new Counting(s3);
        RetryingObjectStore store = new RetryingObjectStore(counting);
        byte[] data = new byte[700_001];
        new Random(7).nextBytes(data);
        String key = "chunks/" + UUID.randomUUID();
        s3.put("read-requests", key, data);

        byte[] read;
        try (InputStream in = store.open("read-requests", key)) {
            read = in.readAllBytes();
        }

        assertThat(read).isEqualTo(data);
        assertThat(counting.requests).hasValue(1);
        assertThatThrownBy(() -> store.open("read-requests", key + "-missing"))
                .isInstanceOf(ObjectNotFoundException.class);
    }

    /** Counts the requests that reach the store. */
    private static final class Counting implements ObjectStore {
        final ObjectStore delegate;
        final AtomicInteger requests = new AtomicInteger();

        Counting(ObjectStore delegate) {
            this.delegate = delegate;
        }

        @Override
        public Sized openSized(String bucket, String key) {
            requests.incrementAndGet();
            return delegate.openSized(bucket, key);
        }

        @Override
        public InputStream open(String bucket, String key) {
            requests.incrementAndGet();
            return delegate.open(bucket, key);
        }

        @Override
        public Optional<Long> size(String bucket, String key) {
            requests.incrementAndGet();
            return delegate.size(bucket, key);
        }

        @Override
        public Optional<ObjectInfo> stat(String bucket, String key) {
            requests.incrementAndGet();
            return delegate.stat(bucket, key);
        }

        @Override
        public ObjectWriter create(String bucket, String key) {
            return delegate.create(bucket, key);
        }

        @Override
        public void put(String bucket, String key, byte[] content) {
            delegate.put(bucket, key, content);
        }

        @Override
        public boolean putIfAbsent(String bucket, String key, byte[] content) {
            return delegate.putIfAbsent(bucket, key, content);
        }

        @Override
        public List<String> list(String bucket, String prefix) {
            return delegate.list(bucket, prefix);
        }

        @Override
        public void delete(String bucket, String key) {
            delegate.delete(bucket, key);
        }

        @Override
        public void ensureBucket(String bucket) {
            delegate.ensureBucket(bucket);
        }

        @Override
        public void ping() {
            delegate.ping();
        }
    }
}
