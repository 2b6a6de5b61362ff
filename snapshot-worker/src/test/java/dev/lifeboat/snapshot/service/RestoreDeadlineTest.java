package dev.lifeboat.snapshot.service;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.time.Instant;

import dev.lifeboat.contracts.recovery.RestoreCluster;
import org.junit.jupiter.api.Test;

/** A base backup's extraction stops at the RestoreCluster command's deadline, at the next read. */
class RestoreDeadlineTest {

    @Test
    void readsGoOnUntilTheDeadlineAndFailNamingItOnceItPassed() throws Exception {
        byte[] data = new byte[64];
        InputStream open = ClusterRestorer.untilDeadline(command(Instant.now().plusSeconds(60)),
                new ByteArrayInputStream(data), "extracting base.tar");
        assertThat(open.readAllBytes()).hasSize(64);

        Instant passed = Instant.now().minusMillis(1);
        InputStream late = ClusterRestorer.untilDeadline(command(passed), new ByteArrayInputStream(data),
                "extracting base.tar");
        assertThatThrownBy(() -> late.read(new byte[8], 0, 8)).isInstanceOf(IOException.class)
                .hasMessage("RestoreCluster cmd-1 passed its deadline " + passed
                        + " while extracting base.tar; stopped (the run has moved on)");
        assertThatThrownBy(late::read).isInstanceOf(IOException.class);

        InputStream unbounded = new ByteArrayInputStream(data);
        assertThat(ClusterRestorer.untilDeadline(command(null), unbounded, "x")).isSameAs(unbounded);
    }

    private static RestoreCluster command(Instant deadline) {
        return new RestoreCluster("cmd-1", "run-1", 0, null, null, null, deadline);
    }
}
