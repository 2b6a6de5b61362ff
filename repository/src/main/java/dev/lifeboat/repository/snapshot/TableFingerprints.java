package dev.lifeboat.repository.snapshot;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonInclude;

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

    /**
     * @param hash    order-independent content hash, as text
     * @param rows    exact row count
     * @param columns the columns in the order the dump wrote them, where a restore may give the table another order
     *                (a table that inherits: a restore creates its inherited columns first, then its own); null when
     *                the restored table's own order is the dump's
     * @param file    the dump's file holding the table's rows ({@code <dumpId>.dat}), so that a restore can count
     *                what it feeds pg_restore instead of counting the loaded table; null where a restore may load
     *                that file's rows into other tables (hash partitions), and in backups recorded before
     */
    public record Table(String schema, String name, long rows, String hash,
                        @JsonInclude(JsonInclude.Include.NON_NULL) List<String> columns,
                        @JsonInclude(JsonInclude.Include.NON_NULL) String file) {
        @JsonCreator
        public Table {
            columns = columns == null ? null : List.copyOf(columns);
        }

        public Table(String schema, String name, long rows, String hash, List<String> columns) {
            this(schema, name, rows, hash, columns, null);
        }

        public Table(String schema, String name, long rows, String hash) {
            this(schema, name, rows, hash, null, null);
        }

        /** schema.name, as plans name tables. */
        public String qualified() {
            return schema + "." + name;
        }
    }

    public Optional<Table> table(String schema, String name) {
        return tables.stream().filter(t -> t.schema().equals(schema) && t.name().equals(name)).findFirst();
    }
}
