package dev.lifeboat.kit.pg;

import java.util.Arrays;
import java.util.Optional;

/**
 * libpq's sslmode for the connections a worker makes to a source, spelled as libpq and pgJDBC spell it.
 * The default is {@link #REQUIRE}: the password never crosses the network in the clear, and a server without TLS is
 * refused instead of silently accepted (what {@code prefer} does, and what an attacker in the path can force).
 * Only {@link #VERIFY_FULL} (or {@link #VERIFY_CA}) with a CA reference also proves the server is the right one.
 */
public enum SslMode {
    DISABLE("disable"), ALLOW("allow"), PREFER("prefer"), REQUIRE("require"), VERIFY_CA("verify-ca"),
    VERIFY_FULL("verify-full");

    public static final SslMode DEFAULT = REQUIRE;
    public static final String PATTERN = "^(disable|allow|prefer|require|verify-ca|verify-full)$";

    private final String value;

    SslMode(String value) {
        this.value = value;
    }

    public String value() {
        return value;
    }

    /** verify-ca and verify-full check the server's certificate, so they need the CA to check it against. */
    public boolean verifiesServer() {
        return this == VERIFY_CA || this == VERIFY_FULL;
    }

    public static Optional<SslMode> of(String value) {
        return Arrays.stream(values()).filter(m -> m.value.equals(value)).findFirst();
    }

    /** The mode named, the default when none is. */
    public static SslMode parse(String value) {
        if (value == null || value.isBlank()) {
            return DEFAULT;
        }
        return of(value).orElseThrow(() -> new IllegalArgumentException("sslmode '" + value + "' is not one of "
                + "disable, allow, prefer, require, verify-ca, verify-full"));
    }

    @Override
    public String toString() {
        return value;
    }
}
