package dev.lifeboat.cli;

/** The CLI's exit codes, documented in the README and in {@code lifeboat --help}. */
final class ExitCodes {
    /** The command did what was asked (a status with every source within its RPO). */
    static final int OK = 0;
    /**
     * The operation failed: a backup or run ended FAILED, a source is outside its RPO or lacks a privilege or setting
     * it needs (source check), a server error (5xx).
     */
    static final int FAILED = 1;
    /** Wrong usage: unknown command or option, invalid argument. */
    static final int USAGE = 2;
    /** Authentication or authorization: no token, a refused token (401) or a missing role (403). */
    static final int AUTH = 3;
    /** The named thing does not exist (404). */
    static final int NOT_FOUND = 4;
    /**
     * A server is unreachable, answered 503 (one it depends on is away) or did not answer in time; for source check,
     * also the source itself when snapshot-worker cannot connect to it.
     */
    static final int UNREACHABLE = 5;
    /** The server refused the request as invalid or conflicting (400, 409, 413, 422). */
    static final int REFUSED = 6;
    /** The server is running as many of these operations as it allows (429): retry in a few seconds. */
    static final int BUSY = 7;

    private ExitCodes() {
    }
}
