package dev.lifeboat.repository.snapshot;

import java.util.List;
import java.util.Optional;

/**
 * Row count and content hash of every table of a backed-up database, taken in the snapshot the dump was taken in,
 * so that a restore can be compared with the source as it was backed up. Kept in the manifest sealed under the
 * repository's data key (see {@link Repository#tableFingerprints(Manifest)}): whoever can write to the bucket but
 * does not hold the key can neither read nor forge them.
 *
 * @param method how {@code hash} was computed (e.g. {@code copy-md5-sum64-v2}, see {@link CopyRows}); a verifier
 *               computing another way must not compare
 */
public record TableFingerprints(String method, List<Table> tables) {
    public TableFingerprints {
        tables = List.copyOf(tables);
    }

    /** @param hash order-independent content hash, as text; @param rows exact row count */
    public record Table(String schema, String name, long rows, String hash) {
        /** schema.name, as plans name tables. */
        public String qualified() {
            return schema + "." + name;
        }
    }

    public Optional<Table> table(String schema, String name) {
        return tables.stream().filter(t -> t.schema().equals(schema) && t.name().equals(name)).findFirst();
    }
}
