package org.gyocs.cli;

/** Lets tests in other packages run the ocs-admin command in-process. */
public final class AdminCommandAccess {
    private AdminCommandAccess() {
    }

    public static int run(String... args) {
        return AdminCommand.run(args);
    }
}
