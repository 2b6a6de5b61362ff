package dev.lifeboat.repository.blob;

/** An object as written: its location, size in bytes and hex SHA-256 of its content. */
public record StoredObject(String bucket, String key, long sizeBytes, String sha256) {
}
