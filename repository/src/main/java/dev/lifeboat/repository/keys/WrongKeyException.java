package dev.lifeboat.repository.keys;

/** The master key given cannot unwrap the repository's key set. */
public class WrongKeyException extends RuntimeException {
    private final String givenKeyId;
    private final String expectedKeyId;

    public WrongKeyException(String location, String givenKeyId, String expectedKeyId) {
        super("master key " + givenKeyId + " does not open the repository at " + location
                + " (its key set is wrapped by master key " + expectedKeyId + ")");
        this.givenKeyId = givenKeyId;
        this.expectedKeyId = expectedKeyId;
    }

    public String givenKeyId() {
        return givenKeyId;
    }

    public String expectedKeyId() {
        return expectedKeyId;
    }
}
