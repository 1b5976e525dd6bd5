package org.gyocs.admin;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * How {@code bin/ocs-admin.sh} reaches a node that holds the embedded store: a Unix domain socket,
 * {@code admin.sock} beside the database in {@code data/}. The embedded database once listened
 * on TCP (H2's auto-server) on every interface with empty credentials, so any local user could
 * read and set balances; the socket is a file of mode 0600 in a 0700 directory: only the node's
 * own user (and root) can connect, and no port is open. Each call is one command: the arguments
 * (and an import's CSV), answered with the exit status and what the command printed.
 */
public final class AdminChannel implements AutoCloseable {
    private static final Logger log = LogManager.getLogger(AdminChannel.class);
    public static final String SOCKET_NAME = "admin.sock";
    private static final int VERSION = 1;
    private static final int MAX_ARGS = 16;
    /** An import's CSV: 100,000 subscribers take about 4 MB. */
    private static final int MAX_ATTACHMENT = 256 * 1024 * 1024;

    /** What a command printed, and how it ended. */
    public record Response(int exitStatus, String out, String err) {
    }

    private final ServerSocketChannel server;
    private final Path socket;
    private final Function<SubscriberCommands.Request, Response> handler;
    private final ExecutorService workers = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "ocs-admin");
        t.setDaemon(true);
        return t;
    });

    private AdminChannel(ServerSocketChannel server, Path socket, Function<SubscriberCommands.Request, Response> handler) {
        this.server = server;
        this.socket = socket;
        this.handler = handler;
    }

    /** The socket of the embedded store in {@code dataDir}. */
    public static Path socketIn(Path dataDir) {
        return dataDir.toAbsolutePath().resolve(SOCKET_NAME);
    }

    /**
     * Listens on {@code socket} (a stale file left by a node that died is replaced: the caller
     * holds the store, so no other node can be using it) and runs each command with {@code handler}.
     */
    public static AdminChannel serve(Path socket, Function<SubscriberCommands.Request, Response> handler) throws IOException {
        Files.deleteIfExists(socket);
        ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            server.bind(UnixDomainSocketAddress.of(socket));
            Files.setPosixFilePermissions(socket, PosixFilePermissions.fromString("rw-------"));
        } catch (IOException | RuntimeException e) {
            server.close();
            throw e;
        }
        AdminChannel c = new AdminChannel(server, socket, handler);
        c.workers.execute(c::acceptLoop);
        return c;
    }

    /** Runs one command in each node process that runs with a store */
    private static Response run(SubscriberCommands.Request request,
                                java.util.function.ToIntBiFunction<PrintStream, PrintStream> command) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status;
        try (PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
             PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
            status = command.applyAsInt(o, e);
        }
        return new Response(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    /** A handler that runs the subscriber commands on a store. */
    public static Function<SubscriberCommands.Request, Response> commandsOn(org.gyocs.store.JdbcBalanceStore store) {
        return request -> run(request, (out, err) -> SubscriberCommands.execute(store, request, out, err));
    }

    private void acceptLoop() {
        while (server.isOpen()) {
            SocketChannel c;
            try {
                c = server.accept();
            } catch (IOException e) {
                if (server.isOpen()) {
                    log.warn("Admin socket {}: {}", socket, e.toString());
                }
                return;
            }
            workers.execute(() -> answer(c));
        }
    }

    private void answer(SocketChannel c) {
        try (c; DataInputStream in = new DataInputStream(Channels.newInputStream(c));
             DataOutputStream out = new DataOutputStream(Channels.newOutputStream(c))) {
            SubscriberCommands.Request request = readRequest(in);
            log.info("ocs-admin {} (by {})", String.join(" ", request.args()), caller(c));
            Response r;
            try {
                r = handler.apply(request);
            } catch (RuntimeException e) {
                log.error("ocs-admin {} failed: {}", request.args(), e.toString(), e);
                r = new Response(1, "", "Error: " + e.getMessage() + "\n");
            }
            out.writeInt(r.exitStatus());
            writeBytes(out, r.out().getBytes(StandardCharsets.UTF_8));
            writeBytes(out, r.err().getBytes(StandardCharsets.UTF_8));
            out.flush();
        } catch (IOException | RuntimeException e) {
            log.warn("Admin socket {}: a call failed: {}", socket, e.toString());
        }
    }

    /** Who connected, for the log: the socket's peer credentials (Linux SO_PEERCRED). */
    private static String caller(SocketChannel c) {
        try {
            return String.valueOf(c.getOption(jdk.net.ExtendedSocketOptions.SO_PEERCRED).user().getName());
        } catch (IOException | RuntimeException e) {
            return "an unknown local user";
        }
    }

    private static SubscriberCommands.Request readRequest(DataInputStream in) throws IOException {
        if (in.readInt() != VERSION) {
            throw new IOException("not an ocs-admin call of this version");
        }
        int n = in.readInt();
        if (n < 0 || n > MAX_ARGS) {
            throw new IOException("too many arguments: " + n);
        }
        List<String> args = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            args.add(in.readUTF());
        }
        return new SubscriberCommands.Request(args, readBytes(in, MAX_ATTACHMENT));
    }

    private static byte[] readBytes(DataInputStream in, int max) throws IOException {
        int n = in.readInt();
        if (n < 0 || n > max) {
            throw new IOException("a part of " + n + " bytes is over the limit of " + max);
        }
        return in.readNBytes(n);
    }

    private static void writeBytes(DataOutputStream out, byte[] b) throws IOException {
        out.writeInt(b.length);
        out.write(b);
    }

    /**
     * Sends one command to the node listening on {@code socket}.
     *
     * @return its response, or empty when no node listens there (no socket, or one left by a node that died)
     */
    public static Optional<Response> call(Path socket, SubscriberCommands.Request request) throws IOException {
        if (!Files.exists(socket)) {
            return Optional.empty();
        }
        SocketChannel c;
        try {
            c = SocketChannel.open(UnixDomainSocketAddress.of(socket));
        } catch (java.net.ConnectException e) {
            return Optional.empty(); // left behind by a node that did not stop cleanly
        }
        try (c; DataOutputStream out = new DataOutputStream(Channels.newOutputStream(c));
             DataInputStream in = new DataInputStream(Channels.newInputStream(c))) {
            out.writeInt(VERSION);
            out.writeInt(request.args().size());
            for (String a : request.args()) {
                out.writeUTF(a);
            }
            writeBytes(out, request.attachment());
            out.flush();
            int status = in.readInt();
            String o = new String(readBytes(in, Integer.MAX_VALUE), StandardCharsets.UTF_8);
            String e = new String(readBytes(in, Integer.MAX_VALUE), StandardCharsets.UTF_8);
            return Optional.of(new Response(status, o, e));
        }
    }

    @Override
    public void close() {
        try {
            server.close();
        } catch (IOException e) {
            // closing anyway
        }
        workers.shutdownNow();
        try {
            workers.awaitTermination(2, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            Files.deleteIfExists(socket);
        } catch (IOException e) {
            log.warn("Cannot remove {}: {}", socket, e.toString());
        }
    }
}
