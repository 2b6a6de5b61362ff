package dev.lifeboat.testsupport;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

import software.amazon.awssdk.core.sync.RequestBody;

class S3BucketsTest {

    @Test
    void ensureBucketListAndDelete() {
        String bucket = "ts-s3-buckets-test";
        S3Buckets.ensureBucket(bucket);
        S3Buckets.ensureBucket(bucket);   // idempotent
        S3Buckets.deleteKeys(bucket, null);
        for (String key : new String[] {"a/1.bin", "a/2.bin", "b/1.bin"}) {
            S3Buckets.client().putObject(r -> r.bucket(bucket).key(key), RequestBody.fromString("data of " + key));
        }
        assertThat(S3Buckets.listKeys(bucket, "a/")).containsExactly("a/1.bin", "a/2.bin");
        assertThat(S3Buckets.listKeys(bucket, "")).containsExactly("a/1.bin", "a/2.bin", "b/1.bin");
        assertThat(S3Buckets.client().getObjectAsBytes(r -> r.bucket(bucket).key("b/1.bin")).asUtf8String())
                .isEqualTo("data of b/1.bin");
        assertThat(S3Buckets.deleteKeys(bucket, "a/")).isEqualTo(2);
        assertThat(S3Buckets.listKeys(bucket, null)).containsExactly("b/1.bin");
        S3Buckets.deleteKeys(bucket, null);
    }
}
