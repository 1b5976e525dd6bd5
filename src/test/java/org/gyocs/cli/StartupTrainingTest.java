package org.gyocs.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;

import org.junit.jupiter.api.Test;

/** The run bin/lib/common.sh archives the classes of: a whole node start and stop, from the installation's configuration. */
class StartupTrainingTest {

    @Test
    void startsAndStopsANodeOfTheInstallation() {
        assertEquals(0, StartupTraining.run(Path.of("")), "the node of this checkout started and stopped");
    }

    @Test
    void failsWithoutAnInstallation() {
        assertEquals(1, StartupTraining.run(Path.of("/nonexistent-installation")), "no configuration there");
    }
}
