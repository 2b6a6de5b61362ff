package dev.lifeboat.repository.blob;

import java.io.InputStream;
import java.util.List;
import java.util.Optional;

/** An object store that passes every call to another: a test overrides the calls it watches or changes. */
public abstract class ForwardingObjectStore implements ObjectStore {
    protected final ObjectStore delegate;

    protected ForwardingObjectStore(ObjectStore delegate) {
        this.delegate = delegate;
    }

    @Override
    public ObjectWriter create(String bucket, String key) {
        return delegate.create(bucket, key);
    }

    @Override
    public void put(String bucket, String key, byte[] content) {
        delegate.put(bucket, key, content);
    }

    @Override
    public boolean putIfAbsent(String bucket, String key, byte[] content) {
        return delegate.putIfAbsent(bucket, key, content);
    }

    @Override
    public InputStream open(String bucket, String key) {
        return delegate.open(bucket, key);
    }

    @Override
    public Optional<Long> size(String bucket, String key) {
        return delegate.size(bucket, key);
    }

    @Override
    public Optional<ObjectInfo> stat(String bucket, String key) {
        return delegate.stat(bucket, key);
    }

    @Override
    public List<String> list(String bucket, String prefix) {
        return delegate.list(bucket, prefix);
    }

    @Override
    public void delete(String bucket, String key) {
        delegate.delete(bucket, key);
    }

    @Override
    public void ensureBucket(String bucket) {
        delegate.ensureBucket(bucket);
    }

    @Override
    public void ping() {
        delegate.ping();
    }
}
