package dev.lifeboat.repository.blob;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The warm-up drives the configured S3 client end to end against its in-memory HTTP client, and keeps nothing. */
class S3WarmupTest {
    @Test
    void everyObjectPutComesBackEqualAndMissingKeysAreNotFound() {
        S3Warmup.Result r = S3Warmup.run(40);

        // 40 PUT+GET pairs, and a HEAD and a missing-key GET in 5 of the rounds (every eighth, from the first)
        assertThat(r.requests()).isEqualTo(40 * 2 + 5 * 2);
        assertThat(r.bytes()).isGreaterThan(40L * 2 * 16 * 1024);
    }
}
