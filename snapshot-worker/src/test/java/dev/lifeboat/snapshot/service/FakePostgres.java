package dev.lifeboat.snapshot.service;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A PostgreSQL server that wants to be sent a password: it declines TLS, answers every startup message with
 * AuthenticationCleartextPassword and records each PasswordMessage it receives, then fails the login.
 */
final class FakePostgres implements AutoCloseable {
    private static final int SSL_REQUEST = 80877103;
    private static final int GSSENC_REQUEST = 80877104;
    private final ServerSocket server;
    private final Thread acceptor;
    final List<String> passwords = new CopyOnWriteArrayList<>();
    final List<String> startups = new CopyOnWriteArrayList<>();
    volatile int tlsRequests;

    FakePostgres() throws IOException {
        server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        acceptor = Thread.ofVirtual().start(() -> {
            while (!server.isClosed()) {
                try {
                    Socket s = server.accept();
                    Thread.ofVirtual().start(() -> serve(s));
                } catch (IOException e) {
                    return;
                }
            }
        });
    }

    int port() {
        return server.getLocalPort();
    }

    private void serve(Socket socket) {
        try (socket; DataInputStream in = new DataInputStream(socket.getInputStream());
             DataOutputStream out = new DataOutputStream(socket.getOutputStream())) {
            socket.setSoTimeout(10_000);
            while (true) {
                int length = in.readInt();
                int code = in.readInt();
                in.readNBytes(length - 8);
                if (code == SSL_REQUEST || code == GSSENC_REQUEST) {
                    tlsRequests++;
                    out.writeByte('N');
                    out.flush();
                    continue;
                }
                startups.add("protocol " + code);
                break;
            }
            out.writeByte('R');
            out.writeInt(8);
            out.writeInt(3);
            out.flush();
            int type = in.read();
            if (type != 'p') {
                return;
            }
            int length = in.readInt();
            byte[] body = in.readNBytes(length - 4);
            int end = body.length > 0 && body[body.length - 1] == 0 ? body.length - 1 : body.length;
            passwords.add(new String(body, 0, end, StandardCharsets.UTF_8));
            byte[] msg = "SFATAL\0C28P01\0Mpassword authentication failed\0\0".getBytes(StandardCharsets.UTF_8);
            out.writeByte('E');
            out.writeInt(4 + msg.length);
            out.write(msg);
            out.flush();
        } catch (IOException e) {
            // the client hung up: nothing more to record
        }
    }

    @Override
    public void close() throws IOException {
        server.close();
        acceptor.interrupt();
    }
}
