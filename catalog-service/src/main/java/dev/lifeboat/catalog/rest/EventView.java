package dev.lifeboat.catalog.rest;

import com.fasterxml.jackson.annotation.JsonRawValue;
import dev.lifeboat.catalog.domain.BackupEvent;
import org.eclipse.microprofile.openapi.annotations.enums.SchemaType;
import org.eclipse.microprofile.openapi.annotations.media.Schema;

import java.time.Instant;

/** One event of a backup's history: its CloudEvents id, type and time, and its data as published. */
public record EventView(
        String id,
        String type,
        Instant time,
        @JsonRawValue @Schema(type = SchemaType.OBJECT, description = "the event data (JSON Schema of its type)")
        String data) {

    static EventView of(BackupEvent e) {
        return new EventView(e.eventId, e.eventType, e.occurredAt, e.data);
    }
}
