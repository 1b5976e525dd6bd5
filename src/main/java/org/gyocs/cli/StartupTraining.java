package org.gyocs.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Map;
import java.util.stream.Stream;

import org.apache.commons.cli.DefaultParser;
import org.gyocs.app.GyDiameterApplication;
import org.gyocs.app.OcsConfiguration;
import org.gyocs.node.AdminSettings;

/**
 * Starts a node the way bin/ocs.sh does (its options parsed, the configuration read, the
 * embedded store opened and migrated, jDiameter and the operator's interface listening) on
 * 127.0.0.1 with ephemeral ports and a data directory of its own, then stops it. bin/lib/common.sh
 * runs it once after each build with -XX:ArchiveClassesAtExit: the classes it loaded become a
 * class-data-sharing archive that every later start maps instead of loading and verifying them
 * one by one (a second of the start-up on this kind of machine, of about 5,000 classes).
 * Its argument is the installation (the configuration read); gyocs.home, where the log goes,
 * is a directory of the training's own.
 */
public final class StartupTraining {
    private StartupTraining() {
    }

    public static void main(String[] args) {
        CommandLineValues.exit(run(Path.of(args.length > 0 ? args[0] : "")));
    }

    static int run(Path installation) {
        Path data = null;
        try {
            data = Files.createTempDirectory("gy-ocs-training");
            Path config = installation.resolve(org.gyocs.node.NodeSettings.DEFAULT_CONFIG);
            new DefaultParser().parse(OcsCommand.options(config), new String[] {"--ip", "127.0.0.1", "--port", "3868"});
            OcsConfiguration charging = OcsConfiguration.load(config.resolveSibling("ocs.properties"), false, Map.of());
            GyDiameterApplication app = GyDiameterApplication.builder().ip("127.0.0.1").port(0).config(config)
                    .charging(charging.chargingPolicy()).dataDir(data)
                    .admin(AdminSettings.onAnyPort("127.0.0.1", null)).build();
            app.start(false);
            app.stop();
            return 0;
        } catch (Exception e) {
            // no archive then: every start loads its classes as it did before
            System.err.println("Start-up training failed: " + e);
            return 1;
        } finally {
            delete(data);
        }
    }

    private static void delete(Path dir) {
        if (dir == null) {
            return;
        }
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            System.err.println("Could not delete " + dir + ": " + e.getMessage());
        }
    }
}
