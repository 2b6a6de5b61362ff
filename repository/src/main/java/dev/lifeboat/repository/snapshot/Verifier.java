package dev.lifeboat.repository.snapshot;

import java.io.UncheckedIOException;
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
        List<CompletableFuture<Optional<VerificationReport.Problem>>> checks = new ArrayList<>();
        Map<Manifest.ChunkRef, String> chunks = manifest.distinctChunks();
        try {
            for (var e : chunks.entrySet()) {
                Manifest.ChunkRef ref = e.getKey();
                String file = e.getValue();
                checks.add(CompletableFuture.supplyAsync(() -> mode == VerificationReport.Mode.QUICK
                        ? checkPresent(manifest, file, ref, bytes)
                        : checkContent(manifest, file, ref, bytes), pool));
            }
            List<VerificationReport.Problem> problems = new ArrayList<>(checks.stream().map(CompletableFuture::join)
                    .flatMap(Optional::stream).toList());
            if (mode == VerificationReport.Mode.QUICK && problems.isEmpty() && !chunks.isEmpty()) {
                checkKey(manifest, chunks).ifPresent(problems::add);
            }
            return new VerificationReport(manifest.backupId(), manifest.chainId(), mode, chunks.size(), bytes.get(),
                    problems, (System.nanoTime() - started) / 1_000_000);
        } finally {
            pool.shutdownNow();
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
    private Optional<VerificationReport.Problem> checkKey(Manifest m, Map<Manifest.ChunkRef, String> chunks) {
        var smallest = chunks.entrySet().stream().min(java.util.Comparator.comparingLong(e -> e.getKey().storedSize()))
                .orElseThrow();
        try {
            // a read error is thrown, not reported: the store being away says nothing about the backup
            ChunkFetcher.fetch(repo, m, smallest.getValue(), smallest.getKey());
            return Optional.empty();
        } catch (CorruptChunkException e) {
            return Optional.of(new VerificationReport.Problem(smallest.getValue(), smallest.getKey().id(),
                    "cannot be decrypted with the repository's key set (" + e.getMessage() + "): the backup was "
                            + "written under another key set or the chunk is damaged"));
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
        } catch (UncheckedIOException e) {
            return Optional.of(new VerificationReport.Problem(file, ref.id(), "unreadable: " + e.getMessage()));
        }
    }
}
