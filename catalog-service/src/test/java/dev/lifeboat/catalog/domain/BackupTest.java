package dev.lifeboat.catalog.domain;

import dev.lifeboat.contracts.RepositoryStats;
import dev.lifeboat.contracts.BackupVerified;
import dev.lifeboat.contracts.BackupCompleted;
import dev.lifeboat.contracts.BackupCopied;
import dev.lifeboat.contracts.BackupCopyFailed;
import dev.lifeboat.contracts.OffsiteDestination;
import dev.lifeboat.contracts.BackupDeleted;
import dev.lifeboat.contracts.BackupFailed;
import dev.lifeboat.contracts.BackupProgress;
import dev.lifeboat.contracts.BackupRequested;
import dev.lifeboat.contracts.BackupType;
import dev.lifeboat.contracts.BackupsExpired;
import dev.lifeboat.contracts.EventType;
import dev.lifeboat.contracts.PhysicalBackupInfo;
import dev.lifeboat.contracts.SnapshotCreated;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class BackupTest {
    static final String ID = "00000000-0000-0000-0000-000000000001";
    static final Instant T0 = Instant.parse("2025-03-01T02:00:00Z");
    static final String SHA = "cd".repeat(32);

    static final CatalogEvent REQUESTED = event(EventType.BACKUP_REQUESTED, T0,
            new BackupRequested(ID, "orders", BackupType.FULL, "nightly", "scheduler"));
    static final CatalogEvent PROGRESS = event(EventType.BACKUP_PROGRESS, T0.plusSeconds(30),
            new BackupProgress(ID, "orders", "UPLOADING", 2048, 50, "worker-7"));
    static final CatalogEvent SNAPSHOT = event(EventType.SNAPSHOT_CREATED, T0.plusSeconds(60),
            new SnapshotCreated(ID, "orders", "nightly", BackupType.FULL, "orders", "bkt", "orders/a.tar", 4096,
                    9000, SHA, "15", "15", "worker-7", T0.plusSeconds(10), T0.plusSeconds(60), null));
    static final CatalogEvent COMPLETED = event(EventType.BACKUP_COMPLETED, T0.plusSeconds(70),
            new BackupCompleted(ID, "orders", "nightly", BackupType.FULL, "bkt", "orders/a.tar", "orders/a.json",
                    4096, 9000, SHA, T0.plusSeconds(10), T0.plusSeconds(70), 60000, null, null));

    @Test
    void everyArrivalOrderFoldsIntoTheSameCompletedBackup() {
        List<CatalogEvent> events = List.of(REQUESTED, PROGRESS, SNAPSHOT, COMPLETED);
        Backup inOrder = fold(events);
        assertThat(inOrder.status).isEqualTo(BackupStatus.COMPLETED);
        assertThat(inOrder.requestedAt).isEqualTo(T0);
        assertThat(inOrder.startedAt).isEqualTo(T0.plusSeconds(10));
        assertThat(inOrder.completedAt).isEqualTo(T0.plusSeconds(70));
        assertThat(inOrder.manifestKey).isEqualTo("orders/a.json");
        assertThat(inOrder.requestedBy).isEqualTo("scheduler");
        assertThat(inOrder.progressPercent).isEqualTo(50);

        for (List<CatalogEvent> order : permutations(events)) {
            assertThat(fold(order)).usingRecursiveComparison().ignoringFields("updatedAt").isEqualTo(inOrder);
        }
    }

    @Test
    void aPhysicalBackupKeepsItsWalPositionWhateverOrderItsEventsArriveIn() {
        CatalogEvent physical = event(EventType.SNAPSHOT_CREATED, T0.plusSeconds(60),
                ((SnapshotCreated) SNAPSHOT.data()).withMethod(SnapshotCreated.PHYSICAL, new PhysicalBackupInfo(
                        "7440891358716117040", "15", 2, "0/5000028", "0/5000100", "000000020000000000000005",
                        T0.plusSeconds(11), T0.plusSeconds(58))));
        List<CatalogEvent> events = List.of(REQUESTED, PROGRESS, physical, COMPLETED);
        Backup inOrder = fold(events);
        assertThat(inOrder.method).isEqualTo("physical");
        assertThat(inOrder.physicalTimeline).isEqualTo(2);
        assertThat(inOrder.physicalStartLsn).isEqualTo("0/5000028");
        assertThat(inOrder.physicalStopLsn).isEqualTo("0/5000100");
        assertThat(inOrder.physicalStartWalSegment).isEqualTo("000000020000000000000005");
        assertThat(inOrder.physicalSystemIdentifier).isEqualTo("7440891358716117040");
        for (List<CatalogEvent> order : permutations(events)) {
            assertThat(fold(order)).usingRecursiveComparison().ignoringFields("updatedAt").isEqualTo(inOrder);
        }
        assertThat(fold(List.of(REQUESTED, SNAPSHOT, COMPLETED)).method).as("a producer before physical backups")
                .isNull();
    }

    @Test
    void aSuccessfulOffsiteCopyStandsWhateverOrderItsEventsArriveIn() {
        CatalogEvent snapshot = event(EventType.SNAPSHOT_CREATED, T0.plusSeconds(60),
                ((SnapshotCreated) SNAPSHOT.data()).withOffsite(new OffsiteDestination("dr", "dr/orders")));
        CatalogEvent gaveUp = event(EventType.BACKUP_COPY_FAILED, T0.plusSeconds(80),
                new BackupCopyFailed(ID, "orders", "nightly", "dr", "dr/orders", "store unreachable", true,
                        T0.plusSeconds(80)));
        CatalogEvent copied = event(EventType.BACKUP_COPIED, T0.plusSeconds(90),
                new BackupCopied(ID, "orders", "nightly", "dr", "dr/orders", "dr/orders/chains/c/manifests/x.json",
                        SHA, 3, 3, 4096, BackupCopied.FULL_OK, T0.plusSeconds(90), 500));
        List<CatalogEvent> events = List.of(snapshot, COMPLETED, gaveUp, copied);
        Backup inOrder = fold(events);
        assertThat(inOrder.status).isEqualTo(BackupStatus.COMPLETED);
        assertThat(inOrder.offsiteState).isEqualTo("COPIED");
        assertThat(inOrder.offsiteReason).isNull();
        assertThat(inOrder.offsiteVerification).isEqualTo("FULL_OK");
        assertThat(inOrder.offsiteManifestKey).isEqualTo("dr/orders/chains/c/manifests/x.json");
        for (List<CatalogEvent> order : permutations(events)) {
            assertThat(fold(order)).usingRecursiveComparison().ignoringFields("updatedAt").isEqualTo(inOrder);
        }

        Backup failedOnly = fold(List.of(snapshot, COMPLETED, gaveUp));
        assertThat(failedOnly.offsiteState).isEqualTo("FAILED");
        assertThat(failedOnly.offsiteReason).isEqualTo("store unreachable");
        assertThat(fold(List.of(snapshot, COMPLETED)).offsiteState).isEqualTo("PENDING");
    }

    @Test
    void completedAndFailedAreFinalWhicheverComesFirst() {
        CatalogEvent failed = event(EventType.BACKUP_FAILED, T0.plusSeconds(80),
                new BackupFailed(ID, "orders", "VERIFY", "sha256 mismatch", T0.plusSeconds(80)));

        Backup completedFirst = fold(List.of(REQUESTED, COMPLETED, failed, PROGRESS));
        assertThat(completedFirst.status).isEqualTo(BackupStatus.COMPLETED);
        assertThat(completedFirst.failureReason).isNull();

        Backup failedFirst = fold(List.of(failed, SNAPSHOT, COMPLETED, REQUESTED));
        assertThat(failedFirst.status).isEqualTo(BackupStatus.FAILED);
        assertThat(failedFirst.failureStage).isEqualTo("VERIFY");
        assertThat(failedFirst.completedAt).isEqualTo(T0.plusSeconds(80));
        assertThat(failedFirst.requestedBy).isEqualTo("scheduler");
    }

    @Test
    void aRunningBackupTheSchedulersWatchdogFailedShowsFailedWithItsReasonInAnyOrder() {
        CatalogEvent watchdog = event(EventType.BACKUP_FAILED, T0.plusSeconds(3600),
                new BackupFailed(ID, "orders", "UPLOAD", "no progress since " + T0.plusSeconds(30)
                        + " (phase UPLOADING on worker worker-7); re-requested 2 times", T0.plusSeconds(3600)));
        List<CatalogEvent> events = List.of(REQUESTED, PROGRESS, watchdog);

        for (List<CatalogEvent> order : permutations(events)) {
            Backup b = fold(order);
            assertThat(b.status).as("after %s", order).isEqualTo(BackupStatus.FAILED);
            assertThat(b.failureStage).isEqualTo("UPLOAD");
            assertThat(b.failureReason).contains("no progress since").contains("re-requested 2 times");
            assertThat(b.completedAt).isEqualTo(T0.plusSeconds(3600));
        }
    }

    @Test
    void statusOnlyMovesForward() {
        Backup b = fold(List.of(SNAPSHOT, PROGRESS, REQUESTED));
        assertThat(b.status).isEqualTo(BackupStatus.SNAPSHOT_CREATED);
        assertThat(BackupStatus.RUNNING.advanceTo(BackupStatus.REQUESTED)).isEqualTo(BackupStatus.RUNNING);
        assertThat(BackupStatus.FAILED.advanceTo(BackupStatus.COMPLETED)).isEqualTo(BackupStatus.FAILED);
    }

    @Test
    void deletedIsFinalInEveryArrivalOrderAndStillLearnsWhenTheBackupCompleted() {
        CatalogEvent expired = event(EventType.BACKUPS_EXPIRED, T0.plusSeconds(100),
                new BackupsExpired("nightly", "orders", List.of(ID), "GFS", T0.plusSeconds(100)));
        CatalogEvent deleted = event(EventType.BACKUP_DELETED, T0.plusSeconds(110),
                new BackupDeleted(ID, "orders", "nightly", List.of("s3://bkt/orders/a.json", "s3://bkt/orders/a.tar"),
                        T0.plusSeconds(110)));
        List<CatalogEvent> events = List.of(REQUESTED, SNAPSHOT, COMPLETED, expired, deleted);
        Backup inOrder = fold(events);
        assertThat(inOrder.status).isEqualTo(BackupStatus.DELETED);
        assertThat(inOrder.expiredAt).isEqualTo(T0.plusSeconds(100));
        assertThat(inOrder.deletedAt).isEqualTo(T0.plusSeconds(110));
        assertThat(inOrder.completedAt).isEqualTo(T0.plusSeconds(70));
        for (List<CatalogEvent> order : permutations(events)) {
            assertThat(fold(order)).usingRecursiveComparison().ignoringFields("updatedAt").isEqualTo(inOrder);
        }
        assertThat(BackupStatus.DELETED.advanceTo(BackupStatus.COMPLETED)).isEqualTo(BackupStatus.DELETED);
        assertThat(BackupStatus.COMPLETED.advanceTo(BackupStatus.DELETED)).isEqualTo(BackupStatus.DELETED);
    }

    @Test
    void expiredAloneDoesNotChangeTheStatus() {
        CatalogEvent expired = event(EventType.BACKUPS_EXPIRED, T0.plusSeconds(100),
                new BackupsExpired("nightly", "orders", List.of(ID), "GFS", T0.plusSeconds(100)));
        Backup b = fold(List.of(COMPLETED, expired));
        assertThat(b.status).isEqualTo(BackupStatus.COMPLETED);
        assertThat(b.expiredAt).isEqualTo(T0.plusSeconds(100));
    }

    @Test
    void newestVerificationDecidesAndAFailedFullVerifyIsRecordedWithItsProblems() {
        CatalogEvent quick = event(EventType.BACKUP_VERIFIED, T0.plusSeconds(75),
                new BackupVerified(ID, "orders", BackupVerified.QUICK, true, List.of(), T0.plusSeconds(75)));
        CatalogEvent full = event(EventType.BACKUP_VERIFIED, T0.plusSeconds(500),
                new BackupVerified(ID, "orders", BackupVerified.FULL, false,
                        List.of("3001.dat: chunk ab12: authentication failed"), T0.plusSeconds(500)));
        for (List<CatalogEvent> order : permutations(List.of(COMPLETED, quick, full))) {
            Backup b = fold(order);
            assertThat(b.status).isEqualTo(BackupStatus.COMPLETED);
            assertThat(b.verification).isEqualTo("FAILED");
            assertThat(b.verifiedAt).isEqualTo(T0.plusSeconds(500));
            assertThat(b.verificationProblems).contains("chunk ab12");
        }
    }

    @Test
    void aVerificationThatCouldNotReadTheStoreIsShownApartAndLeavesTheVerdict() {
        CatalogEvent full = event(EventType.BACKUP_VERIFIED, T0.plusSeconds(500),
                new BackupVerified(ID, "orders", BackupVerified.FULL, true, List.of(), T0.plusSeconds(500)));
        CatalogEvent unreadable = event(EventType.BACKUP_VERIFIED, T0.plusSeconds(900),
                new BackupVerified(ID, "orders", BackupVerified.FULL, false,
                        List.of("manifest s3://bkt/m.json unreadable now: connection refused"), T0.plusSeconds(900),
                        BackupVerified.UNREADABLE));
        CatalogEvent older = event(EventType.BACKUP_VERIFIED, T0.plusSeconds(800),
                new BackupVerified(ID, "orders", BackupVerified.FULL, false,
                        List.of("chunk cd: unreadable now: 503"), T0.plusSeconds(800), BackupVerified.UNREADABLE));
        for (List<CatalogEvent> order : permutations(List.of(COMPLETED, full, unreadable, older))) {
            Backup b = fold(order);
            assertThat(b.verification).isEqualTo("FULL_OK");
            assertThat(b.verifiedAt).isEqualTo(T0.plusSeconds(500));
            assertThat(b.unreadableAt).isEqualTo(T0.plusSeconds(900));
            assertThat(b.unreadableProblems).contains("connection refused");
        }
    }

    @Test
    void chunkedBackupKeepsItsEffectiveTypeAndChain() {
        RepositoryStats stats = new RepositoryStats(RepositoryStats.CHUNKED_V1, "chain-1", null, BackupType.INCREMENTAL,
                true, 1000, 400, 10, 10);
        CatalogEvent snapshot = event(EventType.SNAPSHOT_CREATED, T0.plusSeconds(60),
                new SnapshotCreated(ID, "orders", null, BackupType.FULL, "orders", "bkt", "p/chains/chain-1/m.json", 400,
                        1000, SHA, "15", "15", "worker-7", T0.plusSeconds(10), T0.plusSeconds(60), stats));
        CatalogEvent requested = event(EventType.BACKUP_REQUESTED, T0,
                new BackupRequested(ID, "orders", BackupType.INCREMENTAL, null, "ops"));
        for (List<CatalogEvent> order : permutations(List.of(requested, snapshot))) {
            Backup b = fold(order);
            assertThat(b.type).isEqualTo(BackupType.FULL);
            assertThat(b.requestedType).isEqualTo(BackupType.INCREMENTAL);
            assertThat(b.promotedToFull).isTrue();
            assertThat(b.chainId).isEqualTo("chain-1");
            assertThat(b.bytesUploaded).isEqualTo(400);
        }
    }

    @Test
    void reorderedProgressKeepsTheFurthestReport() {
        CatalogEvent dumping = event(EventType.BACKUP_PROGRESS, T0.plusSeconds(20),
                new BackupProgress(ID, "orders", "DUMPING", 9000, null, "worker-7"));
        Backup b = fold(List.of(PROGRESS, dumping));
        assertThat(b.progressPhase).isEqualTo("UPLOADING");
        assertThat(b.progressBytes).isEqualTo(2048);
        assertThat(b.startedAt).isEqualTo(T0.plusSeconds(20));
    }

    private static Backup fold(List<CatalogEvent> events) {
        Backup b = new Backup();
        b.backupId = ID;
        b.status = BackupStatus.REQUESTED;
        events.forEach(e -> b.apply(e, Instant.now()));
        return b;
    }

    private static CatalogEvent event(EventType type, Instant time, Object data) {
        return new CatalogEvent(type.name() + "-" + time, type, ID, time, data, "{}");
    }

    private static <T> List<List<T>> permutations(List<T> items) {
        if (items.isEmpty()) {
            return List.of(List.of());
        }
        List<List<T>> result = new ArrayList<>();
        for (T head : items) {
            List<T> rest = new ArrayList<>(items);
            rest.remove(head);
            for (List<T> tail : permutations(rest)) {
                List<T> p = new ArrayList<>();
                p.add(head);
                p.addAll(tail);
                result.add(p);
            }
        }
        return result;
    }
}
