package dev.lifeboat.snapshot.service;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** The start-up warm-up really backs up and restores its made-up rows, and leaves nothing behind. */
class DataPathWarmupTest {

    @Test
    void backsUpAndRestoresEveryByteThenRemovesItsRepository(@TempDir Path spool) throws Exception {
        Path dir = spool.resolve("warmup-test");
        DataPathWarmup.Result r = DataPathWarmup.run(dir, 8L << 20);
        assertThat(r.bytes()).isEqualTo(8L << 20);
        assertThat(r.restoredBytes()).isEqualTo(r.bytes());
        // 8 MiB: 256 PUT and GET pairs through the S3 client, a HEAD and a missing-key GET in every eighth round
        assertThat(DataPathWarmup.objectStoreRounds(8L << 20)).isEqualTo(256);
        assertThat(r.objectStoreRequests()).isEqualTo(256 * 2 + 32 * 2);
        assertThat(DataPathWarmup.objectStoreRounds(64L << 20)).isEqualTo(2000);
        assertThat(dir).doesNotExist();
    }

    @Test
    void theMadeUpRowsAreTextRowsOfTheAskedLengthAndVary() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (DataPathWarmup.Rows rows = new DataPathWarmup.Rows(100_000, 7)) {
            rows.transferTo(out);
        }
        String text = out.toString(java.nio.charset.StandardCharsets.US_ASCII);
        assertThat(out.size()).isEqualTo(100_000);
        String[] lines = text.split("\n");
        assertThat(lines.length).isGreaterThan(500);
        assertThat(lines[0].split("\t")).hasSize(6);
        assertThat(java.util.Arrays.stream(lines).distinct().count()).isEqualTo(lines.length);
    }
}
