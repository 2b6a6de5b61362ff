package dev.lifeboat.scheduler;

import dev.lifeboat.repository.snapshot.BackupType;
import dev.lifeboat.repository.blob.LocalDirectoryObjectStore;
import dev.lifeboat.repository.blob.ObjectStore;
import dev.lifeboat.repository.content.Chunker;
import dev.lifeboat.repository.keys.MasterKey;
import dev.lifeboat.repository.snapshot.ChainContext;
import dev.lifeboat.repository.snapshot.GarbageCollector;
import dev.lifeboat.repository.snapshot.Manifest;
import dev.lifeboat.repository.snapshot.Repository;
import dev.lifeboat.repository.snapshot.retention.Chains;
import dev.lifeboat.repository.snapshot.retention.Chains.SourceBackup;
import dev.lifeboat.repository.snapshot.retention.GfsCalculator;
import dev.lifeboat.repository.snapshot.retention.RetainedBackup;
import dev.lifeboat.repository.snapshot.retention.RetentionCounts;
import dev.lifeboat.repository.snapshot.retention.RetentionDecision;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.DayOfWeek;
import java.time.Duration;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Expiring never breaks a kept backup's restore: about two months of daily backups (FULL on Sundays, DIFFERENTIAL on
 * Wednesdays, INCREMENTAL otherwise) of an evolving "database" directory into a real repository; the real GFS
 * calculator (7 daily / 4 weekly / 12 monthly) over the chain information the repository recorded decides; the rest
 * is expired (manifests deleted) and garbage-collected with no grace period; then every kept backup is restored and
 * compared file by file with the data it was taken from.
 */
class ExpiryKeepsRestoresTest {
    static final String BUCKET = "scheduler-retention-test";
    static final Chunker.Sizes SMALL = new Chunker.Sizes(1024, 4096, 16 * 1024);

    @TempDir
    Path tmp;

    record Taken(Manifest manifest, Map<String, String> fingerprint) {
    }

    @Test
    void expiringWhatGfsDropsAndCollectingGarbageKeepsEveryKeptBackupRestorable() throws IOException {
        ObjectStore store = new LocalDirectoryObjectStore(tmp.resolve("store"));
        Repository repo = Repository.init(store, BUCKET, "retention/orders-db", MasterKey.generate());
        Path db = Files.createDirectories(tmp.resolve("db"));
        Random rnd = new Random(20261125L);

        Map<String, Taken> taken = new LinkedHashMap<>();
        List<SourceBackup> history = new java.util.ArrayList<>();
        LocalDate first = LocalDate.parse("2026-09-27"); // a Sunday
        for (int day = 0; day < 62; day++) {
            LocalDate date = first.plusDays(day);
            change(db, rnd, day);
            BackupType type = date.getDayOfWeek() == DayOfWeek.SUNDAY ? BackupType.FULL
                    : date.getDayOfWeek() == DayOfWeek.WEDNESDAY ? BackupType.DIFFERENTIAL : BackupType.INCREMENTAL;
            String id = "b-" + date;
            Map<String, String> fingerprint = fingerprint(db);
            Manifest m = repo.writer(2, SMALL).write(db,
                    dev.lifeboat.repository.snapshot.BackupType.valueOf(type.name()), ChainContext.latestChain(id))
                    .manifest();
            taken.put(id, new Taken(m, fingerprint));
            // what BackupCompleted tells the scheduler: completion time, type, chain and parent
            history.add(new SourceBackup(id, date.atTime(2, 0).toInstant(ZoneOffset.UTC), type, m.chainId(),
                    m.parentBackupId()));
        }

        List<RetainedBackup> linked = Chains.link(history);
        for (RetainedBackup b : linked) {
            assertThat(b.dependsOn()).as("dependency of %s", b.backupId())
                    .isEqualTo(taken.get(b.backupId()).manifest().parentBackupId());
        }
        RetentionDecision decision = GfsCalculator.decide(linked, new RetentionCounts(7, 4, 12));
        assertThat(decision.keep().size() + decision.expire().size()).isEqualTo(62);
        assertThat(decision.expire()).hasSizeGreaterThan(30);
        int chainsBefore = repo.chains().size();

        for (String id : decision.expire()) {
            Manifest m = taken.get(id).manifest();
            store.delete(BUCKET, repo.layout().manifest(m.chainId(), m.backupId()));
        }
        GarbageCollector.Result gc = repo.garbageCollector(new GarbageCollector.Settings(Duration.ZERO, Duration.ZERO))
                .collect();
        assertThat(gc.chunksDeleted()).isPositive();
        assertThat(gc.bytesFreed()).isPositive();
        assertThat(gc.chainsDeleted()).isNotEmpty();
        assertThat(gc.chainsFailed()).isEmpty();
        assertThat(repo.chains()).hasSize(chainsBefore - gc.chainsDeleted().size());

        // every kept backup restores to exactly the data it was taken from
        for (String id : decision.keep().keySet()) {
            Taken t = taken.get(id);
            Path restored = tmp.resolve("restore-" + id);
            repo.reader().restore(t.manifest(), restored);
            assertThat(fingerprint(restored)).as("restore of %s (%s, kept for %s)", id, t.manifest().type(),
                    decision.keep().get(id)).isEqualTo(t.fingerprint());
        }
        // and what is left in the repository is exactly what the kept backups reference
        Map<String, Set<String>> referenced = new HashMap<>();
        for (String id : decision.keep().keySet()) {
            Manifest m = taken.get(id).manifest();
            Set<String> ids = referenced.computeIfAbsent(m.chainId(), c -> new HashSet<>());
            m.files().forEach(f -> f.chunks().forEach(c -> ids.add(c.id())));
        }
        for (String chain : repo.chains()) {
            Set<String> stored = store.list(BUCKET, repo.layout().chunks(chain)).stream()
                    .map(k -> k.substring(k.lastIndexOf('/') + 1)).collect(Collectors.toSet());
            assertThat(stored).as("chunks of chain %s", chain).isEqualTo(referenced.get(chain));
        }
    }

    /** Day 0 creates the tables; later days update rows in one table, append to another, now and then add one. */
    private static void change(Path db, Random rnd, int day) throws IOException {
        if (day == 0) {
            for (int t = 0; t < 4; t++) {
                Files.write(db.resolve("table" + t + ".dat"), rows(rnd, 4_000 + rnd.nextInt(3_000)));
            }
            return;
        }
        Path updated = db.resolve("table" + rnd.nextInt(4) + ".dat");
        byte[] data = Files.readAllBytes(updated);
        int at = rnd.nextInt(Math.max(1, data.length - 200));
        byte[] patch = rows(rnd, 3);
        System.arraycopy(patch, 0, data, at, Math.min(patch.length, data.length - at));
        Files.write(updated, data);
        Files.write(db.resolve("table" + rnd.nextInt(4) + ".dat"), rows(rnd, 50 + rnd.nextInt(200)),
                java.nio.file.StandardOpenOption.APPEND);
        if (day % 9 == 0) {
            Files.write(db.resolve("table-day" + day + ".dat"), rows(rnd, 500));
        }
    }

    private static byte[] rows(Random rnd, int count) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < count; i++) {
            sb.append(rnd.nextInt(1_000_000)).append('\t').append("customer-").append(rnd.nextInt(50_000))
                    .append('\t').append(rnd.nextInt(100_000)).append('.').append(rnd.nextInt(100)).append('\n');
        }
        return sb.toString().getBytes(StandardCharsets.UTF_8);
    }

    private static Map<String, String> fingerprint(Path dir) throws IOException {
        Map<String, String> out = new TreeMap<>();
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.filter(Files::isRegularFile).toList()) {
                MessageDigest md;
                try {
                    md = MessageDigest.getInstance("SHA-256");
                } catch (NoSuchAlgorithmException e) {
                    throw new IllegalStateException(e);
                }
                try (InputStream in = Files.newInputStream(p)) {
                    md.update(in.readAllBytes());
                }
                out.put(dir.relativize(p).toString().replace('\\', '/'), HexFormat.of().formatHex(md.digest()));
            }
        }
        return out;
    }
}
