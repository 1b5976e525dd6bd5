package org.gyocs.cli;

/** Lets tests in other packages run the ocs-client command in-process. */
public final class ClientCommandAccess {
    private ClientCommandAccess() {
    }

    public static int run(String... args) {
        return ClientCommand.run(args);
    }
}
