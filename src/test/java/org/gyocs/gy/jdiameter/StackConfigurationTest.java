package org.gyocs.gy.jdiameter;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;

import org.gyocs.node.NodeSettings;
import org.gyocs.node.TransportLimits;
import org.jdiameter.api.Configuration;
import org.jdiameter.client.impl.helpers.Parameters;
import org.junit.jupiter.api.Test;

class StackConfigurationTest {

    @Test
    void wildcardBindListsRealAddressesForTheCea() {
        List<String> all = StackConfiguration.listenAddresses("0.0.0.0");
        assertTrue(all.contains("127.0.0.1"), all.toString());
        assertFalse(all.contains("0.0.0.0"), all.toString());
        assertEquals(List.of("192.0.2.7"), StackConfiguration.listenAddresses("192.0.2.7"));
    }

    @Test
    void commandLineValuesOverrideTheFile() throws Exception {
        NodeSettings s = new NodeSettings("ocs.lab.net", "lab.net", "127.0.0.1", 4000,
                Path.of("config/jdiameter-config.xml"), false,
                TransportLimits.DEFAULT);
        Configuration c = StackConfiguration.load(s);
        assertEquals("aaa://ocs.lab.net:4000", c.getStringValue(Parameters.OwnDiameterURI.ordinal(), null));
        assertEquals("lab.net", c.getStringValue(Parameters.OwnRealm.ordinal(), null));
        Configuration[] ips = c.getChildren(org.jdiameter.server.impl.helpers.Parameters.OwnIPAddresses.ordinal());
        assertEquals(1, ips.length);
        assertEquals("127.0.0.1", ips[0].getStringValue(Parameters.OwnIPAddress.ordinal(), null));
    }
}
