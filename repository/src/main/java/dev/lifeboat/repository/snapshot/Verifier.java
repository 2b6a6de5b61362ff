package dev.lifeboat.repository.snapshot;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Checks a backup against its chain's chunk store. {@link #quick} compares the size of every chunk (from one listing
 * of the chain's chunks) with the manifest and decrypts the smallest one (cheap, after each backup and before each
 * restore: a backup written under a key set the repository does not keep fails here, not at restore); {@link #full} reads, authenticates and hashes every chunk (on demand, on a schedule). Each distinct
 * chunk is checked once; problems name the first file using it.
 */
public final class Verifier {
    private final Repository repo;
    private final int parallelism;

    Verifier(Repository repo, int parallelism) {
        this.repo = repo;
        this.parallelism = parallelism;
    }

    public VerificationReport quick(Manifest manifest) {
        return run(manifest, VerificationReport.Mode.QUICK);
    }

    public VerificationReport full(Manifest manifest) {
        return run(manifest, VerificationReport.Mode.FULL);
    }

    private VerificationReport run(Manifest manifest, VerificationReport.Mode mode) {
        long started = System.nanoTime();
        AtomicLong bytes = new AtomicLong();
        ExecutorService pool = Executors.newFixedThreadPool(parallelism, r -> {
            Thread t = new Thread(r, "verify-" + mode.name().toLowerCase());
            t.setDaemon(true);
            return t;
        });
        List<CompletableFuture<Check>> checks = new ArrayList<>();
        Map<Manifest.ChunkRef, String> chunks = manifest.distinctChunks();
        Map<String, Long> listed = mode == VerificationReport.Mode.QUICK ? listedSizes(manifest, chunks)
                : Map.of();
        try {
            for (var e : chunks.entrySet()) {
                Manifest.ChunkRef ref = e.getKey();
                String file = e.getValue();
                Long size = listed.get(ref.id());
                if (size != null) {
                    checks.add(CompletableFuture.completedFuture(new Check(sizeProblem(file, ref, size, bytes),
                            Optional.empty())));
                    continue;
                }
                checks.add(CompletableFuture.supplyAsync(() -> check(manifest, file, ref, bytes, mode), pool));
            }
            List<Check> done = new ArrayList<>(checks.stream().map(CompletableFuture::join).toList());
            if (mode == VerificationReport.Mode.QUICK && !chunks.isEmpty()
                    && done.stream().allMatch(c -> c.corrupt().isEmpty() && c.unreadable().isEmpty())) {
                done.add(checkKey(manifest, chunks));
            }
            return new VerificationReport(manifest.backupId(), manifest.chainId(), mode, chunks.size(), bytes.get(),
                    done.stream().map(Check::corrupt).flatMap(Optional::stream).toList(),
                    done.stream().map(Check::unreadable).flatMap(Optional::stream).toList(),
                    (System.nanoTime() - started) / 1_000_000);
        } finally {
            pool.shutdownNow();
        }
    }

    /** One chunk's finding: at most one of the two is present. */
    private record Check(Optional<VerificationReport.Problem> corrupt,
                         Optional<VerificationReport.Problem> unreadable) {
    }

    /**
     * Anything but a proven integrity failure (the store unreachable, a 5xx or timeout that outlasted the store's
     * retries, a refused read) leaves the chunk unread, not corrupt.
     */
    private Check check(Manifest m, String file, Manifest.ChunkRef ref, AtomicLong bytes,
                        VerificationReport.Mode mode) {
        try {
            return new Check(mode == VerificationReport.Mode.QUICK ? checkPresent(m, file, ref, bytes)
                    : checkContent(m, file, ref, bytes), Optional.empty());
        } catch (RuntimeException e) {
            return new Check(Optional.empty(), Optional.of(new VerificationReport.Problem(file, ref.id(),
                    "unreadable now: " + e)));
        }
    }

    /**
     * The stored sizes of the backup's chunks, by chunk id, from one listing of the chain's chunk store (a thousand
     * objects per request on S3, where asking each chunk's size is one request per chunk). A chunk the listing does
     * not show is asked for on its own, so that only a store that says so twice makes a chunk missing; a listing that
     * fails leaves every chunk to be asked for on its own.
     */
    private Map<String, Long> listedSizes(Manifest m, Map<Manifest.ChunkRef, String> chunks) {
        if (chunks.isEmpty()) {
            return Map.of();
        }
        Map<String, String> wanted = new java.util.HashMap<>();
        for (Manifest.ChunkRef ref : chunks.keySet()) {
            wanted.put(repo.layout().chunk(m.chainId(), ref.id()), ref.id());
        }
        Map<String, Long> sizes = new java.util.HashMap<>();
        try {
            repo.store().listSizes(repo.bucket(), repo.layout().chunks(m.chainId()), (key, size) -> {
                String id = wanted.get(key);
                if (id != null) {
                    sizes.put(id, size);
                }
            });
        } catch (RuntimeException e) {
            return Map.of();
        }
        return sizes;
    }

    private Optional<VerificationReport.Problem> checkPresent(Manifest m, String file, Manifest.ChunkRef ref,
                                                              AtomicLong bytes) {
        Optional<Long> size = repo.store().size(repo.bucket(), repo.layout().chunk(m.chainId(), ref.id()));
        if (size.isEmpty()) {
            return Optional.of(new VerificationReport.Problem(file, ref.id(), "missing"));
        }
        return sizeProblem(file, ref, size.get(), bytes);
    }

    private static Optional<VerificationReport.Problem> sizeProblem(String file, Manifest.ChunkRef ref, long size,
                                                                    AtomicLong bytes) {
        bytes.addAndGet(size);
        if (ref.storedSize() < 0 || ref.storedSize() > dev.lifeboat.repository.content.ContentCodec.MAX_STORED) {
            return Optional.of(new VerificationReport.Problem(file, ref.id(), "the manifest gives a stored size of "
                    + ref.storedSize() + " bytes, over the " + dev.lifeboat.repository.content.ContentCodec.MAX_STORED
                    + " bytes a chunk can have"));
        }
        if (size != ref.storedSize()) {
            return Optional.of(new VerificationReport.Problem(file, ref.id(), "stored size " + size
                    + " bytes but the manifest says " + ref.storedSize()));
        }
        return Optional.empty();
    }

    /**
     * Every chunk of a backup is encrypted with the one key set its writer held, so one chunk that authenticates
     * under the repository's key set shows the backup was written with it.
     */
    private Check checkKey(Manifest m, Map<Manifest.ChunkRef, String> chunks) {
        var smallest = chunks.entrySet().stream().min(java.util.Comparator.comparingLong(e -> e.getKey().storedSize()))
                .orElseThrow();
        try {
            ChunkFetcher.fetch(repo, m, smallest.getValue(), smallest.getKey());
            return new Check(Optional.empty(), Optional.empty());
        } catch (CorruptChunkException e) {
            return new Check(Optional.of(new VerificationReport.Problem(smallest.getValue(), smallest.getKey().id(),
                    "cannot be decrypted with the repository's key set (" + e.getMessage() + "): the backup was "
                            + "written under another key set or the chunk is damaged")), Optional.empty());
        } catch (RuntimeException e) {
            // the store being away says nothing about the backup
            return new Check(Optional.empty(), Optional.of(new VerificationReport.Problem(smallest.getValue(),
                    smallest.getKey().id(), "unreadable now: " + e)));
        }
    }

    private Optional<VerificationReport.Problem> checkContent(Manifest m, String file, Manifest.ChunkRef ref,
                                                              AtomicLong bytes) {
        try {
            ChunkFetcher.fetch(repo, m, file, ref);
            bytes.addAndGet(ref.storedSize());
            return Optional.empty();
        } catch (CorruptChunkException e) {
            String what = e.getMessage().substring(e.getMessage().indexOf(ref.id()) + ref.id().length() + 2);
            return Optional.of(new VerificationReport.Problem(file, ref.id(), what));
        }
    }
}
