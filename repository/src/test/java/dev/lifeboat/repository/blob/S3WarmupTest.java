package dev.lifeboat.repository.blob;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/**
 * The warm-up drives the S3 client as the store configures it, its HTTP client included, over a socket to a server in
 * this process, and keeps nothing.
 */
class S3WarmupTest {
    @Test
    void everyObjectPutComesBackEqualAndMissingKeysAreNotFound() {
        S3Warmup.Result r = S3Warmup.run(40);

        // 40 PUT+GET pairs, and a HEAD and a missing-key GET in 5 of the rounds (every eighth, from the first)
        assertThat(r.requests()).isEqualTo(40 * 2 + 5 * 2);
        assertThat(r.answered()).as("every request went over the loopback socket").isEqualTo(r.requests());
        assertThat(r.bytes()).isGreaterThan(40L * 2 * 16 * 1024);
    }

    @Test
    void theLoopbackServerRefusesABodyLargerThanTheWarmUpSends() throws Exception {
        try (S3Warmup.LoopbackS3 server = S3Warmup.LoopbackS3.start()) {
            java.net.http.HttpResponse<Void> r = java.net.http.HttpClient.newHttpClient().send(
                    java.net.http.HttpRequest.newBuilder(server.endpoint().resolve("/warm-up/big"))
                            .PUT(java.net.http.HttpRequest.BodyPublishers.ofByteArray(
                                    new byte[S3Warmup.LoopbackS3.MAX_BODY + 1])).build(),
                    java.net.http.HttpResponse.BodyHandlers.discarding());
            assertThat(r.statusCode()).isEqualTo(413);
            assertThat(server.objects).isEmpty();
        }
    }
}
