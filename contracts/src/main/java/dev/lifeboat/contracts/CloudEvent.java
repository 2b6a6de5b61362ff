package dev.lifeboat.contracts;

import java.time.Instant;

/** A CloudEvents 1.0 envelope (binary mode: attributes in ce_ headers, data in the record value). */
public record CloudEvent<T>(String id, EventType type, String source, String subject, Instant time, T data) {
}
