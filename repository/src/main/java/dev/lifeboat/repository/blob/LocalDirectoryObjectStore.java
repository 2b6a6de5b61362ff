package dev.lifeboat.repository.blob;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.util.List;
import java.util.Optional;

/** {@link ObjectStore} on a local directory: one sub-directory per bucket, written through a temp file and an atomic rename. */
public class LocalDirectoryObjectStore implements ObjectStore {
    private final Path root;

    public LocalDirectoryObjectStore(Path root) {
        this.root = root;
    }

    private Path path(String bucket, String key) {
        Path p = root.resolve(bucket).resolve(key).normalize();
        if (!p.startsWith(root.resolve(bucket))) {
            throw new IllegalArgumentException("key escapes its bucket: " + key);
        }
        return p;
    }

    @Override
    public ObjectWriter create(String bucket, String key) {
        Path target = path(bucket, key);
        try {
            Files.createDirectories(target.getParent());
            Path tmp = Files.createTempFile(target.getParent(), ".upload-", ".tmp");
            OutputStream out = Files.newOutputStream(tmp);
            MessageDigest digest = Sha256.newDigest();
            return new ObjectWriter() {
                long total;
                boolean done;


                @Override
                public void write(byte[] b, int off, int len) throws IOException {
                    out.write(b, off, len);
                    digest.update(b, off, len);
                    total += len;
                }

                @Override
                public StoredObject commit() {
                    try {
                        out.close();
                        Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
                    } catch (IOException e) {
                        abort();
                        throw new UncheckedIOException(e);
                    }
                    done = true;
                    return new StoredObject(bucket, key, total, Sha256.hex(digest));
                }

                @Override
                public void abort() {
                    if (done) {
                        return;
                    }
                    done = true;
                    try {
                        out.close();
                        Files.deleteIfExists(tmp);
                    } catch (IOException ignored) {
                        // best effort: a stray temp file is never read as an object
                    }
                }

                @Override
                public void close() {
                    abort();
                }
            };
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void put(String bucket, String key, byte[] content) {
        try (ObjectWriter w = create(bucket, key)) {
            w.write(content);
            w.commit();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Writes a temporary file, then links it under the key: a hard link is never made over an existing file, so of
     * two writers exactly one creates the object, and a reader never sees it half written.
     */
    @Override
    public boolean putIfAbsent(String bucket, String key, byte[] content) {
        Path target = path(bucket, key);
        Path tmp = null;
        try {
            Files.createDirectories(target.getParent());
            tmp = Files.createTempFile(target.getParent(), ".upload-", ".tmp");
            Files.write(tmp, content);
            Files.createLink(target, tmp);
            return true;
        } catch (java.nio.file.FileAlreadyExistsException e) {
            return false;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create " + target + ": " + e.getMessage(), e);
        } finally {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // a stray temp file is never read as an object
                }
            }
        }
    }

    @Override
    public InputStream open(String bucket, String key) {
        try {
            return Files.newInputStream(path(bucket, key));
        } catch (NoSuchFileException e) {
            throw new ObjectNotFoundException(bucket, key);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public Optional<Long> size(String bucket, String key) {
        Path p = path(bucket, key);
        try {
            return Files.isRegularFile(p) ? Optional.of(Files.size(p)) : Optional.empty();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public Optional<ObjectInfo> stat(String bucket, String key) {
        Path p = path(bucket, key);
        try {
            BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class);
            return a.isRegularFile() ? Optional.of(new ObjectInfo(a.size(), a.lastModifiedTime().toInstant()))
                    : Optional.empty();
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public List<String> list(String bucket, String prefix) {
        Path base = root.resolve(bucket);
        if (!Files.isDirectory(base)) {
            return List.of();
        }
        List<String> keys = new java.util.ArrayList<>();
        try {
            // a walk, not Files.walk: uploads (temp files renamed away) and deletes run while we list, and an entry
            // that vanished between the directory read and its visit is simply not there any more
            Files.walkFileTree(base, new java.nio.file.SimpleFileVisitor<>() {
                @Override
                public java.nio.file.FileVisitResult visitFile(Path p, BasicFileAttributes attrs) {
                    if (attrs.isRegularFile() && !p.getFileName().toString().startsWith(".upload-")) {
                        String key = base.relativize(p).toString().replace('\\', '/');
                        if (key.startsWith(prefix)) {
                            keys.add(key);
                        }
                    }
                    return java.nio.file.FileVisitResult.CONTINUE;
                }

                @Override
                public java.nio.file.FileVisitResult visitFileFailed(Path p, IOException e) throws IOException {
                    if (e instanceof NoSuchFileException) {
                        return java.nio.file.FileVisitResult.CONTINUE;
                    }
                    throw e;
                }
            });
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        keys.sort(null);
        return keys;
    }

    @Override
    public void delete(String bucket, String key) {
        try {
            Files.deleteIfExists(path(bucket, key));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void ensureBucket(String bucket) {
        try {
            Files.createDirectories(root.resolve(bucket));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void ping() {
        if (!Files.isDirectory(root)) {
            throw new IllegalStateException("object store directory " + root + " does not exist");
        }
    }
}
