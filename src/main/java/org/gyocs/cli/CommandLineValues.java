package org.gyocs.cli;

import org.apache.commons.cli.CommandLine;

/** Typed option values with errors that name the option, for both commands. */
final class CommandLineValues {
    private final CommandLine line;

    /**
     * @throws UsageException when an option that takes a value is given twice: `--realm a --realm b`
     *         once ran with `a` and said nothing
     */
    CommandLineValues(CommandLine line) throws UsageException {
        this.line = line;
        java.util.Set<String> seen = new java.util.HashSet<>();
        for (org.apache.commons.cli.Option o : line.getOptions()) {
            String name = o.getLongOpt() != null ? o.getLongOpt() : o.getOpt();
            if (o.hasArg() && !seen.add(name)) {
                throw new UsageException("--" + name + " is given twice; give it once");
            }
        }
    }

    String string(String option, String defaultValue) {
        return line.getOptionValue(option, defaultValue);
    }

    boolean flag(String option) {
        return line.hasOption(option);
    }

    long number(String option, long defaultValue, long min, long max) throws UsageException {
        String v = line.getOptionValue(option);
        if (v == null) {
            return defaultValue;
        }
        try {
            long n = Long.parseLong(v.trim());
            if (n < min || n > max) {
                throw new UsageException("--" + option + " must be from " + min + " to " + max + ", not " + v);
            }
            return n;
        } catch (NumberFormatException e) {
            throw new UsageException("--" + option + " must be a number, not '" + v + "'");
        }
    }

    /**
     * Prints a command's --help, 100 columns wide, in commons-cli's classic layout (the one the
     * README shows). commons-cli 1.10 deprecated that formatter for a table-based one in
     * org.apache.commons.cli.help, which lays the options out otherwise; until we move the
     * README and the help together, this is the one place that uses it.
     */
    @SuppressWarnings("deprecation")
    static void printHelp(org.apache.commons.cli.Options options, String syntax, String header, String footer) {
        java.io.PrintWriter out = new java.io.PrintWriter(System.out);
        org.apache.commons.cli.HelpFormatter.builder().get().printHelp(out, 100, syntax, header, options, 2, 2, footer);
        out.flush();
    }

    /** Ends a command: flushes the logs (their shutdown hook is off so that a stop can still log) and exits. */
    static void exit(int status) {
        org.apache.logging.log4j.LogManager.shutdown();
        System.exit(status);
    }

    /** A bad option value: printed as "Error: ..." with exit status 1. */
    static final class UsageException extends Exception {
        private static final long serialVersionUID = 1L;

        UsageException(String message) {
            super(message);
        }
    }
}
