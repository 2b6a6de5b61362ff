package dev.lifeboat.contracts;

import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class BackupsExpiredTest {
    private static final String A = "0b9a3a5e-5d7e-4a4f-9d40-6c3f1f0f8a11";
    private static final String B = "1c9a3a5e-5d7e-4a4f-9d40-6c3f1f0f8a22";

    @Test
    void roundTripsThroughItsSchemaOnTheBackupEventsTopic() {
        BackupsExpired sample = new BackupsExpired("nightly", "pg-main", List.of(A, B),
                "GFS retention 7 daily / 4 weekly / 12 monthly", Instant.parse("2026-11-24T10:15:30Z"));
        EventType type = EventType.of(BackupsExpired.class);
        assertThat(type.ceType()).isEqualTo("dev.lifeboat.backup.expired.v1");
        assertThat(type.topic()).isEqualTo(Topics.BACKUP_EVENTS);
        assertThat(EventCodec.decodeData(type, EventCodec.encodeData(sample))).isEqualTo(sample);

        CloudEvent<?> event = EventCodec.decode(EventCodec.headers(type, "/test", "nightly"), EventCodec.encodeData(sample));
        assertThat(event.data()).isEqualTo(sample);
    }

    @Test
    void emptyOrMalformedBackupListFailsTheSchema() {
        assertThatThrownBy(() -> EventCodec.decodeData(EventType.BACKUPS_EXPIRED, "{\"policyId\":\"p\",\"sourceId\":\"s\","
                + "\"backupIds\":[],\"reason\":\"r\",\"decidedAt\":\"2026-11-24T10:15:30Z\"}"))
                .isInstanceOf(InvalidEventException.class).hasMessageContaining("backupIds");
        assertThatThrownBy(() -> EventCodec.decodeData(EventType.BACKUPS_EXPIRED, "{\"policyId\":\"p\",\"sourceId\":\"s\","
                + "\"backupIds\":[\"not-a-uuid\"],\"reason\":\"r\",\"decidedAt\":\"2026-11-24T10:15:30Z\"}"))
                .isInstanceOf(InvalidEventException.class).hasMessageContaining("fails schema");
    }

    @Test
    void expiryEventIdIgnoresTheOrderOfTheBackups() {
        assertThat(Ids.expiryEventId("nightly", List.of(A, B))).isEqualTo(Ids.expiryEventId("nightly", List.of(B, A)))
                .isNotEqualTo(Ids.expiryEventId("weekly", List.of(A, B)))
                .isNotEqualTo(Ids.expiryEventId("nightly", List.of(A)));
    }
}
