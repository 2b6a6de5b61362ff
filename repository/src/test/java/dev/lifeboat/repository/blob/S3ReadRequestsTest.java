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

    /**
     * Over plain HTTP (the local S3-compatible server) an upload goes as one body whose SHA-256 is signed in the
     * headers, not cut into signed aws-chunked pieces, and the server stores it whole.
     */
    @Test
    void anUploadIsOneBodySignedByItsHashAndIsStoredWhole() {
        LocalStack stack = LocalStack.ensureStarted();
        List<software.amazon.awssdk.http.SdkHttpRequest> sent = new java.util.concurrent.CopyOnWriteArrayList<>();
        software.amazon.awssdk.core.interceptor.ExecutionInterceptor recorder =
                new software.amazon.awssdk.core.interceptor.ExecutionInterceptor() {
                    @Override
                    public void beforeTransmission(software.amazon.awssdk.core.interceptor.Context.BeforeTransmission c,
                                                   software.amazon.awssdk.core.interceptor.ExecutionAttributes a) {
                        sent.add(c.httpRequest());
                    }
                };
        software.amazon.awssdk.services.s3.S3Client client = software.amazon.awssdk.services.s3.S3Client.builder()
                .endpointOverride(URI.create(stack.s3Endpoint())).region(software.amazon.awssdk.regions.Region.US_EAST_1)
                .forcePathStyle(true)
                .credentialsProvider(software.amazon.awssdk.auth.credentials.StaticCredentialsProvider.create(
                        software.amazon.awssdk.auth.credentials.AwsBasicCredentials.create("local-access-key",
                                "local-secret-key")))
                .requestChecksumCalculation(
                        software.amazon.awssdk.core.checksums.RequestChecksumCalculation.WHEN_REQUIRED)
                .authSchemeProvider(S3ObjectStore.bodiesSentWhole(
                        software.amazon.awssdk.services.s3.auth.scheme.S3AuthSchemeProvider.defaultProvider()))
                .overrideConfiguration(o -> o.addExecutionInterceptor(recorder))
                .build();
        S3ObjectStore s3 = new S3ObjectStore(client, S3Settings.MIN_PART_SIZE);
        s3.ensureBucket("read-requests");
        byte[] data = new byte[700_001];
        new Random(11).nextBytes(data);
        String key = "chunks/" + UUID.randomUUID();
        sent.clear();

        s3.put("read-requests", key, data);

        software.amazon.awssdk.http.SdkHttpRequest put = sent.stream()
                .filter(r -> r.method() == software.amazon.awssdk.http.SdkHttpMethod.PUT).findFirst().orElseThrow();
        assertThat(put.firstMatchingHeader("x-amz-content-sha256")).contains(java.util.HexFormat.of()
                .formatHex(Sha256.newDigest().digest(data)));
        assertThat(put.firstMatchingHeader("Content-Encoding")).isEmpty();
        assertThat(put.firstMatchingHeader("Content-Length")).contains(String.valueOf(data.length));
        assertThat(put.firstMatchingHeader("Authorization")).hasValueSatisfying(a -> assertThat(a)
                .startsWith("AWS4-HMAC-SHA256"));
        assertThat(s3.client().getObjectAsBytes(r -> r.bucket("read-requests").key(key)).asByteArray())
                .isEqualTo(data);
    }

    /** Counts the requests that reach the store. */
    private static final class Counting extends ForwardingObjectStore {
        final AtomicInteger requests = new AtomicInteger();

        Counting(ObjectStore delegate) {
            super(delegate);
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
    }
}
