package dev.lifeboat.identity;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.Signature;
import java.time.Duration;
import java.util.Base64;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class TokenMinterTest {
    @TempDir
    Path dir;

    @Test
    void theKeyPairIsCreatedOnceAndThePrivateHalfIsReadableByItsOwnerOnly() throws Exception {
        SigningKeys first = SigningKeys.loadOrCreate(dir);
        SigningKeys again = SigningKeys.loadOrCreate(dir);
        assertThat(again.publicKey().getEncoded()).isEqualTo(first.publicKey().getEncoded());
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve(SigningKeys.PRIVATE_FILE))))
                .isEqualTo("rw-------");
        assertThat(Files.readString(first.publicKeyFile())).startsWith("-----BEGIN PUBLIC KEY-----");
    }

    @Test
    void aTokenCarriesIssuerSubjectRolesAndExpiryAndItsSignatureVerifiesWithThePublicKey() throws Exception {
        SigningKeys keys = SigningKeys.loadOrCreate(dir);
        String token = new TokenMinter(keys).mint("dba-alice", Roles.upTo(Roles.OPERATOR), Duration.ofMinutes(5));
        String[] parts = token.split("\\.");
        assertThat(parts).hasSize(3);
        String header = new String(Base64.getUrlDecoder().decode(parts[0]), StandardCharsets.UTF_8);
        String claims = new String(Base64.getUrlDecoder().decode(parts[1]), StandardCharsets.UTF_8);
        assertThat(header).contains("\"alg\":\"RS256\"");
        assertThat(claims).contains("\"iss\":\"" + TokenMinter.LOCAL_ISSUER + "\"", "\"sub\":\"dba-alice\"", "\"aud\":\"lifeboat\"",
                "\"lifeboat-viewer\"", "\"lifeboat-operator\"", "\"exp\":").doesNotContain("lifeboat-admin");
        Signature rsa = Signature.getInstance("SHA256withRSA");
        rsa.initVerify(keys.publicKey());
        rsa.update((parts[0] + "." + parts[1]).getBytes(StandardCharsets.US_ASCII));
        assertThat(rsa.verify(Base64.getUrlDecoder().decode(parts[2]))).isTrue();
    }

    @Test
    void rolesNestUpwardAndUnknownRolesAreRefused() {
        assertThat(Roles.upTo(Roles.VIEWER)).containsExactly(Roles.VIEWER);
        assertThat(Roles.upTo(Roles.ADMIN)).containsExactly(Roles.VIEWER, Roles.OPERATOR, Roles.ADMIN);
        assertThatThrownBy(() -> Roles.upTo("root")).hasMessageContaining("unknown role 'root'");
        assertThat(new MintTokensExit().run(dir, "root")).isEqualTo(2);
        assertThat(new MintTokensExit().run(dir, Roles.VIEWER)).isZero();
    }

    /** Runs the command as ./lifeboat does, without System.exit. */
    static final class MintTokensExit {
        int run(Path keys, String role) {
            return new picocli.CommandLine(new MintTokens()).execute("--keys", keys.toString(), "--subject", "s",
                    "--role", role);
        }
    }
}
