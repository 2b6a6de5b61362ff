package dev.lifeboat.kit.secrets;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * Where a secret reference may point, checked when a reference is registered and again when it is used.
 * <ul>
 * <li>{@code env:NAME}: NAME starts with the configured prefix ({@value #DEFAULT_ENV_PREFIX} by default) and is
 * none of the platform's own variables;</li>
 * <li>{@code file:/path}: a regular file of at most {@value #MAX_SECRET_BYTES} bytes inside a configured secret
 * directory, after symbolic links and {@code ..} are resolved, and not one of the platform's own secret files
 * (same path or same inode, so a hard link is caught too).</li>
 * </ul>
 * Registration may run on another machine than the worker, so {@link #checkReference} looks at the reference alone
 * (syntax, prefix, path inside a directory); {@link #resolve} checks everything against the real file system.
 * Messages name the reference and the rule, never a value.
 */
public final class SecretPolicy {
    public static final String DEFAULT_ENV_PREFIX = "LIFEBOAT_SECRET_";
    /** At least three characters and a trailing underscore: never empty, never a prefix of everything. */
    public static final String ENV_PREFIX_PATTERN = "^[A-Z][A-Z0-9_]{2,}_$";
    public static final String ENV_PREFIX_RULE = "lifeboat.secrets.env-prefix must be upper-case letters, digits and "
            + "underscores, at least 4 characters, ending with '_' (default " + DEFAULT_ENV_PREFIX + ")";
    public static final int MAX_SECRET_BYTES = 4096;
    /** A CA bundle holds a few certificates, more than a password file. */
    public static final int MAX_CERTIFICATE_BYTES = 65536;
    private static final Pattern PREFIX = Pattern.compile(ENV_PREFIX_PATTERN);

    private final String envPrefix;
    private final List<Path> directories;
    private final List<Path> platformFiles;
    private final Set<String> platformEnv;
    private final Function<String, String> environment;

    /**
     * @param environment how {@code env:} references are read ({@code System::getenv} in services)
     */
    public SecretPolicy(String envPrefix, Collection<Path> directories, Collection<Path> platformFiles,
                        Collection<String> platformEnv, Function<String, String> environment) {
        if (envPrefix == null || !PREFIX.matcher(envPrefix).matches()) {
            throw new IllegalArgumentException(ENV_PREFIX_RULE + "; got '" + envPrefix + "'");
        }
        for (String name : platformEnv) {
            if (name.startsWith(envPrefix)) {
                throw new IllegalArgumentException("lifeboat.secrets.env-prefix '" + envPrefix + "' covers the "
                        + "platform's own variable " + name + "; choose a prefix that names only source secrets");
            }
        }
        this.envPrefix = envPrefix;
        this.directories = directories.stream().map(p -> p.toAbsolutePath().normalize()).toList();
        if (this.directories.isEmpty()) {
            throw new IllegalArgumentException("lifeboat.secrets.directories is empty: file: references need at "
                    + "least one secret directory");
        }
        this.platformFiles = platformFiles.stream().filter(Objects::nonNull).map(p -> p.toAbsolutePath().normalize())
                .distinct().toList();
        this.platformEnv = Set.copyOf(platformEnv);
        this.environment = environment;
    }

    /** Thrown when a reference breaks a rule; the message names the reference and the rule, never a value. */
    public static final class Refused extends IllegalArgumentException {
        public Refused(String message) {
            super(message);
        }
    }

    public String envPrefix() {
        return envPrefix;
    }

    public List<Path> directories() {
        return directories;
    }

    /** Registration check of a password reference ({@code env:} or {@code file:}), without touching files. */
    public SecretReference checkReference(String field, String ref) {
        SecretReference r = parse(field, ref);
        if (r.scheme().equals("env")) {
            checkEnvName(field, r);
        } else {
            lexicalPath(field, r);
        }
        return r;
    }

    /** Registration check of a reference that must name a file (a CA certificate), without touching files. */
    public SecretReference checkFileReference(String field, String ref) {
        SecretReference r = parse(field, ref);
        if (!r.scheme().equals("file")) {
            throw new Refused(field + " '" + ref + "' refused: it must be file:/path of a file inside "
                    + dirs() + " (lifeboat.secrets.directories)");
        }
        lexicalPath(field, r);
        return r;
    }

    /** The secret behind a password reference, after every rule is checked on this machine. */
    public String resolve(String field, String ref) {
        SecretReference r = checkReference(field, ref);
        if (r.scheme().equals("env")) {
            String v = environment.apply(r.name());
            if (v == null) {
                throw new Refused(field + " '" + ref + "' cannot be resolved: environment variable " + r.name()
                        + " is not set in this process's environment");
            }
            if (v.getBytes(StandardCharsets.UTF_8).length > MAX_SECRET_BYTES) {
                throw new Refused(field + " '" + ref + "' refused: the value is larger than " + MAX_SECRET_BYTES
                        + " bytes");
            }
            return nonEmpty(field, ref, v);
        }
        byte[] bytes = read(field, r, MAX_SECRET_BYTES);
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw new Refused(field + " '" + ref + "' refused: the file is not UTF-8 text");
        }
        return nonEmpty(field, ref, text.replaceAll("[\r\n]+$", ""));
    }

    /** The bytes of a file reference (a CA certificate), after every rule is checked on this machine. */
    public byte[] readFile(String field, String ref, int maxBytes) {
        return read(field, checkFileReference(field, ref), maxBytes);
    }

    private static String nonEmpty(String field, String ref, String v) {
        if (v.isEmpty() || v.indexOf('\0') >= 0) {
            throw new Refused(field + " '" + ref + "' refused: the secret is empty or contains a NUL character");
        }
        return v;
    }

    private static SecretReference parse(String field, String ref) {
        try {
            return SecretReference.parse(ref);
        } catch (IllegalArgumentException e) {
            throw new Refused(field + ": " + e.getMessage());
        }
    }

    private void checkEnvName(String field, SecretReference r) {
        if (!r.name().startsWith(envPrefix) || r.name().length() == envPrefix.length()) {
            throw new Refused(field + " '" + r + "' refused: environment variables must be named " + envPrefix
                    + "<NAME> (lifeboat.secrets.env-prefix)");
        }
        if (platformEnv.contains(r.name())) {
            throw new Refused(field + " '" + r + "' refused: " + r.name() + " holds one of the platform's own "
                    + "secrets");
        }
    }

    /** The path as written, normalized ({@code ..} removed), inside a directory and not a platform file. */
    private Path lexicalPath(String field, SecretReference r) {
        Path p;
        try {
            p = Path.of(r.name()).normalize();
        } catch (InvalidPathException e) {
            throw new Refused(field + " '" + r + "' refused: not a valid file path");
        }
        if (!p.isAbsolute() || directories.stream().noneMatch(d -> p.startsWith(d) && !p.equals(d))) {
            throw new Refused(field + " '" + r + "' refused: files must lie inside " + dirs()
                    + " (lifeboat.secrets.directories)");
        }
        if (platformFiles.contains(p)) {
            throw new Refused(field + " '" + r + "' refused: the file holds one of the platform's own secrets");
        }
        return p;
    }

    private byte[] read(String field, SecretReference r, int maxBytes) {
        Path p = lexicalPath(field, r);
        Path real;
        try {
            real = p.toRealPath();
        } catch (NoSuchFileException e) {
            throw new Refused(field + " '" + r + "' cannot be resolved: the file does not exist on this worker");
        } catch (IOException e) {
            throw new Refused(field + " '" + r + "' cannot be resolved: " + e.getClass().getSimpleName());
        }
        if (realDirectories().stream().noneMatch(d -> real.startsWith(d) && !real.equals(d))) {
            throw new Refused(field + " '" + r + "' refused: following its links, the file lies outside " + dirs()
                    + " (lifeboat.secrets.directories)");
        }
        BasicFileAttributes attrs = attributes(field, r, real);
        // checked before any open: opening a FIFO blocks until a writer comes, a device may never end
        if (!attrs.isRegularFile()) {
            throw new Refused(field + " '" + r + "' refused: not a regular file (a directory, device, socket or pipe)");
        }
        if (attrs.size() > maxBytes) {
            throw new Refused(field + " '" + r + "' refused: the file is larger than " + maxBytes + " bytes");
        }
        if (isPlatformFile(real, attrs)) {
            throw new Refused(field + " '" + r + "' refused: the file holds one of the platform's own secrets");
        }
        byte[] bytes;
        try (InputStream in = Files.newInputStream(real, LinkOption.NOFOLLOW_LINKS)) {
            bytes = in.readNBytes(maxBytes + 1);
        } catch (IOException e) {
            throw new Refused(field + " '" + r + "' cannot be read: " + e.getClass().getSimpleName());
        }
        if (bytes.length > maxBytes) {
            throw new Refused(field + " '" + r + "' refused: the file is larger than " + maxBytes + " bytes");
        }
        return bytes;
    }

    private static BasicFileAttributes attributes(String field, SecretReference r, Path real) {
        try {
            return Files.readAttributes(real, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (IOException e) {
            throw new Refused(field + " '" + r + "' cannot be resolved: " + e.getClass().getSimpleName());
        }
    }

    private boolean isPlatformFile(Path real, BasicFileAttributes attrs) {
        for (Path f : platformFiles) {
            try {
                Path other = f.toRealPath();
                if (other.equals(real)) {
                    return true;
                }
                Object key = Files.readAttributes(other, BasicFileAttributes.class).fileKey();
                if (key != null && key.equals(attrs.fileKey())) {
                    return true;
                }
            } catch (IOException e) {
                // a platform file that does not exist here cannot be the file being read
            }
        }
        return false;
    }

    private List<Path> realDirectories() {
        List<Path> real = new ArrayList<>();
        for (Path d : directories) {
            try {
                real.add(d.toRealPath());
            } catch (IOException e) {
                // a directory missing on this machine holds nothing to resolve
            }
        }
        return real;
    }

    private String dirs() {
        return directories.stream().map(Path::toString).toList().toString();
    }

    static Optional<Path> pathOf(String value) {
        if (value == null || value.isBlank()) {
            return Optional.empty();
        }
        String v = value.strip();
        if (v.startsWith("file:")) {
            v = v.substring("file:".length());
        }
        try {
            return Optional.of(Path.of(v));
        } catch (RuntimeException e) {
            return Optional.empty();
        }
    }
}
