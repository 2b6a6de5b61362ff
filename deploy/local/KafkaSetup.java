import java.io.FileInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclBindingFilter;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;

/**
 * Creates the missing topics and makes the broker's ACLs equal to an ACL table (deploy/kafka/acls.conf), with the
 * super user's credentials, in one JVM (one AclCommand per line would cost a JVM start each).
 *
 * <pre>java -cp 'kafka/lib/*' KafkaSetup.java ADMIN_PROPERTIES ACL_TABLE PARTITIONS TOPIC...</pre>
 *
 * Idempotent: existing topics and ACLs stay; ACLs of the table's principals that the table does not list are
 * removed, so a narrowed table narrows the broker.
 */
public final class KafkaSetup {

    public static void main(String[] args) throws Exception {
        if (args.length < 4) {
            throw new IllegalArgumentException("usage: KafkaSetup ADMIN_PROPERTIES ACL_TABLE PARTITIONS TOPIC...");
        }
        Properties admin = new Properties();
        try (FileInputStream in = new FileInputStream(args[0])) {
            admin.load(in);
        }
        Set<AclBinding> wanted = readTable(Path.of(args[1]));
        int partitions = Integer.parseInt(args[2]);
        List<String> topics = List.of(args).subList(3, args.length);
        Set<String> principals = new HashSet<>();
        wanted.forEach(b -> principals.add(b.entry().principal()));

        try (Admin client = Admin.create(admin)) {
            Set<String> existing = client.listTopics().names().get(60, TimeUnit.SECONDS);
            List<NewTopic> missing = topics.stream().filter(t -> !existing.contains(t))
                    .map(t -> new NewTopic(t, partitions, (short) 1)).toList();
            if (!missing.isEmpty()) {
                client.createTopics(missing).all().get(60, TimeUnit.SECONDS);
            }
            System.out.println(missing.isEmpty() ? "topics present: " + String.join(" ", topics)
                    : "topics created: " + String.join(" ", missing.stream().map(NewTopic::name).toList()));

            Collection<AclBinding> current = client.describeAcls(AclBindingFilter.ANY).values().get(60, TimeUnit.SECONDS);
            List<AclBindingFilter> stale = new ArrayList<>();
            for (AclBinding b : current) {
                if (principals.contains(b.entry().principal()) && !wanted.contains(b)) {
                    stale.add(b.toFilter());
                }
            }
            if (!stale.isEmpty()) {
                client.deleteAcls(stale).all().get(60, TimeUnit.SECONDS);
            }
            List<AclBinding> add = wanted.stream().filter(b -> !current.contains(b)).toList();
            if (!add.isEmpty()) {
                client.createAcls(add).all().get(60, TimeUnit.SECONDS);
            }
            System.out.println("acls: " + wanted.size() + " for " + principals.size() + " principals ("
                    + add.size() + " added, " + stale.size() + " removed)");
        }
    }

    /** Lines "principal topic|group name[*] Op,Op"; '#' starts a comment; a trailing * makes the name a prefix. */
    static Set<AclBinding> readTable(Path table) throws IOException {
        Set<AclBinding> bindings = new HashSet<>();
        int n = 0;
        for (String raw : Files.readAllLines(table)) {
            n++;
            String line = raw.replaceFirst("#.*", "").trim();
            if (line.isEmpty()) {
                continue;
            }
            String[] f = line.split("\\s+");
            if (f.length != 4) {
                throw new IllegalArgumentException(table + ":" + n + ": expected 'principal resource name operations', got: " + raw);
            }
            ResourceType type = switch (f[1]) {
                case "topic" -> ResourceType.TOPIC;
                case "group" -> ResourceType.GROUP;
                default -> throw new IllegalArgumentException(table + ":" + n + ": resource must be topic or group, got " + f[1]);
            };
            boolean prefixed = f[2].endsWith("*");
            ResourcePattern pattern = new ResourcePattern(type, prefixed ? f[2].substring(0, f[2].length() - 1) : f[2],
                    prefixed ? PatternType.PREFIXED : PatternType.LITERAL);
            for (String op : f[3].split(",")) {
                AclOperation operation = AclOperation.fromString(op.trim().toUpperCase(Locale.ROOT));
                if (operation == AclOperation.UNKNOWN) {
                    throw new IllegalArgumentException(table + ":" + n + ": unknown operation " + op);
                }
                bindings.add(new AclBinding(pattern,
                        new AccessControlEntry("User:" + f[0], "*", operation, AclPermissionType.ALLOW)));
            }
        }
        return bindings;
    }
}
