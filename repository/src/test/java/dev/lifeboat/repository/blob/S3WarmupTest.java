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
    void theLoopbackServerAnswersOnlyTheWarmUpsKeyAndRefusesLargerBodies() throws Exception {
        try (S3Warmup.LoopbackS3 server = S3Warmup.LoopbackS3.start("warm-up-k1", 4096)) {
            java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
            // signed with another key (or not at all): refused before the body is read
            assertThat(put(http, server, "AWS4-HMAC-SHA256 Credential=other/20261206/us-east-1/s3/aws4_request", 10))
                    .isEqualTo(403);
            assertThat(put(http, server, null, 10)).isEqualTo(403);
            // the warm-up's key, but a body larger than the warm-up sends
            assertThat(put(http, server, "AWS4-HMAC-SHA256 Credential=warm-up-k1/20261206/us-east-1/s3/aws4_request",
                    4097)).isEqualTo(413);
            assertThat(server.objects).isEmpty();
            assertThat(server.answered.get()).isEqualTo(1);
        }
    }

    private static int put(java.net.http.HttpClient http, S3Warmup.LoopbackS3 server, String authorization, int bytes)
            throws Exception {
        java.net.http.HttpRequest.Builder b = java.net.http.HttpRequest.newBuilder(server.endpoint().resolve(
                "/warm-up/k")).PUT(java.net.http.HttpRequest.BodyPublishers.ofByteArray(new byte[bytes]));
        if (authorization != null) {
            b.header("Authorization", authorization);
        }
        return http.send(b.build(), java.net.http.HttpResponse.BodyHandlers.discarding()).statusCode();
    }
}
