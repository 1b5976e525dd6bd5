package org.gyocs.testing;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.gyocs.cli.OcsCommand;

/** bin/ocs.sh's node as a process of its own (to be killed with SIGKILL), mock mode, on 127.0.0.1. */
public final class NodeProcess {

    private NodeProcess() {
    }

    /**
     * Starts the node with gyocs.home {@code home} (its log in home/node.log) and returns once it
     * says it listens on {@code port}.
     */
    public static Process start(Path home, int port, String... options) throws Exception {
        return startOn(ProcessHandle.current().info().command().orElse("java"), home, port, options);
    }

    /** The same, on the Java of the binary {@code java} (the test's classes and libraries, built for Java 17). */
    public static Process startOn(String java, Path home, int port, String... options) throws Exception {
        List<String> command = new ArrayList<>(List.of(java,
                "-Dgyocs.home=" + home, "-Dlog4j2.configurationFile=config/log4j2.xml",
                "-cp", System.getProperty("java.class.path"), OcsCommand.class.getName(),
                "--mock", "--ip", "127.0.0.1", "--port", String.valueOf(port), "--realm", "test.local",
                "--admin-port", "0")); // not 8080, which a node of this checkout may hold
        command.addAll(List.of(options));
        Process node = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(home.resolve("node.log").toFile()).start();
        // The node's own word that it listens, not the socket table: a socket of another process on
        // the same port at another address would pass that check before our node has bound.
        // 120 s: on CI this process shares the machine with the rest of the suite.
        for (int i = 0; i < 2400 && !log(home).contains("Waiting for connections") && node.isAlive(); i++) {
            Thread.sleep(50);
        }
        assertTrue(node.isAlive(), () -> "the node died: " + log(home));
        assertTrue(log(home).contains("Waiting for connections"), () -> "the node did not start listening: " + log(home));
        return node;
    }

    /** A peer connected to the node; when it cannot connect, the node's log says why. */
    public static TestPeer peer(Process node, Path home, int port) throws Exception {
        try {
            return new TestPeer(port);
        } catch (java.net.ConnectException e) {
            throw new AssertionError("cannot connect to the node (alive: " + node.isAlive() + "): " + log(home), e);
        }
    }

    /** What the node logged so far. */
    public static String log(Path home) {
        try {
            return Files.readString(home.resolve("node.log"));
        } catch (java.io.IOException e) {
            return e.toString();
        }
    }
}
