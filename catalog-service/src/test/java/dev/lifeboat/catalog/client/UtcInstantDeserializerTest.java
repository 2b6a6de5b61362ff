package dev.lifeboat.catalog.client;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.InvalidFormatException;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import org.junit.jupiter.api.Test;

import java.time.DateTimeException;
import java.time.Instant;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

class UtcInstantDeserializerTest {

    @Test
    void readsEveryInstantAsJavaTimeDoes() {
        Random random = new Random(7);
        for (int i = 0; i < 100_000; i++) {
            Instant t = Instant.ofEpochSecond(random.nextLong(-62_000_000_000L, 250_000_000_000L),
                    switch (i % 4) {
                        case 0 -> 0;
                        case 1 -> random.nextInt(1000) * 1_000_000;
                        case 2 -> random.nextInt(1_000_000) * 1000;
                        default -> random.nextInt(1_000_000_000);
                    });
            assertEquals(t, UtcInstantDeserializer.parse(t.toString()), t.toString());
        }
        for (String s : List.of("2026-12-05T03:00:00Z", "2026-12-05T03:00:00.5Z", "2026-12-05T03:00:00.123456789Z",
                "2026-12-05T03:00:00+01:00", "+12026-12-05T03:00:00Z", "2026-12-05T23:59:60Z",
                "2026-12-05T24:00:00Z", "2026-12-05T03:00:00.Z")) {
            assertEquals(Instant.parse(s), UtcInstantDeserializer.parse(s), s);
        }
    }

    @Test
    void refusesWhatJavaTimeRefuses() {
        for (String s : List.of("2026-02-30T03:00:00Z", "2026-13-05T03:00:00Z", "2026-12-05T24:00:01Z",
                "2026-12-05T03:60:00Z", "2026-12-05T03:00:00.1234567890Z",
                "2026-12-0xT03:00:00Z", "20261205T030000Z", "")) {
            assertThrows(DateTimeException.class, () -> UtcInstantDeserializer.parse(s), s);
        }
    }

    @Test
    void aPolicyIsReadWithItsNextRunAndItsOtherFieldsSkipped() throws Exception {
        ObjectMapper json = new ObjectMapper().registerModule(new JavaTimeModule())
                .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);
        SchedulerClient.PolicyInfo p = json.readValue("""
                {"id": "p1", "sourceId": "db-1", "type": "FULL", "schedule": "0 0 * * * ?",
                 "retention": {"keepLast": 3}, "nextRunAt": "2026-12-05T03:00:00.25Z", "rpo": "PT1H", "enabled": true}
                """, SchedulerClient.PolicyInfo.class);
        assertEquals(new SchedulerClient.PolicyInfo("p1", "db-1", "FULL", "PT1H", true,
                Instant.parse("2026-12-05T03:00:00.25Z")), p);
        assertNull(json.readValue("{\"id\": \"p2\", \"nextRunAt\": null}", SchedulerClient.PolicyInfo.class)
                .nextRunAt());
        assertThrows(InvalidFormatException.class, () -> json.readValue(
                "{\"id\": \"p3\", \"nextRunAt\": \"tomorrow\"}", SchedulerClient.PolicyInfo.class));
    }
}
