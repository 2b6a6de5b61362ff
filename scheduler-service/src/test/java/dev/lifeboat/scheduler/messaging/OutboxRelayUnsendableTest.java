package dev.lifeboat.scheduler.messaging;

import dev.lifeboat.contracts.Topics;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.junit.jupiter.api.Test;

import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/** Which send failures set an outbox row aside: only the row's own, never the broker's or the configuration's. */
class OutboxRelayUnsendableTest {
    @Test
    void onlyARowLargerThanAnyTheServiceWritesAndRefusedAsTooLargeIsSetAside() {
        RuntimeException tooLarge = new IllegalStateException("send failed",
                new RecordTooLargeException("The message is 1200475 bytes when serialized"));
        assertThat(OutboxRelay.unsendable(tooLarge, OutboxRelay.LARGEST_ROW + 1)).isTrue();
        // a limit set below the usual rows: every row would fail so, each waits for the fix
        assertThat(OutboxRelay.unsendable(tooLarge, 300)).isFalse();
        // the broker away or refusing the service fails every row alike
        assertThat(OutboxRelay.unsendable(new TopicAuthorizationException(Set.of(Topics.BACKUP_REQUESTED)),
                OutboxRelay.LARGEST_ROW + 1)).isFalse();
        assertThat(OutboxRelay.unsendable(new TimeoutException("Expiring 1 record(s)"), OutboxRelay.LARGEST_ROW + 1))
                .isFalse();
    }
}
