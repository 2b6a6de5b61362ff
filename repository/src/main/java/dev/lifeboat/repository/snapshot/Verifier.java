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
 * Checks a backup against its chain's chunk store. {@link #quick} asks the size of every chunk and decrypts the
 * smallest one (cheap, after each backup: a backup written under a key set the repository does not keep fails here,
 * not at restore); {@link #full} reads, authenticates and hashes every chunk (on demand, on a schedule). Each distinct
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
        try {
            for (var e : chunks.entrySet()) {
                Manifest.ChunkRef ref = e.getKey();
                String file = e.getValue();
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

    private Optional<VerificationReport.Problem> checkPresent(Manifest m, String file, Manifest.ChunkRef ref,
                                                              AtomicLong bytes) {
        Optional<Long> size = repo.store().size(repo.bucket(), repo.layout().chunk(m.chainId(), ref.id()));
        if (size.isEmpty()) {
            return Optional.of(new VerificationReport.Problem(file, ref.id(), "missing"));
        }
        bytes.addAndGet(size.get());
        if (size.get() != ref.storedSize()) {
            return Optional.of(new VerificationReport.Problem(file, ref.id(), "stored size " + size.get()
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
