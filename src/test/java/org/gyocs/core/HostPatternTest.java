package org.gyocs.core;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;

import org.gyocs.app.OcsConfiguration;
import org.junit.jupiter.api.Test;

/** refund-peers compares Origin-Hosts as allowed-peers does: without regard to case. */
class HostPatternTest {

    @Test
    void refundPeersMatchWithoutRegardToCase() throws Exception {
        ChargingPolicy p = OcsConfiguration.of(Map.of("refund-peers", "*.Billing.Example.COM, CRM.example.com"))
                .chargingPolicy();
        assertTrue(p.mayRefund("ocs1.billing.example.com"), "a host under the domain, whatever the case");
        assertTrue(p.mayRefund("OCS2.BILLING.example.com"));
        assertTrue(p.mayRefund("crm.EXAMPLE.com"), "an exact name, whatever the case");
        assertFalse(p.mayRefund("billing.example.com"), "*.domain is not the domain itself");
        assertFalse(p.mayRefund("evilbilling.example.com"));
        assertFalse(p.mayRefund(null));
        assertTrue(ChargingPolicy.of(GrantPolicy.DEFAULT).mayRefund("anyone.example.org"), "* by default");
    }
}
