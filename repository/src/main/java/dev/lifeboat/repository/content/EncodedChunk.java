package dev.lifeboat.repository.content;

/** A chunk ready to store: its id (keyed hash of the plaintext), plaintext size, and the stored bytes. */
public record EncodedChunk(String id, int size, byte[] stored) {
}
