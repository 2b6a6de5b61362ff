package dev.lifeboat.repository.cli;

import dev.lifeboat.repository.blob.ObjectStore;
import dev.lifeboat.repository.blob.RetryingObjectStore;
import dev.lifeboat.repository.blob.S3ObjectStore;
import dev.lifeboat.repository.blob.S3Settings;
import dev.lifeboat.repository.keys.MasterKey;
import dev.lifeboat.repository.keys.WrongKeyException;
import dev.lifeboat.repository.snapshot.CorruptChunkException;
import dev.lifeboat.repository.snapshot.Manifest;
import dev.lifeboat.repository.snapshot.ManifestMismatchException;
import dev.lifeboat.repository.snapshot.Repository;

import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * Restores one backup from a repository into a local directory (the pg_dump directory it was taken from), from the
 * command line, without any service running. The object store and the master key come from the environment, as for
 * the workers: {@code S3_ENDPOINT}, {@code S3_ACCESS_KEY}, {@code S3_SECRET_KEY}, {@code S3_REGION},
 * {@code LIFEBOAT_MASTER_KEY} (base64) or {@code LIFEBOAT_MASTER_KEY_FILE}. Every chunk is authenticated on the way.
 *
 * <pre>
 * RestoreCommand --bucket B --prefix P --backup ID [--chain C] [--sha256 H] --target DIR
 * RestoreCommand --bucket B --manifest-key K [--sha256 H] --target DIR     (K as the catalog's location.manifestKey)
 * </pre>
 *
 * With {@code --sha256} (the catalog entry's {@code sha256}: the manifest's hash, checked when the backup was sealed),
 * the manifest is restored only if its bytes still have that hash and name that backup: one replaced in the bucket
 * (an older backup's, say) is refused with exit 5. Without it, the bucket's manifest is taken as it is.
 *
 * Exit codes: 0 restored, 2 usage, 3 backup or repository not found, 4 wrong master key, 5 corrupt data, 1 other.
 * The last line on standard output is machine-readable: {@code restored backup=... bytes=... files=... seconds=...}.
 */
public final class RestoreCommand {
    static final int OK = 0, FAILED = 1, USAGE = 2, NOT_FOUND = 3, WRONG_KEY = 4, CORRUPT = 5;
    private static final String CHAINS = "/chains/";
    private static final String MANIFESTS = "/manifests/";

    private final Map<String, String> env;
    private final PrintStream out;
    private final PrintStream err;

    RestoreCommand(Map<String, String> env, PrintStream out, PrintStream err) {
        this.env = env;
        this.out = out;
        this.err = err;
    }

    public static void main(String[] args) {
        System.exit(new RestoreCommand(System.getenv(), System.out, System.err).run(args));
    }

    /** Failures the user can act on: printed as one line, with an exit code. */
    static final class CommandException extends RuntimeException {
        final int exitCode;

        CommandException(int exitCode, String message) {
            super(message);
            this.exitCode = exitCode;
        }
    }

    int run(String[] args) {
        try {
            Map<String, String> opts = parse(args);
            restore(opts);
            return OK;
        } catch (CommandException e) {
            err.println("restore: " + e.getMessage());
            if (e.exitCode == USAGE) {
                err.println(usage());
            }
            return e.exitCode;
        } catch (WrongKeyException e) {
            err.println("restore: wrong master key: " + e.getMessage());
            return WRONG_KEY;
        } catch (CorruptChunkException e) {
            err.println("restore: corrupt backup data: " + e.getMessage());
            return CORRUPT;
        } catch (IOException | RuntimeException e) {
            err.println("restore: " + e.getClass().getSimpleName() + ": " + e.getMessage());
            return FAILED;
        }
    }

    private void restore(Map<String, String> opts) throws IOException {
        String bucket = required(opts, "bucket");
        Path target = Path.of(required(opts, "target"));
        String prefix;
        String backupId;
        Optional<String> chain;
        if (opts.containsKey("manifest-key")) {
            String key = opts.get("manifest-key");
            int c = key.lastIndexOf(CHAINS);
            int m = key.lastIndexOf(MANIFESTS);
            if (c < 0 || m < c || !key.endsWith(".json")) {
                throw new CommandException(USAGE, "--manifest-key '" + key
                        + "' is not <prefix>/chains/<chainId>/manifests/<backupId>.json");
            }
            prefix = key.substring(0, c);
            chain = Optional.of(key.substring(c + CHAINS.length(), m));
            backupId = key.substring(m + MANIFESTS.length(), key.length() - ".json".length());
        } else {
            prefix = required(opts, "prefix");
            backupId = required(opts, "backup");
            chain = Optional.ofNullable(opts.get("chain"));
        }
        if (Files.exists(target) && !isEmptyDirectory(target)) {
            throw new CommandException(USAGE, "target " + target + " exists and is not an empty directory");
        }

        MasterKey key = masterKey();
        try (S3ObjectStore s3 = S3ObjectStore.connect(s3Settings())) {
            ObjectStore store = new RetryingObjectStore(s3);
            long t0 = System.nanoTime();
            Repository repo;
            try {
                repo = Repository.open(store, bucket, prefix, key);
            } catch (IllegalStateException e) {
                throw new CommandException(NOT_FOUND, e.getMessage());
            }
            Manifest manifest = find(repo, chain, backupId);
            Optional<String> sealed = Optional.ofNullable(opts.get("sha256"));
            if (sealed.isPresent()) {
                if (!sealed.get().matches("[0-9a-fA-F]{64}")) {
                    throw new CommandException(USAGE, "--sha256 '" + sealed.get() + "' is not 64 hex digits");
                }
                try {
                    manifest = repo.sealedManifest(manifest.chainId(), backupId, sealed.get()).orElseThrow(() ->
                            new CommandException(NOT_FOUND, "backup " + backupId + " disappeared from "
                                    + repo.location()));
                } catch (ManifestMismatchException e) {
                    throw new CommandException(CORRUPT, e.getMessage());
                }
            }
            out.printf(Locale.ROOT, "restoring backup %s (%s, chain %s, %d files, %d bytes) from %s into %s%n",
                    manifest.backupId(), manifest.type(), manifest.chainId(), manifest.files().size(),
                    manifest.totalSize(), repo.location(), target);
            repo.reader().restore(manifest, target);
            double seconds = (System.nanoTime() - t0) / 1e9;
            out.printf(Locale.ROOT, "restored backup=%s type=%s files=%d bytes=%d seconds=%.2f%n", manifest.backupId(),
                    manifest.type(), manifest.files().size(), manifest.totalSize(), seconds);
        }
    }

    private static Manifest find(Repository repo, Optional<String> chain, String backupId) {
        if (chain.isPresent()) {
            return repo.manifest(chain.get(), backupId).orElseThrow(() -> new CommandException(NOT_FOUND,
                    "backup " + backupId + " not found in chain " + chain.get() + " of " + repo.location()));
        }
        List<String> chains = repo.chains();
        for (int i = chains.size() - 1; i >= 0; i--) {
            Optional<Manifest> m = repo.manifest(chains.get(i), backupId);
            if (m.isPresent()) {
                return m.get();
            }
        }
        throw new CommandException(NOT_FOUND, "backup " + backupId + " not found in any of the " + chains.size()
                + " chains of " + repo.location() + " (no sealed manifest: never written, or expired)");
    }

    private MasterKey masterKey() {
        String file = env.get("LIFEBOAT_MASTER_KEY_FILE");
        if (file != null && !file.isBlank()) {
            try {
                return MasterKey.fromFile(Path.of(file));
            } catch (RuntimeException e) {
                throw new CommandException(WRONG_KEY, "LIFEBOAT_MASTER_KEY_FILE: " + e.getMessage());
            }
        }
        String value = env.get("LIFEBOAT_MASTER_KEY");
        if (value == null || value.isBlank()) {
            throw new CommandException(USAGE, "no master key: set LIFEBOAT_MASTER_KEY (base64 of 32 bytes) or "
                    + "LIFEBOAT_MASTER_KEY_FILE");
        }
        try {
            return MasterKey.fromBase64(value);
        } catch (IllegalArgumentException e) {
            throw new CommandException(WRONG_KEY, "LIFEBOAT_MASTER_KEY: " + e.getMessage());
        }
    }

    private S3Settings s3Settings() {
        String endpoint = env.getOrDefault("S3_ENDPOINT", "http://127.0.0.1:9000");
        return new S3Settings(endpoint.isBlank() ? Optional.empty() : Optional.of(URI.create(endpoint)),
                env.getOrDefault("S3_REGION", "us-east-1"), true,
                env.getOrDefault("S3_ACCESS_KEY", "local-access-key"), env.getOrDefault("S3_SECRET_KEY", "local-secret-key"),
                S3Settings.MIN_PART_SIZE);
    }

    private static boolean isEmptyDirectory(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return false;
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.findAny().isEmpty();
        }
    }

    private static Map<String, String> parse(String[] args) {
        Map<String, String> opts = new HashMap<>();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (!a.startsWith("--") || i + 1 >= args.length) {
                throw new CommandException(USAGE, "unexpected argument '" + a + "'");
            }
            String name = a.substring(2);
            if (!List.of("bucket", "prefix", "backup", "chain", "target", "manifest-key", "sha256").contains(name)) {
                throw new CommandException(USAGE, "unknown option " + a);
            }
            opts.put(name, args[++i]);
        }
        return opts;
    }

    private static String required(Map<String, String> opts, String name) {
        String v = opts.get(name);
        if (v == null || v.isBlank()) {
            throw new CommandException(USAGE, "missing --" + name);
        }
        return v;
    }

    static String usage() {
        return """
                usage: RestoreCommand --bucket B --prefix P --backup ID [--chain C] [--sha256 H] --target DIR
                       RestoreCommand --bucket B --manifest-key K [--sha256 H] --target DIR
                --sha256: the catalog entry's sha256; a manifest that no longer has it is refused
                environment: S3_ENDPOINT S3_ACCESS_KEY S3_SECRET_KEY S3_REGION, LIFEBOAT_MASTER_KEY or LIFEBOAT_MASTER_KEY_FILE""";
    }
}
