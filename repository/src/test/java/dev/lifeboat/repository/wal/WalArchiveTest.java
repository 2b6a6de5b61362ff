package dev.lifeboat.repository.wal;

import dev.lifeboat.repository.blob.ObjectStore;
import dev.lifeboat.repository.blob.S3ObjectStore;
import dev.lifeboat.repository.blob.S3Settings;
import dev.lifeboat.repository.keys.MasterKey;
import dev.lifeboat.repository.snapshot.Repository;
import dev.lifeboat.testsupport.LocalStack;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.util.Arrays;
import java.util.Optional;
import java.util.Random;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The WAL archive on the real S3-compatible server, with small segments so the test stays quick. */
class WalArchiveTest {
    private static final String BUCKET = "lifeboat-wal-test";
    private static final int SEGMENT = 1024 * 1024;

    private ObjectStore store;
    private String prefix;
    private WalArchive wal;
    private Repository repository;

    @BeforeEach
    void setUp() {
        LocalStack stack = LocalStack.ensureStarted();
        store = S3ObjectStore.connect(new S3Settings(Optional.of(URI.create(stack.s3Endpoint())), "us-east-1", true,
                "local-access-key", "local-secret-key", S3Settings.MIN_PART_SIZE));
        prefix = "wal-" + UUID.randomUUID();
        repository = Repository.init(store, BUCKET, prefix, MasterKey.generate());
        wal = repository.wal(SEGMENT);
    }

    private static byte[] segment(long seed) {
        byte[] b = new byte[SEGMENT];
        new Random(seed).nextBytes(b);
        return b;
    }

    private static String name(int timeline, long number) {
        return WalNames.segmentName(timeline, number, SEGMENT);
    }

    @Test
    void aSegmentComesBackAsStoredAndItsPartialGivesWayToIt() {
        byte[] full = segment(1);
        wal.putPartial(name(1, 7), full, 1000);
        byte[] padded = wal.fetch(name(1, 7)).orElseThrow();
        assertThat(padded).hasSize(SEGMENT);
        assertThat(Arrays.copyOf(padded, 1000)).isEqualTo(Arrays.copyOf(full, 1000));
        assertThat(Arrays.copyOfRange(padded, 1000, SEGMENT)).containsOnly((byte) 0);

        wal.put(name(1, 7), full);
        assertThat(wal.fetch(name(1, 7))).contains(full);
        assertThat(wal.list().partials()).isEmpty();
        assertThat(wal.fetch(name(1, 8))).isEmpty();
        assertThat(wal.fetch("00000002.history")).isEmpty();
    }

    @Test
    void aHoleIsFoundAcrossATimelineSwitch() {
        wal.put(name(1, 3), segment(3));
        wal.put(name(1, 4), segment(4));
        wal.put("00000002.history", "1\t0/5000000\tbefore transaction 900\n".getBytes());
        wal.put(name(2, 5), segment(5));
        wal.putPartial(name(2, 6), segment(6), 4096);
        WalArchive.Continuity whole = wal.continuity(name(1, 3));
        assertThat(whole.unbroken()).isTrue();
        assertThat(whole.lastContiguous()).contains(name(2, 5));
        assertThat(whole.partial()).contains(name(2, 6));

        wal.pruneBefore(name(1, 5), java.time.Instant.now().plusSeconds(60));
        assertThat(wal.list().segments()).containsExactly(name(2, 5));
        assertThat(wal.list().histories()).containsExactly("00000002.history");

        wal.put(name(2, 8), segment(8));
        WalArchive.Continuity broken = wal.continuity(name(2, 5));
        assertThat(broken.unbroken()).isFalse();
        assertThat(broken.lastContiguous()).contains(name(2, 5));
        assertThat(broken.firstMissing()).contains(name(2, 6));
    }

    @Test
    void pruningComparesWalPositionsWhateverSegmentSizeItAssumesAndSparesRecentFiles() {
        // 1 MiB segments: 4096 per "log", so the segment after 00000FFF is 000000010000000100000000
        String beforeBoundary = name(1, 4095);
        String keptFrom = name(2, 4096);
        wal.put(beforeBoundary, segment(1));
        wal.put(name(1, 4096), segment(2));
        wal.put(keptFrom, segment(3));
        wal.putPartial(name(2, 4097), segment(4), 100);
        wal.put(beforeBoundary + ".00000028.backup", "START WAL LOCATION".getBytes());
        wal.put("00000002.history", "1\t0/100000000\tno recovery target specified\n".getBytes());
        assertThat(beforeBoundary).isEqualTo("000000010000000000000FFF");
        assertThat(keptFrom).isEqualTo("000000020000000100000000");

        // the default archive assumes 16 MiB segments (256 per log), where 00000FFF would count as far ahead
        WalArchive assumingDefaultSize = repository.wal();
        WalArchive.Pruned tooRecent = assumingDefaultSize.pruneBefore(keptFrom, java.time.Instant.now().minusSeconds(60));
        assertThat(tooRecent.segments() + tooRecent.backupHistories()).isZero();
        assertThat(tooRecent.keptYoung()).isEqualTo(2);

        WalArchive.Pruned pruned = assumingDefaultSize.pruneBefore(keptFrom, java.time.Instant.now().plusSeconds(60));
        assertThat(pruned.segments()).isEqualTo(1);
        assertThat(pruned.backupHistories()).isEqualTo(1);
        assertThat(pruned.partials()).isZero();
        assertThat(wal.list().segments()).containsExactly(name(1, 4096), keptFrom);
        assertThat(wal.list().partials()).containsExactly(name(2, 4097));
        assertThat(wal.list().histories()).containsExactly("00000002.history");
        assertThat(wal.continuity(keptFrom).unbroken()).isTrue();
    }

    @Test
    void anObjectMovedUnderAnotherNameOrAlteredIsRefused() throws Exception {
        wal.put(name(1, 1), segment(1));
        byte[] stored;
        try (var in = store.open(BUCKET, prefix + "/wal/" + name(1, 1))) {
            stored = in.readAllBytes();
        }
        store.put(BUCKET, prefix + "/wal/" + name(1, 2), stored);
        assertThatThrownBy(() -> wal.fetch(name(1, 2))).isInstanceOf(WalIntegrityException.class)
                .hasMessageContaining(name(1, 2));
        stored[stored.length - 1] ^= 1;
        store.put(BUCKET, prefix + "/wal/" + name(1, 1), stored);
        assertThatThrownBy(() -> wal.fetch(name(1, 1))).isInstanceOf(WalIntegrityException.class);
    }

    @Test
    void namesOutsideWalAreRefused() {
        assertThatThrownBy(() -> wal.fetch("../keys/repository-key.json")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> wal.put(name(1, 1), new byte[10])).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("not " + SEGMENT);
        assertThat(WalNames.parseLsn("16/B374D848")).isEqualTo(0x16B374D848L);
        assertThat(WalNames.formatLsn(0x16B374D848L)).isEqualTo("16/B374D848");
        assertThat(WalNames.segmentOf(1, 0x16B374D848L, 16 * 1024 * 1024)).isEqualTo("0000000100000016000000B3");
    }
}
