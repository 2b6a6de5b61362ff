package dev.lifeboat.kit.retry;

import dev.lifeboat.contracts.InvalidEventException;
import dev.lifeboat.repository.blob.ObjectNotFoundException;
import jakarta.ws.rs.ProcessingException;
import jakarta.ws.rs.WebApplicationException;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.apache.kafka.common.errors.TimeoutException;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.services.s3.model.S3Exception;

import java.io.UncheckedIOException;
import java.net.ConnectException;
import java.sql.SQLException;

import static org.assertj.core.api.Assertions.assertThat;

/** The one definition of transient: servers away or overloaded are; invalid input, 4xx and refused credentials never. */
class TransienceTest {
    private static S3Exception s3(int status) {
        return (S3Exception) S3Exception.builder().statusCode(status).message("status " + status).build();
    }

    @Test
    void serversAwayOrOverloadedAreTransientWhereverTheyAreWrapped() {
        assertThat(Transience.isTransient(new IllegalStateException("job ledger unavailable",
                new SQLException("Connection to 127.0.0.1:5432 refused", "08001")))).isTrue();
        assertThat(Transience.isTransient(new SQLException("terminating connection due to administrator command",
                "57P01"))).isTrue();
        assertThat(Transience.isTransient(new SQLException("Sorry, acquisition timeout!"))).isTrue();
        assertThat(Transience.isTransient(new RuntimeException(new ConnectException("Connection refused")))).isTrue();
        assertThat(Transience.isTransient(s3(503))).isTrue();
        assertThat(Transience.isTransient(s3(500))).isTrue();
        assertThat(Transience.isTransient(s3(429))).isTrue();
        assertThat(Transience.isTransient(SdkClientException.create("Unable to execute HTTP request",
                new ConnectException("Connection refused")))).isTrue();
        assertThat(Transience.isTransient(new UncheckedIOException(new java.io.IOException("reset")))).isTrue();
        assertThat(Transience.isTransient(new TimeoutException("Topic not present in metadata after 60000 ms")))
                .isTrue();
        assertThat(Transience.isTransient(new WebApplicationException(503))).isTrue();
        assertThat(Transience.isTransient(new ProcessingException(new ConnectException("Connection refused"))))
                .isTrue();
    }

    @Test
    void refusalsOfThisServiceAreToldApartFromInvalidRecordsAndOutages() {
        assertThat(Transience.isRefusal(new IllegalStateException("reply not sent",
                new org.apache.kafka.common.errors.TopicAuthorizationException(java.util.Set.of("t"))))).isTrue();
        assertThat(Transience.isRefusal(new SaslAuthenticationException("bad password"))).isTrue();
        assertThat(Transience.isRefusal(s3(403))).isTrue();
        assertThat(Transience.isRefusal(new WebApplicationException(401))).isTrue();
        assertThat(Transience.isRefusal(new IllegalStateException("job ledger unavailable",
                new SQLException("permission denied for table job", "42501")))).isTrue();
        assertThat(Transience.isRefusal(new SQLException("password authentication failed", "28P01"))).isTrue();

        assertThat(Transience.isRefusal(new InvalidEventException("fails schema"))).isFalse();
        assertThat(Transience.isRefusal(new IllegalArgumentException("bad"))).isFalse();
        assertThat(Transience.isRefusal(s3(404))).isFalse();
        assertThat(Transience.isRefusal(s3(503))).isFalse();
        assertThat(Transience.isRefusal(new SQLException("duplicate key", "23505"))).isFalse();
        assertThat(Transience.isRefusal(new SQLException("Connection refused", "08001"))).isFalse();
    }

    @Test
    void invalidInputClientErrorsAndRefusedCredentialsAreNeverTransient() {
        assertThat(Transience.isTransient(new InvalidEventException("fails schema"))).isFalse();
        assertThat(Transience.isTransient(new IllegalArgumentException("bad"))).isFalse();
        assertThat(Transience.isTransient(new NullPointerException())).isFalse();
        assertThat(Transience.isTransient(new WebApplicationException(404))).isFalse();
        assertThat(Transience.isTransient(new WebApplicationException(401))).isFalse();
        assertThat(Transience.isTransient(s3(403))).isFalse();
        assertThat(Transience.isTransient(new ObjectNotFoundException("b", "k"))).isFalse();
        assertThat(Transience.isTransient(new SQLException("password authentication failed", "28P01"))).isFalse();
        assertThat(Transience.isTransient(new SQLException("duplicate key", "23505"))).isFalse();
        assertThat(Transience.isTransient(new SaslAuthenticationException("bad password"))).isFalse();
        assertThat(Transience.isTransient(new InvalidEventException("not JSON",
                new com.fasterxml.jackson.core.JsonParseException(null, "Unexpected character")))).isFalse();
        // a refusal inside an I/O error is still a refusal
        assertThat(Transience.isTransient(new UncheckedIOException(new java.io.IOException("read", s3(403)))))
                .isFalse();
    }
}
