package dev.lifeboat.repository.blob;

public class ObjectNotFoundException extends RuntimeException {
    public ObjectNotFoundException(String bucket, String key) {
        super("object s3://" + bucket + "/" + key + " does not exist");
    }
}
