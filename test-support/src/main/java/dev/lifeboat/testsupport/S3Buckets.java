package dev.lifeboat.testsupport;

import java.net.URI;
import java.util.ArrayList;
import java.util.List;

import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.BucketAlreadyOwnedByYouException;
import software.amazon.awssdk.services.s3.model.NoSuchBucketException;
import software.amazon.awssdk.services.s3.model.S3Exception;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * S3 access to the local stack's S3Proxy: path-style, region us-east-1, static keys, and checksums only when
 * required (the SDK's default aws-chunked CRC trailers are not understood by every S3-compatible store).
 */
public final class S3Buckets {

    private static S3Client shared;

    private S3Buckets() {
    }

    /** A new client for the local stack; the caller closes it. */
    public static S3Client newClient() {
        LocalStack stack = LocalStack.ensureStarted();
        return S3Client.builder()
                .endpointOverride(URI.create(stack.s3Endpoint()))
                .region(Region.of(stack.s3Region()))
                .credentialsProvider(StaticCredentialsProvider.create(
                        AwsBasicCredentials.create(stack.s3AccessKey(), stack.s3SecretKey())))
                .forcePathStyle(true)
                .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
                .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED)
                .httpClientBuilder(UrlConnectionHttpClient.builder())
                .build();
    }

    /** A client shared by this JVM (do not close it). */
    public static synchronized S3Client client() {
        if (shared == null) {
            shared = newClient();
        }
        return shared;
    }

    /** Creates {@code bucket} unless it exists. */
    public static void ensureBucket(String bucket) {
        S3Client s3 = client();
        try {
            s3.headBucket(b -> b.bucket(bucket));
            return;
        } catch (NoSuchBucketException e) {
            // create below
        } catch (S3Exception e) {
            if (e.statusCode() != 404) {
                throw e;
            }
        }
        try {
            s3.createBucket(b -> b.bucket(bucket));
        } catch (BucketAlreadyOwnedByYouException e) {
            // created concurrently
        }
    }

    /** All keys under {@code prefix} (empty or null prefix: the whole bucket), in the store's (lexicographic) order. */
    public static List<String> listKeys(String bucket, String prefix) {
        List<String> keys = new ArrayList<>();
        try {
            client().listObjectsV2Paginator(r -> r.bucket(bucket).prefix(prefix == null || prefix.isEmpty() ? null : prefix))
                    .contents().forEach((S3Object o) -> keys.add(o.key()));
        } catch (software.amazon.awssdk.services.s3.model.NoSuchBucketException e) {
            return List.of();   // no bucket holds no keys
        }
        return keys;
    }

    /** Deletes every object under {@code prefix} (empty or null: all); returns how many were deleted. */
    public static int deleteKeys(String bucket, String prefix) {
        List<String> keys = listKeys(bucket, prefix);
        for (String key : keys) {   // one by one: multi-object delete needs Content-MD5, which not every store gets
            client().deleteObject(r -> r.bucket(bucket).key(key));
        }
        return keys.size();
    }
}
