package dev.lifeboat.snapshot.domain;

/** A backup that cannot go on, with the stage and a reason written for the person who has to fix it. */
public class BackupFailure extends RuntimeException {
    private final String stage;

    public BackupFailure(String stage, String reason) {
        super(reason);
        this.stage = stage;
    }

    public BackupFailure(String stage, String reason, Throwable cause) {
        super(reason, cause);
        this.stage = stage;
    }

    public String stage() {
        return stage;
    }
}
