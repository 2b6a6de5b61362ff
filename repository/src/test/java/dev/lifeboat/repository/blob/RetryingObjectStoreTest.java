package dev.lifeboat.repository.blob;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.awscore.exception.AwsErrorDetails;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.services.s3.model.S3Exception;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class RetryingObjectStoreTest {
    static final String BUCKET = "b";
    static final RetryPolicy FAST = new RetryPolicy(4, Duration.ofMillis(1), Duration.ofMillis(5));

    @TempDir
    Path dir;
    LocalDirectoryObjectStore local;
    byte[] data;
    String sha;

    @BeforeEach
    void setUp() {
        local = new LocalDirectoryObjectStore(dir);
        local.ensureBucket(BUCKET);
        data = new byte[3 * 1024 * 1024 + 17];
        new Random(3).nextBytes(data);
        local.put(BUCKET, "obj", data);
        MessageDigest md = Sha256.newDigest();
        md.update(data);
        sha = Sha256.hex(md);
    }

    @Test
    void rawShortReadsReallyCutTheStream() throws IOException {
        FaultInjectingObjectStore faulty = new FaultInjectingObjectStore(local,
                new FaultInjectingObjectStore.Faults(0, 0, 1.0), 1);
        for (int i = 0; i < 5; i++) {
            try {
                Sha256.Digest d = Sha256.of(faulty.open(BUCKET, "obj"));
                assertThat(d.sizeBytes()).isLessThan(data.length);
            } catch (IOException expected) {
                assertThat(expected).hasMessageContaining("injected");
            }
        }
    }

    @Test
    void aShortReadThatPersistsIsDetectedNotAccepted() {
        RetryingObjectStore store = new RetryingObjectStore(new FaultInjectingObjectStore(local,
                new FaultInjectingObjectStore.Faults(0, 0, 1.0), 2), FAST);
        assertThatThrownBy(() -> Sha256.of(store.open(BUCKET, "obj")))
                .isInstanceOf(ShortReadException.class)
                .hasMessageContaining("short read of b/obj")
                .hasMessageContaining("of " + data.length + " bytes");
    }

    @Test
    void occasionalShortReadsAreResumedToTheExactBytes() throws IOException {
        FaultInjectingObjectStore faulty = new FaultInjectingObjectStore(local,
                new FaultInjectingObjectStore.Faults(0, 0, 0.6), 3);
        RetryingObjectStore store = new RetryingObjectStore(faulty, new RetryPolicy(20, Duration.ofMillis(1),
                Duration.ofMillis(2)));
        for (int i = 0; i < 10; i++) {
            Sha256.Digest d = Sha256.of(store.open(BUCKET, "obj"));
            assertThat(d.sizeBytes()).isEqualTo(data.length);
            assertThat(d.sha256()).isEqualTo(sha);
        }
        assertThat(faulty.injectedFaults()).isPositive();
    }

    @Test
    void transientErrorsAreRetriedPermanentOnesFailAtOnce() {
        AtomicInteger calls = new AtomicInteger();
        ObjectStore flaky = new Failing(calls, 2, () -> s3(503, "SlowDown"));
        assertThat(new RetryingObjectStore(flaky, FAST).list(BUCKET, "")).containsExactly("ok");
        assertThat(calls).hasValue(3);

        calls.set(0);
        ObjectStore denied = new Failing(calls, 100, () -> s3(403, "AccessDenied"));
        assertThatThrownBy(() -> new RetryingObjectStore(denied, FAST).list(BUCKET, ""))
                .isInstanceOf(S3Exception.class);
        assertThat(calls).hasValue(1);

        calls.set(0);
        ObjectStore alwaysBusy = new Failing(calls, 100, () -> s3(500, "InternalError"));
        assertThatThrownBy(() -> new RetryingObjectStore(alwaysBusy, FAST).list(BUCKET, ""))
                .isInstanceOf(S3Exception.class);
        assertThat(calls).hasValue(FAST.maxAttempts());
    }

    @Test
    void missingObjectIsNotRetried() {
        assertThatThrownBy(() -> new RetryingObjectStore(local, FAST).open(BUCKET, "nope"))
                .isInstanceOf(ObjectNotFoundException.class);
    }

    @Test
    void classification() {
        assertThat(RetryPolicy.isTransient(s3(429, "TooManyRequests"))).isTrue();
        assertThat(RetryPolicy.isTransient(s3(502, "BadGateway"))).isTrue();
        assertThat(RetryPolicy.isTransient(s3(504, "GatewayTimeout"))).isTrue();
        assertThat(RetryPolicy.isTransient(s3(400, "Throttling"))).isTrue();
        assertThat(RetryPolicy.isTransient(s3(404, "NoSuchKey"))).isFalse();
        assertThat(RetryPolicy.isTransient(new IllegalStateException(new IOException(s3(403, "AccessDenied")))))
                .isFalse();
        assertThat(RetryPolicy.isTransient(new UncheckedIOException(new IOException("reset")))).isTrue();
        assertThat(RetryPolicy.isTransient(SdkClientException.create("io", new IOException("reset")))).isTrue();
        assertThat(RetryPolicy.isTransient(new IllegalArgumentException("bad key"))).isFalse();
        assertThat(FAST.backoff(1).toMillis()).isBetween(0L, 1L);
        RetryPolicy p = new RetryPolicy(10, Duration.ofMillis(100), Duration.ofSeconds(2));
        assertThat(p.backoff(3).toMillis()).isBetween(200L, 400L);
        assertThat(p.backoff(9).toMillis()).isBetween(1000L, 2000L);
    }

    static S3Exception s3(int status, String code) {
        return (S3Exception) S3Exception.builder().statusCode(status).message(code)
                .awsErrorDetails(AwsErrorDetails.builder().errorCode(code).build()).build();
    }

    /** Fails {@code failures} times with the given error, then answers list with "ok". */
    private record Failing(AtomicInteger calls, int failures, java.util.function.Supplier<RuntimeException> error)
            implements ObjectStore {
        @Override
        public List<String> list(String bucket, String prefix) {
            if (calls.incrementAndGet() <= failures) {
                throw error.get();
            }
            return List.of("ok");
        }

        @Override
        public ObjectWriter create(String bucket, String key) {
            throw new UnsupportedOperationException();
        }

        @Override
        public void put(String bucket, String key, byte[] content) {
            throw new UnsupportedOperationException();
        }

        @Override
        public boolean putIfAbsent(String bucket, String key, byte[] content) {
            throw new UnsupportedOperationException();
        }

        @Override
        public InputStream open(String bucket, String key) {
            throw new UnsupportedOperationException();
        }

        @Override
        public Optional<Long> size(String bucket, String key) {
            throw new UnsupportedOperationException();
        }

        @Override
        public Optional<ObjectInfo> stat(String bucket, String key) {
            throw new UnsupportedOperationException();
        }

        @Override
        public void delete(String bucket, String key) {
            throw new UnsupportedOperationException();
        }

        @Override
        public void ensureBucket(String bucket) {
        }

        @Override
        public void ping() {
        }
    }
}
