package dev.lifeboat.repository.cli;

import dev.lifeboat.repository.blob.S3ObjectStore;
import dev.lifeboat.repository.blob.S3Settings;
import dev.lifeboat.repository.keys.MasterKey;
import dev.lifeboat.repository.snapshot.BackupType;
import dev.lifeboat.repository.snapshot.ChainContext;
import dev.lifeboat.repository.snapshot.Manifest;
import dev.lifeboat.repository.snapshot.Repository;
import dev.lifeboat.testsupport.LocalStack;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.TreeMap;
import java.util.UUID;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/** The command-line restore against the real S3-compatible server, as an operator would run it. */
class RestoreCommandTest {
    static final String BUCKET = "lifeboat-restore-command-test";

    @TempDir
    Path tmp;
    S3ObjectStore store;
    String endpoint;
    String prefix;
    MasterKey master;
    Repository repo;
    final ByteArrayOutputStream out = new ByteArrayOutputStream();
    final ByteArrayOutputStream err = new ByteArrayOutputStream();

    @BeforeEach
    void setUp() {
        endpoint = LocalStack.ensureStarted().s3Endpoint();
        store = S3ObjectStore.connect(new S3Settings(Optional.of(URI.create(endpoint)), "us-east-1", true,
                "local-access-key", "local-secret-key", S3Settings.MIN_PART_SIZE));
        prefix = "backups/src-" + UUID.randomUUID();
        master = MasterKey.generate();
        repo = Repository.init(store, BUCKET, prefix, master);
    }

    @AfterEach
    void close() {
        store.close();
    }

    @Test
    void restoresABackupFoundByIdAcrossChainsWithTheOriginalBytes() throws IOException {
        Path first = dump("first", 1);
        repo.writer().write(first, BackupType.FULL, ChainContext.latestChain("b-first"));
        Path second = dump("second", 2);
        Manifest m = repo.writer().write(second, BackupType.FULL, ChainContext.latestChain("b-second")).manifest();

        Path target = tmp.resolve("restored-first");
        int code = run(env(master), "--bucket", BUCKET, "--prefix", prefix, "--backup", "b-first", "--target",
                target.toString());

        assertThat(code).as(err()).isEqualTo(RestoreCommand.OK);
        assertThat(fingerprint(target)).isEqualTo(fingerprint(first));
        assertThat(lastLine()).startsWith("restored backup=b-first type=FULL files=3 ");
        assertThat(m.chainId()).isNotBlank();
    }

    @Test
    void restoresFromTheCatalogsManifestKey() throws IOException {
        Path src = dump("src", 3);
        Manifest m = repo.writer().write(src, BackupType.FULL, ChainContext.latestChain("b-key")).manifest();
        String manifestKey = repo.layout().manifest(m.chainId(), m.backupId());

        Path target = tmp.resolve("restored");
        int code = run(env(master), "--bucket", BUCKET, "--manifest-key", manifestKey, "--target", target.toString());

        assertThat(code).as(err()).isEqualTo(RestoreCommand.OK);
        assertThat(fingerprint(target)).isEqualTo(fingerprint(src));
    }

    @Test
    void withTheSealedHashAManifestReplacedInTheBucketIsRefusedAndTheSealedOneRestored() throws IOException {
        Path older = dump("older", 5);
        Manifest old = repo.writer().write(older, BackupType.FULL, ChainContext.latestChain("b-old")).manifest();
        Path newer = dump("newer", 6);
        Manifest m = repo.writer().write(newer, BackupType.FULL, ChainContext.latestChain("b-new")).manifest();
        String key = repo.layout().manifest(m.chainId(), m.backupId());
        byte[] sealedBytes;
        try (java.io.InputStream in = store.open(BUCKET, key)) {
            sealedBytes = in.readAllBytes();
        }
        String sealed = dev.lifeboat.repository.blob.Sha256.of(sealedBytes);

        Path target = tmp.resolve("sealed");
        int code = run(env(master), "--bucket", BUCKET, "--manifest-key", key, "--sha256", sealed, "--target",
                target.toString());
        assertThat(code).as(err()).isEqualTo(RestoreCommand.OK);
        assertThat(fingerprint(target)).isEqualTo(fingerprint(newer));

        // someone who can write the bucket puts the older backup's manifest, relabelled, in the newer one's place
        byte[] olderBytes;
        try (java.io.InputStream in = store.open(BUCKET, repo.layout().manifest(old.chainId(), old.backupId()))) {
            olderBytes = in.readAllBytes();
        }
        String relabelled = new String(olderBytes, java.nio.charset.StandardCharsets.UTF_8)
                .replace("\"" + old.backupId() + "\"", "\"" + m.backupId() + "\"")
                .replace("\"" + old.chainId() + "\"", "\"" + m.chainId() + "\"");
        store.put(BUCKET, key, relabelled.getBytes(java.nio.charset.StandardCharsets.UTF_8));

        int refused = run(env(master), "--bucket", BUCKET, "--manifest-key", key, "--sha256", sealed, "--target",
                tmp.resolve("refused").toString());
        assertThat(refused).isEqualTo(RestoreCommand.CORRUPT);
        assertThat(err()).contains("is not the one sealed").contains(sealed);
        assertThat(tmp.resolve("refused")).doesNotExist();
    }

    @Test
    void unknownBackupIsNotFoundWithAClearMessage() throws IOException {
        repo.writer().write(dump("src", 4), BackupType.FULL, ChainContext.latestChain("b-known"));

        int code = run(env(master), "--bucket", BUCKET, "--prefix", prefix, "--backup", "b-missing", "--target",
                tmp.resolve("t").toString());

        assertThat(code).isEqualTo(RestoreCommand.NOT_FOUND);
        assertThat(err()).contains("backup b-missing not found").contains(BUCKET + "/" + prefix);
        assertThat(tmp.resolve("t")).doesNotExist();
    }

    @Test
    void missingRepositoryIsNotFound() {
        int code = run(env(master), "--bucket", BUCKET, "--prefix", "backups/nothing-" + UUID.randomUUID(),
                "--backup", "b", "--target", tmp.resolve("t").toString());

        assertThat(code).isEqualTo(RestoreCommand.NOT_FOUND);
        assertThat(err()).contains("no repository at");
    }

    @Test
    void wrongMasterKeyIsRefusedNamingTheKeys() throws IOException {
        repo.writer().write(dump("src", 5), BackupType.FULL, ChainContext.latestChain("b-k"));
        MasterKey other = MasterKey.generate();

        int code = run(env(other), "--bucket", BUCKET, "--prefix", prefix, "--backup", "b-k", "--target",
                tmp.resolve("t").toString());

        assertThat(code).isEqualTo(RestoreCommand.WRONG_KEY);
        assertThat(err()).contains("wrong master key").contains(other.id()).contains(master.id());
    }

    @Test
    void nonEmptyTargetIsRefused() throws IOException {
        Path target = Files.createDirectories(tmp.resolve("busy"));
        Files.writeString(target.resolve("keep.txt"), "keep");

        int code = run(env(master), "--bucket", BUCKET, "--prefix", prefix, "--backup", "b", "--target",
                target.toString());

        assertThat(code).isEqualTo(RestoreCommand.USAGE);
        assertThat(err()).contains("is not an empty directory");
        assertThat(target.resolve("keep.txt")).hasContent("keep");
    }

    @Test
    void missingMasterKeyIsAUsageError() {
        int code = run(Map.of("S3_ENDPOINT", endpoint), "--bucket", BUCKET, "--prefix", prefix, "--backup", "b",
                "--target", tmp.resolve("t").toString());

        assertThat(code).isEqualTo(RestoreCommand.USAGE);
        assertThat(err()).contains("LIFEBOAT_MASTER_KEY");
    }

    private Map<String, String> env(MasterKey key) {
        return Map.of("S3_ENDPOINT", endpoint, "LIFEBOAT_MASTER_KEY", key.toBase64());
    }

    private int run(Map<String, String> env, String... args) {
        return new RestoreCommand(env, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8)).run(args);
    }

    private String err() {
        return err.toString(StandardCharsets.UTF_8);
    }

    private String lastLine() {
        String[] lines = out.toString(StandardCharsets.UTF_8).strip().split("\n");
        return lines[lines.length - 1];
    }

    /** A small pg_dump-like directory: a toc, one table file bigger than a chunk, one small one. */
    private Path dump(String name, long seed) throws IOException {
        Path dir = Files.createDirectories(tmp.resolve(name));
        Random r = new Random(seed);
        byte[] big = new byte[3 * 1024 * 1024 + 11];
        r.nextBytes(big);
        Files.write(dir.resolve("3001.dat"), big);
        Files.writeString(dir.resolve("3002.dat"), "1\tanna\n2\tbernd\n".repeat(1000 + (int) seed));
        Files.writeString(dir.resolve("toc.dat"), "toc " + seed);
        return dir;
    }

    private static Map<String, String> fingerprint(Path dir) throws IOException {
        Map<String, String> out = new TreeMap<>();
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.filter(Files::isRegularFile).toList()) {
                out.put(dir.relativize(p).toString(), sha256(Files.readAllBytes(p)));
            }
        }
        return out;
    }

    private static String sha256(byte[] b) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
