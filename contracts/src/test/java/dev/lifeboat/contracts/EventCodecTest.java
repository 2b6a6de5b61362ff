package dev.lifeboat.contracts;

import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Instant;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class EventCodecTest {

    private static Headers requestHeaders() {
        return EventCodec.headers(EventType.BACKUP_REQUESTED, "/test", "pg-main");
    }

    @Test
    void validRequestWithoutBackupIdDecodes() {
        CloudEvent<?> e = EventCodec.decode(requestHeaders(),
                "{\"sourceId\":\"pg-main\",\"type\":\"INCREMENTAL\",\"requestedBy\":\"cron\"}");
        assertThat(e.type()).isEqualTo(EventType.BACKUP_REQUESTED);
        assertThat(e.data()).isEqualTo(new BackupRequested(null, "pg-main", BackupType.INCREMENTAL, null, "cron"));
    }

    @Test
    void everyRecordRoundTripsThroughItsSchema() {
        Instant t = Instant.parse("2026-11-24T10:15:30Z");
        String id = "0b9a3a5e-5d7e-4a4f-9d40-6c3f1f0f8a11";
        String sha = "a".repeat(64);
        Object[] samples = {
                new BackupRequested(id, "pg-main", BackupType.FULL, "nightly", "http"),
                new BackupProgress(id, "pg-main", "DUMPING", 1024, 10, "w1"),
                new SnapshotCreated(id, "pg-main", null, BackupType.FULL, "shop", "bucket", "k/dump.tar.zst", 10, 20,
                        sha, "15.4", "pg_dump 15", "w1", t, t, null),
                new BackupCompleted(id, "pg-main", null, BackupType.FULL, "bucket", "k", "m", 10, 20, sha, t, t, 5, null, null),
                new BackupFailed(id, "pg-main", "CONNECT", "source unreachable", t),
                new BackupsExpired("nightly", "pg-main", java.util.List.of(id), "GFS retention", t),
                new BackupDeleted(id, "pg-main", "nightly",
                        java.util.List.of("s3://bucket/k/manifest.json", "s3://bucket/k/dump.tar.zst"), t),
                new SnapshotCreated(id, "pg-main", "nightly", BackupType.FULL, "shop", "bucket",
                        "p/pg-main/chains/c1/manifests/" + id + ".json", 10, 20, sha, "15.4", "pg_dump 15", "w1", t, t,
                        new RepositoryStats(RepositoryStats.CHUNKED_V1, "c1", null, BackupType.INCREMENTAL, true,
                                20, 10, 3, 3)),
                new BackupCompleted(id, "pg-main", "nightly", BackupType.INCREMENTAL, "bucket", "k", "k", 10, 20, sha,
                        t, t, 5, new RepositoryStats(RepositoryStats.CHUNKED_V1, "c1", "p1", BackupType.INCREMENTAL,
                        false, 20, 1, 3, 1), "QUICK_OK"),
                new BackupVerified(id, "pg-main", BackupVerified.FULL, false,
                        java.util.List.of("base/1.dat: chunk ab12: authentication tag mismatch"), t),
                new BackupVerified(id, "pg-main", BackupVerified.QUICK, true, java.util.List.of(), t),
                new BackupVerified(id, "pg-main", BackupVerified.FULL, false,
                        java.util.List.of("base/1.dat: chunk ab12: unreadable now: connection refused"), t,
                        BackupVerified.UNREADABLE),
                new SnapshotCreated(id, "pg-main", "nightly", BackupType.FULL, "shop", "bucket",
                        "p/pg-main/chains/c1/manifests/" + id + ".json", 10, 20, sha, "15.4", "pg_dump 15", "w1", t, t,
                        new RepositoryStats(RepositoryStats.CHUNKED_V1, "c1", null, BackupType.FULL, false,
                                20, 10, 3, 3), new OffsiteDestination("offsite-bucket", "dr/pg-main")),
                new BackupCopied(id, "pg-main", "nightly", "offsite-bucket", "dr/pg-main",
                        "dr/pg-main/chains/c1/manifests/" + id + ".json", sha, 3, 2, 4096, BackupCopied.FULL_OK, t, 12),
                new BackupCopyFailed(id, "pg-main", "nightly", "offsite-bucket", "dr/pg-main",
                        "the destination holds another repository", false, t),
                physicalSnapshot(id, sha, t, "0/3000028"),
                new WalStatus("pg-main", "w1", 3, 1, "0/5000000", t, "0/5001000", 4096L, 0.5,
                        "000000010000000000000001", "000000010000000000000004", false, null, WalStatus.STREAMING,
                        null, t),
                new WalStatus("pg-main", "w1", 3, 2, null, null, null, null, null, null, null, true,
                        "000000020000000000000007", WalStatus.RECONNECTING, "connection refused", t),
                new WalStatus("pg-main", "w2", 4, 2, "0/7000000", t, "0/7001000", 4096L, 0.5,
                        "000000010000000000000001", "000000010000000000000004", false, null, WalStatus.STREAMING,
                        null, t, "replication slot lifeboat_wal_pg_main was missing on the server")};
        for (Object sample : samples) {
            EventType type = EventType.of(sample.getClass());
            Object back = EventCodec.decodeData(type, EventCodec.encodeData(sample));
            assertThat(back).isEqualTo(sample);
        }
    }

    private static SnapshotCreated physicalSnapshot(String id, String sha, Instant t, String startLsn) {
        return new SnapshotCreated(id, "pg-main", "nightly", BackupType.FULL, "postgres", "bucket",
                "p/pg-main/chains/c1/manifests/" + id + ".json", 10, 20, sha, "15.4", "pg_basebackup 15", "w1", t, t,
                new RepositoryStats(RepositoryStats.CHUNKED_V1, "c1", null, BackupType.FULL, false, 20, 10, 3, 3))
                .withMethod(SnapshotCreated.PHYSICAL, new PhysicalBackupInfo("7440891358716117040", "15", 1, startLsn,
                        "0/3000100", "000000010000000000000003", t, t));
    }

    @Test
    void physicalSnapshotWithAMalformedLsnFailsTheSchemaAndOneWithoutMethodStillReads() {
        Instant t = Instant.parse("2026-11-24T10:15:30Z");
        String id = "0b9a3a5e-5d7e-4a4f-9d40-6c3f1f0f8a11";
        String bad = EventCodec.encodeData(physicalSnapshot(id, "a".repeat(64), t, "0/3000028"))
                .replace("\"startLsn\":\"0/3000028\"", "\"startLsn\":\"3000028; drop table\"");
        assertThatThrownBy(() -> EventCodec.decodeData(EventType.SNAPSHOT_CREATED, bad))
                .isInstanceOf(InvalidEventException.class).hasMessageContaining("startLsn");
        String old = EventCodec.encodeData(new SnapshotCreated(id, "pg-main", null, BackupType.FULL, "shop", "bucket",
                "k", 10, 20, "a".repeat(64), "15.4", "pg_dump 15", "w1", t, t, null))
                .replace(",\"method\":null", "").replace(",\"physical\":null", "");
        assertThat(old).doesNotContain("method").doesNotContain("physical");
        SnapshotCreated read = (SnapshotCreated) EventCodec.decodeData(EventType.SNAPSHOT_CREATED, old);
        assertThat(read.method()).isNull();
        assertThat(read.physical()).isNull();
    }

    @Test
    void aWalStatusWithAMalformedLsnOrSegmentIsInvalid() {
        String valid = "{\"sourceId\":\"pg-main\",\"workerId\":\"w1\",\"leaseToken\":1,\"timeline\":1,"
                + "\"gap\":false,\"state\":\"STREAMING\",\"reportedAt\":\"2026-01-01T00:00:00Z\"";
        assertThat(EventCodec.decodeData(EventType.WAL_STATUS, valid + "}")).isInstanceOf(WalStatus.class);
        assertThatThrownBy(() -> EventCodec.decodeData(EventType.WAL_STATUS, valid + ",\"archivedLsn\":\"zz\"}"))
                .isInstanceOf(InvalidEventException.class);
        assertThatThrownBy(() -> EventCodec.decodeData(EventType.WAL_STATUS,
                valid + ",\"firstMissingSegment\":\"../keys\"}")).isInstanceOf(InvalidEventException.class);
    }

    @Test
    void backupVerifiedWithoutOutcomeReadsAsPassedOrCorruptFromOk() {
        String id = "0b0e2a9e-7d3f-4d7e-9a53-2f6c1b9f0c11";
        String failed = "{\"backupId\":\"" + id + "\",\"sourceId\":\"pg-main\",\"level\":\"FULL\",\"ok\":false,"
                + "\"problems\":[\"a: chunk b: missing\"],\"verifiedAt\":\"2026-01-01T00:00:00Z\"}";
        BackupVerified old = (BackupVerified) EventCodec.decodeData(EventType.BACKUP_VERIFIED, failed);
        assertThat(old.outcome()).isEqualTo(BackupVerified.CORRUPT);
        assertThat(old.conclusive()).isTrue();
        BackupVerified passed = (BackupVerified) EventCodec.decodeData(EventType.BACKUP_VERIFIED,
                failed.replace("\"ok\":false", "\"ok\":true"));
        assertThat(passed.outcome()).isEqualTo(BackupVerified.PASSED);
        assertThatThrownBy(() -> EventCodec.decodeData(EventType.BACKUP_VERIFIED,
                failed.replace("}", ",\"outcome\":\"MAYBE\"}")))
                .isInstanceOf(InvalidEventException.class).hasMessageContaining("outcome");
    }

    @Test
    void missingRequiredFieldIsNamedInTheReason() {
        assertThatThrownBy(() -> EventCodec.decode(requestHeaders(), "{\"type\":\"FULL\",\"requestedBy\":\"x\"}"))
                .isInstanceOf(InvalidEventException.class)
                .hasMessageContaining("fails schema").hasMessageContaining("sourceId");
    }

    @Test
    void unknownBackupTypeFailsTheSchema() {
        assertThatThrownBy(() -> EventCodec.decode(requestHeaders(),
                "{\"sourceId\":\"a\",\"type\":\"WEEKLY\",\"requestedBy\":\"x\"}"))
                .isInstanceOf(InvalidEventException.class).hasMessageContaining("type");
    }

    @Test
    void invalidJsonIsRejected() {
        assertThatThrownBy(() -> EventCodec.decode(requestHeaders(), "{oops"))
                .isInstanceOf(InvalidEventException.class).hasMessageContaining("not valid JSON");
    }

    @Test
    void recordWithoutCloudEventHeadersIsRejected() {
        assertThatThrownBy(() -> EventCodec.decode(new RecordHeaders(), "{}"))
                .isInstanceOf(InvalidEventException.class).hasMessageContaining("ce_specversion");
    }

    @Test
    void unknownEventTypeIsRejected() {
        RecordHeaders h = new RecordHeaders();
        h.add(EventCodec.H_SPEC, "1.0".getBytes(StandardCharsets.UTF_8));
        h.add(EventCodec.H_ID, "1".getBytes(StandardCharsets.UTF_8));
        h.add(EventCodec.H_SOURCE, "/x".getBytes(StandardCharsets.UTF_8));
        h.add(EventCodec.H_TYPE, "com.example.other.v1".getBytes(StandardCharsets.UTF_8));
        assertThatThrownBy(() -> EventCodec.decode(h, "{}"))
                .isInstanceOf(InvalidEventException.class).hasMessageContaining("unknown event type");
    }

    @Test
    void derivedIdsAreStableAndDistinct() {
        assertThat(Ids.backupIdForRecord("t", 1, 42)).isEqualTo(Ids.backupIdForRecord("t", 1, 42))
                .isNotEqualTo(Ids.backupIdForRecord("t", 1, 43));
        String b = Ids.backupIdForRecord("t", 0, 0);
        assertThat(Ids.eventId(b, EventType.BACKUP_COMPLETED)).isNotEqualTo(Ids.eventId(b, EventType.BACKUP_FAILED));
        Instant fire = Instant.parse("2026-01-01T02:00:00Z");
        assertThat(Ids.backupIdForSchedule("nightly", fire)).isEqualTo(Ids.backupIdForSchedule("nightly", fire));
    }
}
