package dev.lifeboat.snapshot.service;

import dev.lifeboat.kit.secrets.SecretPolicy;
import dev.lifeboat.snapshot.client.SchedulerClient;
import dev.lifeboat.snapshot.domain.BackupFailure;
import dev.lifeboat.testsupport.LocalStack;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * What a backup sends to the server a source names, down the path a backup takes before it dumps: the references
 * resolved under the secret policy, the JDBC probe, pg_dump. The server is a fake PostgreSQL that asks for a
 * clear-text password and records what it gets; a real one (the local stack, TLS on) checks verify-full.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class SourceSecretsTest {
    private static final String MASTER_KEY = "bWFzdGVyLWtleS1tYXN0ZXIta2V5LW1hc3Rlci1rZXkh";
    private static final String DB_PASSWORD = "platform-db-password";
    private static final String LEGIT = "legit-source-secret";

    @TempDir
    Path root;
    Path secrets;
    Path spool;
    Path masterKeyFile;
    SecretPolicy policy;
    FakePostgres fake;

    @BeforeEach
    void setUp() throws Exception {
        secrets = Files.createDirectories(root.resolve("secrets"));
        spool = Files.createDirectories(root.resolve("spool"));
        // the worst case: an operator put the master key inside the secret directory
        masterKeyFile = secrets.resolve("master.key");
        Files.writeString(masterKeyFile, MASTER_KEY);
        Files.writeString(secrets.resolve("shop"), LEGIT + "\n");
        Map<String, String> env = Map.of("LIFEBOAT_MASTER_KEY", MASTER_KEY, "LIFEBOAT_DB_PASSWORD", DB_PASSWORD,
                "HOME", "/root", "LIFEBOAT_SECRET_SHOP", LEGIT);
        policy = new SecretPolicy("LIFEBOAT_SECRET_", List.of(secrets), List.of(masterKeyFile),
                List.of("LIFEBOAT_MASTER_KEY", "LIFEBOAT_DB_PASSWORD"), env::get);
        fake = new FakePostgres();
    }

    @AfterEach
    void tearDown() throws Exception {
        fake.close();
    }

    private SchedulerClient.SourceInfo source(String passwordRef, String sslmode, String caRef, int port) {
        return new SchedulerClient.SourceInfo("shop", "postgresql", "127.0.0.1", port, "shop", "shop", passwordRef,
                sslmode, caRef);
    }

    /** The backup path up to and including the probe: resolve, then connect. */
    private void probe(SchedulerClient.SourceInfo source) {
        SourceProbe.probe(SourceConnection.resolve(source, policy, spool), 5, 30);
    }

    @Test
    void platformSecretsNeverReachTheFakeServer() throws Exception {
        Path hardLink = Files.createLink(secrets.resolve("innocent"), masterKeyFile);
        for (String ref : new String[]{"file:" + masterKeyFile, "file:" + hardLink, "env:LIFEBOAT_MASTER_KEY",
                "env:LIFEBOAT_DB_PASSWORD", "env:HOME", "file:/etc/passwd", "file:" + secrets + "/../secrets/master.key"}) {
            assertThatThrownBy(() -> probe(source(ref, "disable", null, fake.port()))).as(ref)
                    .isInstanceOf(BackupFailure.class)
                    .satisfies(e -> {
                        assertThat(((BackupFailure) e).stage()).isEqualTo("CONNECT");
                        assertThat(e.getMessage()).contains("refused", ref).doesNotContain(MASTER_KEY, DB_PASSWORD);
                    });
        }
        assertThat(fake.startups).as("no connection was even attempted").isEmpty();
        assertThat(fake.passwords).isEmpty();
    }

    @Test
    void theLegitSecretIsTheOnlyThingTheServerReceives() {
        for (String ref : new String[]{"file:" + secrets.resolve("shop"), "env:LIFEBOAT_SECRET_SHOP"}) {
            assertThatThrownBy(() -> probe(source(ref, "disable", null, fake.port())))
                    .isInstanceOf(BackupFailure.class).hasMessageContaining("authentication failed");
        }
        assertThat(fake.passwords).containsExactly(LEGIT, LEGIT);
    }

    @Test
    void withTheDefaultSslmodeAServerWithoutTlsReceivesNoPassword() {
        assertThatThrownBy(() -> probe(source("env:LIFEBOAT_SECRET_SHOP", null, null, fake.port())))
                .isInstanceOf(BackupFailure.class).hasMessageContaining("sslmode require");
        assertThat(fake.tlsRequests).isPositive();
        assertThat(fake.passwords).isEmpty();
    }

    @Test
    void pgDumpGetsTheSslmodeAndOnlyTheSourceSecret() throws Exception {
        Path pgDump = PgTools.pgDumpFor(Path.of("/usr/lib/postgresql"), 15);
        PgDump dump = new PgDump(pgDump, 1, 5, Duration.ofMinutes(1), Duration.ofSeconds(30),
                new ChildProcesses(spool.resolve("children")));
        SourceConnection required = SourceConnection.resolve(source("env:LIFEBOAT_SECRET_SHOP", "require", null,
                fake.port()), policy, spool);
        assertThatThrownBy(() -> dump.run(required, spool.resolve("d1"), spool, Duration.ofMillis(200), null, "b1",
                Deadline.after(java.time.Instant.now(), Duration.ofMinutes(2), "the test's limit"), b -> { }))
                .isInstanceOf(BackupFailure.class);
        assertThat(fake.passwords).isEmpty();
        SourceConnection plain = SourceConnection.resolve(source("env:LIFEBOAT_SECRET_SHOP", "disable", null,
                fake.port()), policy, spool);
        assertThatThrownBy(() -> dump.run(plain, spool.resolve("d2"), spool, Duration.ofMillis(200), null, "b1",
                Deadline.after(java.time.Instant.now(), Duration.ofMinutes(2), "the test's limit"), b -> { }))
                .isInstanceOf(BackupFailure.class).hasMessageContaining("password authentication failed");
        assertThat(fake.passwords).containsExactly(LEGIT);
    }

    @Test
    void verifyFullConnectsToTheRealServerWithItsCaAndRefusesWithoutOne() throws Exception {
        LocalStack stack = LocalStack.ensureStarted();
        Path ca = stack.workDir().resolve("pg/root.crt");
        Files.copy(ca, secrets.resolve("pg-ca.crt"));
        Files.writeString(secrets.resolve("postgres"), stack.pgSuperPassword());
        SchedulerClient.SourceInfo s = new SchedulerClient.SourceInfo("pg", "postgresql", stack.pgHost(),
                stack.pgPort(), "postgres", stack.pgSuperUser(), "file:" + secrets.resolve("postgres"), "verify-full",
                "file:" + secrets.resolve("pg-ca.crt"));
        SourceConnection c = SourceConnection.resolve(s, policy, spool);
        assertThat(SourceProbe.probe(c, 5, 30).major()).isGreaterThanOrEqualTo(10);
        assertThat(Files.readString(c.rootCert())).isEqualTo(Files.readString(ca));

        Path otherCa = secrets.resolve("other-ca.crt");
        Process openssl = new ProcessBuilder("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                "-subj", "/CN=127.0.0.1", "-keyout", root.resolve("other.key").toString(), "-out", otherCa.toString())
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        assertThat(openssl.waitFor()).isZero();
        SchedulerClient.SourceInfo wrongCa = new SchedulerClient.SourceInfo("pg", "postgresql", stack.pgHost(),
                stack.pgPort(), "postgres", stack.pgSuperUser(), "file:" + secrets.resolve("postgres"), "verify-full",
                "file:" + otherCa);
        assertThatThrownBy(() -> probe(wrongCa)).isInstanceOf(BackupFailure.class).hasMessageContaining("verify-full");
        SchedulerClient.SourceInfo noCa = new SchedulerClient.SourceInfo("pg", "postgresql", stack.pgHost(),
                stack.pgPort(), "postgres", stack.pgSuperUser(), "file:" + secrets.resolve("postgres"), "verify-full",
                null);
        assertThatThrownBy(() -> probe(noCa)).isInstanceOf(BackupFailure.class).hasMessageContaining("sslRootCertRef");
    }
}
