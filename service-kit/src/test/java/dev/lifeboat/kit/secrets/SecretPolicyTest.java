package dev.lifeboat.kit.secrets;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The rules on real files: links, devices, pipes, sizes, the platform's own secrets. */
class SecretPolicyTest {
    @TempDir
    Path root;
    Path secrets;
    Path masterKey;
    SecretPolicy policy;
    final Map<String, String> env = Map.of(
            "LIFEBOAT_SECRET_SHOP", "shop-password",
            "LIFEBOAT_MASTER_KEY", "bWFzdGVyLWtleS1tYXN0ZXIta2V5LW1hc3Rlci1rZXkh",
            "LIFEBOAT_DB_PASSWORD", "platform-db-password",
            "HOME", "/root");

    @BeforeEach
    void setUp() throws Exception {
        secrets = Files.createDirectories(root.resolve("secrets"));
        masterKey = root.resolve("platform/master.key");
        Files.createDirectories(masterKey.getParent());
        Files.writeString(masterKey, "bWFzdGVyLWtleS1tYXN0ZXIta2V5LW1hc3Rlci1rZXkh");
        policy = new SecretPolicy("LIFEBOAT_SECRET_", List.of(secrets), List.of(masterKey),
                List.of("LIFEBOAT_MASTER_KEY", "LIFEBOAT_DB_PASSWORD"), env::get);
    }

    private String refused(String ref) {
        assertThatThrownBy(() -> policy.resolve("passwordRef", ref)).as(ref)
                .isInstanceOf(SecretPolicy.Refused.class);
        try {
            policy.resolve("passwordRef", ref);
            return "";
        } catch (SecretPolicy.Refused e) {
            assertThat(e.getMessage()).doesNotContain("master-key", "platform-db-password", "bWFzdGVy");
            return e.getMessage();
        }
    }

    @Test
    void aFileInsideTheSecretDirectoryResolvesWithoutItsTrailingNewline() throws Exception {
        Files.writeString(secrets.resolve("shop"), "s3cr3t\n");
        assertThat(policy.resolve("passwordRef", "file:" + secrets.resolve("shop"))).isEqualTo("s3cr3t");
        Files.createDirectories(secrets.resolve("team"));
        Files.writeString(secrets.resolve("team/orders"), "o");
        assertThat(policy.resolve("passwordRef", "file:" + secrets.resolve("team/../team/orders"))).isEqualTo("o");
    }

    @Test
    void aPrefixedVariableResolves() {
        assertThat(policy.resolve("passwordRef", "env:LIFEBOAT_SECRET_SHOP")).isEqualTo("shop-password");
        assertThat(refused("env:LIFEBOAT_SECRET_UNSET")).contains("is not set");
    }

    @Test
    void aVariableWithoutThePrefixIsRefusedEvenWhenSet() {
        assertThat(refused("env:HOME")).contains("LIFEBOAT_SECRET_<NAME>");
        assertThat(refused("env:LIFEBOAT_MASTER_KEY")).contains("LIFEBOAT_SECRET_<NAME>");
        assertThat(refused("env:LIFEBOAT_DB_PASSWORD")).contains("LIFEBOAT_SECRET_<NAME>");
        assertThat(refused("env:LIFEBOAT_SECRET_")).contains("LIFEBOAT_SECRET_<NAME>");
        assertThatThrownBy(() -> policy.checkReference("passwordRef", "env:HOME"))
                .isInstanceOf(SecretPolicy.Refused.class).hasMessageContaining("lifeboat.secrets.env-prefix");
    }

    @Test
    void aFileOutsideTheSecretDirectoriesIsRefusedAtRegistrationAndAtUse() throws Exception {
        Path outside = root.resolve("elsewhere");
        Files.writeString(outside, "x");
        for (String ref : new String[]{"file:" + outside, "file:/etc/passwd", "file:" + secrets + "/../elsewhere",
                "file:" + secrets}) {
            assertThat(refused(ref)).contains("must lie inside");
            assertThatThrownBy(() -> policy.checkReference("passwordRef", ref)).as(ref)
                    .isInstanceOf(SecretPolicy.Refused.class).hasMessageContaining("lifeboat.secrets.directories");
        }
    }

    @Test
    void theMasterKeyFileIsRefusedWhereverItIsLinkedFrom() throws Exception {
        assertThat(refused("file:" + masterKey)).contains("must lie inside");
        SecretPolicy wide = new SecretPolicy("LIFEBOAT_SECRET_", List.of(root), List.of(masterKey), List.of(), env::get);
        assertThatThrownBy(() -> wide.checkReference("passwordRef", "file:" + masterKey))
                .hasMessageContaining("platform's own secrets");
        Path hardLink = Files.createLink(root.resolve("innocent-name"), masterKey);
        assertThatThrownBy(() -> wide.resolve("passwordRef", "file:" + hardLink))
                .isInstanceOf(SecretPolicy.Refused.class).hasMessageContaining("platform's own secrets");
        Path symlink = Files.createSymbolicLink(root.resolve("another-name"), masterKey);
        assertThatThrownBy(() -> wide.resolve("passwordRef", "file:" + symlink))
                .isInstanceOf(SecretPolicy.Refused.class).hasMessageContaining("platform's own secrets");
    }

    @Test
    void aSymlinkInsideTheDirectoryPointingOutsideIsRefused() throws Exception {
        Path link = Files.createSymbolicLink(secrets.resolve("link"), masterKey);
        policy.checkReference("passwordRef", "file:" + link);
        assertThat(refused("file:" + link)).contains("following its links, the file lies outside");
        Path etc = Files.createSymbolicLink(secrets.resolve("etc"), Path.of("/etc"));
        assertThat(refused("file:" + etc + "/passwd")).contains("lies outside");
    }

    @Test
    void devZeroAndDirectoriesAreRefusedWithoutReadingThem() throws Exception {
        assertThat(refused("file:/dev/zero")).contains("must lie inside");
        SecretPolicy withDev = new SecretPolicy("LIFEBOAT_SECRET_", List.of(Path.of("/dev")), List.of(), List.of(),
                env::get);
        assertThatThrownBy(() -> withDev.resolve("passwordRef", "file:/dev/zero"))
                .hasMessageContaining("not a regular file");
        Path zeroLink = Files.createSymbolicLink(secrets.resolve("zero"), Path.of("/dev/zero"));
        assertThat(refused("file:" + zeroLink)).contains("lies outside");
        Files.createDirectories(secrets.resolve("sub"));
        assertThat(refused("file:" + secrets.resolve("sub"))).contains("not a regular file");
    }

    @Test
    @Timeout(value = 10, unit = TimeUnit.SECONDS)
    void aFifoIsRefusedFastWithoutOpeningIt() throws Exception {
        Path fifo = secrets.resolve("pipe");
        Process mk = new ProcessBuilder("mkfifo", fifo.toString()).inheritIO().start();
        assertThat(mk.waitFor()).isZero();
        long t0 = System.nanoTime();
        assertThat(refused("file:" + fifo)).contains("not a regular file");
        assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0)).isLessThan(2000);
    }

    @Test
    void aFileOverFourKibibytesIsRefused() throws Exception {
        Files.write(secrets.resolve("big"), new byte[5 * 1024]);
        assertThat(refused("file:" + secrets.resolve("big"))).contains("larger than 4096 bytes");
        Files.writeString(secrets.resolve("max"), "a".repeat(4096));
        assertThat(policy.resolve("passwordRef", "file:" + secrets.resolve("max"))).hasSize(4096);
        Files.writeString(secrets.resolve("empty"), "\n");
        assertThat(refused("file:" + secrets.resolve("empty"))).contains("empty");
    }

    @Test
    void thePrefixCannotBeEmptyNorCoverThePlatformsVariables() {
        for (String bad : new String[]{"", "_", "A", "AB_", "lifeboat_secret_", "LIFEBOAT_SECRET"}) {
            assertThatThrownBy(() -> new SecretPolicy(bad, List.of(secrets), List.of(), List.of(), env::get)).as(bad)
                    .hasMessageContaining("lifeboat.secrets.env-prefix");
        }
        assertThatThrownBy(() -> new SecretPolicy("LIFEBOAT_", List.of(secrets), List.of(),
                List.of("LIFEBOAT_MASTER_KEY"), env::get)).hasMessageContaining("covers the platform's own variable");
        assertThatThrownBy(() -> new SecretPolicy("LIFEBOAT_SECRET_", List.of(), List.of(), List.of(), env::get))
                .hasMessageContaining("lifeboat.secrets.directories");
    }

    @Test
    void aCertificateReferenceMustBeAFile() throws Exception {
        Files.writeString(secrets.resolve("ca.crt"), "-----BEGIN CERTIFICATE-----\n");
        assertThat(policy.readFile("sslRootCertRef", "file:" + secrets.resolve("ca.crt"), 65536)).isNotEmpty();
        assertThatThrownBy(() -> policy.checkFileReference("sslRootCertRef", "env:LIFEBOAT_SECRET_SHOP"))
                .isInstanceOf(SecretPolicy.Refused.class).hasMessageContaining("must be file:/path");
    }
}
