package dev.lifeboat.repository.blob;

import org.jboss.logging.Logger;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.http.auth.aws.signer.AwsV4FamilyHttpSigner;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.S3ClientBuilder;
import software.amazon.awssdk.services.s3.auth.scheme.S3AuthSchemeProvider;
import software.amazon.awssdk.services.s3.model.CompletedPart;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;
import software.amazon.awssdk.services.s3.model.NoSuchBucketException;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.S3Exception;
import software.amazon.awssdk.services.s3.model.S3Object;

import java.io.IOException;
import java.io.InputStream;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * {@link ObjectStore} on S3 through AWS SDK v2. Large objects go up as multipart uploads of one part buffer
 * each, so memory is one part whatever the object size. Checksums are only sent when the API requires them:
 * S3-compatible stores reject or mis-store the SDK's default aws-chunked CRC trailers; integrity is instead
 * proven by reading objects back and comparing SHA-256.
 */
public class S3ObjectStore implements ObjectStore, AutoCloseable {
    private static final Logger LOG = Logger.getLogger(S3ObjectStore.class);

    private final S3Client s3;
    private final int partSize;

    public S3ObjectStore(S3Client s3, int partSize) {
        this.s3 = s3;
        this.partSize = partSize;
    }

    public static S3ObjectStore connect(S3Settings settings) {
        return new S3ObjectStore(configured(settings).httpClientBuilder(UrlConnectionHttpClient.builder()
                .connectionTimeout(Duration.ofSeconds(5))
                .socketTimeout(Duration.ofMinutes(2))).build(), settings.partSizeBytes());
    }

    /** The client as {@link #connect} builds it, but for its HTTP client: {@link S3Warmup} runs the same one. */
    static S3ClientBuilder configured(S3Settings settings) {
        S3ClientBuilder b = S3Client.builder()
                .region(Region.of(settings.region()))
                .forcePathStyle(settings.pathStyle())
                .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
                .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED)
                .authSchemeProvider(bodiesSentWhole(S3AuthSchemeProvider.defaultProvider()));
        settings.endpoint().ifPresent(b::endpointOverride);
        if (settings.accessKey() != null && !settings.accessKey().isBlank()) {
            b.credentialsProvider(StaticCredentialsProvider.create(
                    AwsBasicCredentials.create(settings.accessKey(), settings.secretKey())));
        } else {
            b.credentialsProvider(DefaultCredentialsProvider.builder().build());
        }
        return b;
    }

    /**
     * Bodies sent whole, never as aws-chunked streams. Over plain HTTP the SDK signs the payload; by default it cuts
     * each body into signed aws-chunked pieces (a signature per piece, the body copied into the framing), which cost
     * more CPU than anything in a backup's upload but compression and encryption, and which the local S3-compatible
     * server failed to read under load ("Error writing request body to server" after the retries). Without chunked
     * encoding the body is hashed once (SHA-256 in {@code x-amz-content-sha256}) and signed in the headers; over
     * HTTPS nothing changes (the payload is not signed there, checksums are only sent when required).
     */
    static S3AuthSchemeProvider bodiesSentWhole(S3AuthSchemeProvider delegate) {
        return params -> delegate.resolveAuthScheme(params).stream()
                .map(option -> option.toBuilder()
                        .putSignerProperty(AwsV4FamilyHttpSigner.CHUNK_ENCODING_ENABLED, false)
                        .build())
                .toList();
    }

    public S3Client client() {
        return s3;
    }

    @Override
    public ObjectWriter create(String bucket, String key) {
        return new MultipartWriter(bucket, key);
    }

    @Override
    public void put(String bucket, String key, byte[] content) {
        s3.putObject(r -> r.bucket(bucket).key(key).contentLength((long) content.length), body(content));
    }

    /**
     * A conditional PUT ({@code If-None-Match: *}): the store refuses it with 412 when the key exists. A 409 means
     * another conditional write of the key is in progress; that one decides, so this caller lost.
     */
    @Override
    public boolean putIfAbsent(String bucket, String key, byte[] content) {
        try {
            s3.putObject(r -> r.bucket(bucket).key(key).contentLength((long) content.length).ifNoneMatch("*"),
                    body(content));
            return true;
        } catch (S3Exception e) {
            if (e.statusCode() == 412) {
                // the key exists; it may hold our own bytes when the client repeated a request whose answer was lost
                return holds(bucket, key, content);
            }
            if (e.statusCode() == 409) {
                return false;
            }
            throw e;
        }
    }

    /**
     * The content as the request's body without a copy ({@link RequestBody#fromBytes} copies every object once more):
     * callers hand over arrays they do not change afterwards.
     */
    private static RequestBody body(byte[] content) {
        return RequestBody.fromContentProvider(
                software.amazon.awssdk.http.ContentStreamProvider.fromByteArrayUnsafe(content), content.length,
                "application/octet-stream");
    }

    private boolean holds(String bucket, String key, byte[] content) {
        try {
            return java.util.Arrays.equals(s3.getObjectAsBytes(r -> r.bucket(bucket).key(key)).asByteArray(), content);
        } catch (NoSuchKeyException e) {
            return false;
        }
    }

    @Override
    public InputStream open(String bucket, String key) {
        try {
            return s3.getObject(r -> r.bucket(bucket).key(key));
        } catch (NoSuchKeyException | NoSuchBucketException e) {
            throw new ObjectNotFoundException(bucket, key);
        }
    }

    /** One GET: its answer carries the length. */
    @Override
    public Sized openSized(String bucket, String key) {
        try {
            software.amazon.awssdk.core.ResponseInputStream<software.amazon.awssdk.services.s3.model.GetObjectResponse>
                    in = s3.getObject(r -> r.bucket(bucket).key(key));
            return new Sized(in, in.response().contentLength());
        } catch (NoSuchKeyException | NoSuchBucketException e) {
            throw new ObjectNotFoundException(bucket, key);
        }
    }

    @Override
    public Optional<Long> size(String bucket, String key) {
        try {
            return Optional.of(s3.headObject(r -> r.bucket(bucket).key(key)).contentLength());
        } catch (NoSuchKeyException | NoSuchBucketException e) {
            return Optional.empty();
        } catch (S3Exception e) {
            if (e.statusCode() == 404) {
                return Optional.empty();
            }
            throw e;
        }
    }

    @Override
    public Optional<ObjectInfo> stat(String bucket, String key) {
        try {
            HeadObjectResponse head = s3.headObject(r -> r.bucket(bucket).key(key));
            return Optional.of(new ObjectInfo(head.contentLength(), head.lastModified()));
        } catch (NoSuchKeyException | NoSuchBucketException e) {
            return Optional.empty();
        } catch (S3Exception e) {
            if (e.statusCode() == 404) {
                return Optional.empty();
            }
            throw e;
        }
    }

    @Override
    public List<String> list(String bucket, String prefix) {
        List<String> keys = new ArrayList<>();
        try {
            s3.listObjectsV2Paginator(r -> r.bucket(bucket).prefix(prefix)).contents().stream()
                    .map(S3Object::key).forEach(keys::add);
        } catch (NoSuchBucketException e) {
            return List.of();
        }
        return keys;
    }

    @Override
    public void listSizes(String bucket, String prefix, java.util.function.BiConsumer<String, Long> each) {
        try {
            s3.listObjectsV2Paginator(r -> r.bucket(bucket).prefix(prefix)).contents()
                    .forEach(o -> each.accept(o.key(), o.size()));
        } catch (NoSuchBucketException e) {
            // no bucket, no objects
        }
    }

    @Override
    public void delete(String bucket, String key) {
        s3.deleteObject(r -> r.bucket(bucket).key(key));
    }

    @Override
    public void ensureBucket(String bucket) {
        try {
            s3.headBucket(r -> r.bucket(bucket));
        } catch (NoSuchBucketException e) {
            createBucket(bucket);
        } catch (S3Exception e) {
            if (e.statusCode() != 404) {
                throw e;
            }
            createBucket(bucket);
        }
    }

    private void createBucket(String bucket) {
        try {
            s3.createBucket(r -> r.bucket(bucket));
        } catch (S3Exception e) {
            // another worker may have created it between our head and create
            if (e.statusCode() != 409) {
                throw e;
            }
        }
    }

    @Override
    public void ping() {
        s3.listBuckets();
    }

    @Override
    public void close() {
        s3.close();
    }

    /** Buffers one part; the first full part turns the write into a multipart upload. */
    private final class MultipartWriter extends ObjectWriter {
        private final String bucket;
        private final String key;
        private final MessageDigest digest = Sha256.newDigest();
        private final List<CompletedPart> parts = new ArrayList<>();
        private byte[] buffer = new byte[partSize];
        private int filled;
        private long total;
        private String uploadId;
        private boolean done;

        MultipartWriter(String bucket, String key) {
            this.bucket = bucket;
            this.key = key;
        }


        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            if (done) {
                throw new IOException("write after commit or abort of " + key);
            }
            digest.update(b, off, len);
            total += len;
            while (len > 0) {
                int n = Math.min(len, buffer.length - filled);
                System.arraycopy(b, off, buffer, filled, n);
                filled += n;
                off += n;
                len -= n;
                if (filled == buffer.length) {
                    uploadPart();
                }
            }
        }

        private void uploadPart() throws IOException {
            try {
                if (uploadId == null) {
                    uploadId = s3.createMultipartUpload(r -> r.bucket(bucket).key(key)).uploadId();
                }
                int number = parts.size() + 1;
                String etag = s3.uploadPart(r -> r.bucket(bucket).key(key).uploadId(uploadId).partNumber(number)
                                .contentLength((long) filled),
                        RequestBody.fromBytes(filled == buffer.length ? buffer : java.util.Arrays.copyOf(buffer, filled)))
                        .eTag();
                parts.add(CompletedPart.builder().partNumber(number).eTag(etag).build());
                filled = 0;
            } catch (SdkException e) {
                throw new IOException("upload of part " + (parts.size() + 1) + " of s3://" + bucket + "/" + key
                        + " failed: " + e.getMessage(), e);
            }
        }

        @Override
        public StoredObject commit() {
            if (done) {
                throw new IllegalStateException("already finished: " + key);
            }
            try {
                if (uploadId == null) {
                    byte[] content = java.util.Arrays.copyOf(buffer, filled);
                    s3.putObject(r -> r.bucket(bucket).key(key).contentLength((long) content.length),
                            RequestBody.fromBytes(content));
                } else {
                    if (filled > 0) {
                        uploadPart();
                    }
                    s3.completeMultipartUpload(r -> r.bucket(bucket).key(key).uploadId(uploadId)
                            .multipartUpload(m -> m.parts(parts)));
                }
            } catch (IOException | SdkException e) {
                abort();
                throw new IllegalStateException("could not store s3://" + bucket + "/" + key + ": " + e.getMessage(), e);
            }
            done = true;
            buffer = null;
            return new StoredObject(bucket, key, total, Sha256.hex(digest));
        }

        @Override
        public void abort() {
            if (done) {
                return;
            }
            done = true;
            buffer = null;
            if (uploadId != null) {
                try {
                    s3.abortMultipartUpload(r -> r.bucket(bucket).key(key).uploadId(uploadId));
                } catch (SdkException e) {
                    LOG.warnf("could not abort multipart upload of s3://%s/%s (the bucket's lifecycle rule cleans it): %s",
                            bucket, key, e.getMessage());
                }
            }
        }

        @Override
        public void close() {
            abort();
        }
    }
}
