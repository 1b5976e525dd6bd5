package org.gyocs.cli;

/** Lets tests in other packages run the ocs-bench command in-process. */
public final class BenchCommandAccess {
    private BenchCommandAccess() {
    }

    public static int run(String... args) {
        return BenchCommand.run(args);
    }
}
