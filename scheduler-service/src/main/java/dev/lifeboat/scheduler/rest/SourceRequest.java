package dev.lifeboat.scheduler.rest;

import dev.lifeboat.contracts.Ids;
import dev.lifeboat.kit.pg.SslMode;
import dev.lifeboat.kit.secrets.SecretReference;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.Null;
import jakarta.validation.constraints.Pattern;
import jakarta.validation.constraints.Size;

/**
 * A PostgreSQL source. {@code password} exists only to refuse it: Lifeboat stores references, not secrets.
 * {@code sslmode} is libpq's (default require); verify-ca and verify-full need {@code sslRootCertRef}.
 */
public record SourceRequest(
        @Pattern(regexp = Ids.NAME, message = Ids.NAME_MESSAGE) String id,
        @NotBlank @Size(max = 200) String name,
        @Pattern(regexp = "postgresql", message = "only 'postgresql' sources are supported") String kind,
        @Pattern(regexp = "logical|physical", message = "must be logical (pg_dump of one database, the default) or "
                + "physical (the whole cluster: base backups over the replication protocol plus WAL archiving)")
        String method,
        // host and database reach libpq and the JDBC URL as they are: anything beyond a plain name or address could
        // carry connection parameters of its own (dbname=... host=..., ?sslmode=disable)
        @NotBlank @Size(max = 255) @Pattern(regexp = "^([A-Za-z0-9]([A-Za-z0-9.-]{0,253}[A-Za-z0-9])?|\\[[0-9A-Fa-f:.]+])$",
                message = "must be a host name or an IP address") String host,
        @Min(1) @Max(65535) Integer port,
        @NotBlank @Pattern(regexp = "^[A-Za-z_][A-Za-z0-9_$-]{0,62}$",
                message = "must be a plain database name (letters, digits, _, $, -)") String database,
        @NotBlank @Pattern(regexp = "^[A-Za-z_][A-Za-z0-9_.$@-]{0,62}$",
                message = "must be a plain role name (letters, digits, _, ., $, @, -)") String username,
        @NotBlank @Pattern(regexp = SecretReference.PATTERN,
                message = "must be a secret reference: env:LIFEBOAT_SECRET_NAME or file:/path inside a secret directory")
        String passwordRef,
        @Pattern(regexp = SslMode.PATTERN, message = "must be one of disable, allow, prefer, require, verify-ca, "
                + "verify-full (default require)") String sslmode,
        @Pattern(regexp = "^file:/.+$", message = "must be file:/path of the CA certificate inside a secret directory")
        String sslRootCertRef,
        @Null(message = "plain passwords are not accepted: store the password where the workers can read it and give passwordRef (env:NAME or file:/path)")
        String password) {
}
