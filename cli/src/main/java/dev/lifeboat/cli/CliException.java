package dev.lifeboat.cli;

/** A failure the CLI reports in one line and maps to its documented exit code ({@link ExitCodes}). */
final class CliException extends RuntimeException {
    private final int exitCode;

    CliException(int exitCode, String message) {
        super(message);
        this.exitCode = exitCode;
    }

    int exitCode() {
        return exitCode;
    }
}
