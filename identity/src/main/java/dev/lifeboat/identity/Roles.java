package dev.lifeboat.identity;

import java.util.List;

/**
 * The platform's roles, read from a token's roles claim ({@code groups} unless configured otherwise). Roles do not
 * nest in the token: an operator token carries {@code lifeboat-viewer} and {@code lifeboat-operator}; the resources
 * name every role that may call them.
 */
public final class Roles {
    /** Read the catalog, plans, runs, sources and policies. */
    public static final String VIEWER = "lifeboat-viewer";
    /** Request backups, start drills, verify backups. */
    public static final String OPERATOR = "lifeboat-operator";
    /** Sources, policies, plans, target servers, recovery-mode runs, garbage collection, deletion. */
    public static final String ADMIN = "lifeboat-admin";

    public static final List<String> ALL = List.of(VIEWER, OPERATOR, ADMIN);

    private Roles() {
    }

    /** The roles a token for {@code role} carries: the role and every weaker one. */
    public static List<String> upTo(String role) {
        int i = ALL.indexOf(role);
        if (i < 0) {
            throw new IllegalArgumentException("unknown role '" + role + "'; known: " + ALL);
        }
        return ALL.subList(0, i + 1);
    }
}
