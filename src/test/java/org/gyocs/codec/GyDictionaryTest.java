package org.gyocs.codec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.List;

import org.gyocs.codec.GyDictionary.AvpDefinition;
import org.junit.jupiter.api.Test;

/** dictionary/dictionary.xml is the one list of known AVPs: the constants and the 5001 check follow it. */
class GyDictionaryTest {
    private final GyDictionary dictionary = GyDictionary.get();

    /** Constants that are not AVP codes. */
    private static final List<String> NOT_AVPS = List.of("VENDOR_3GPP", "CURRENCY_EUR", "MAX_GROUP_DEPTH");

    @Test
    void everyAvpConstantNamesAnAvpOfTheDictionaryWithThatCode() throws Exception {
        List<String> wrong = new ArrayList<>();
        for (Field f : AvpCodes.class.getDeclaredFields()) {
            if (!Modifier.isStatic(f.getModifiers()) || !Modifier.isPublic(f.getModifiers())
                    || NOT_AVPS.contains(f.getName())) {
                continue;
            }
            String name = dictionaryName(f.getName());
            AvpDefinition d = dictionary.byName(name);
            int code = f.getInt(null);
            if (d == null || d.code() != code) {
                wrong.add(f.getName() + "=" + code + " -> " + name + " " + d);
            }
        }
        assertTrue(wrong.isEmpty(), "constants that disagree with dictionary.xml: " + wrong);
    }

    /** USER_NAME -> User-Name, CC_REQUEST_TYPE -> CC-Request-Type, FAILED_AVP -> Failed-AVP. */
    private static String dictionaryName(String constant) {
        StringBuilder sb = new StringBuilder();
        for (String word : constant.split("_")) {
            if (sb.length() > 0) {
                sb.append('-');
            }
            if (word.equals("CC") || word.equals("IP") || word.equals("AVP")) {
                sb.append(word);
            } else if (word.equals("AOC")) {
                sb.append("AoC");
            } else {
                sb.append(word.charAt(0)).append(word.substring(1).toLowerCase());
            }
        }
        return sb.toString();
    }

    @Test
    void theAvpsOpen5gsSendsAreKnown() {
        // AoC-Request-Type, QoS-Information and, inside PS-Information, PDP-Address, SGSN-Address,
        // GGSN-Address, 3GPP-Charging-Characteristics, 3GPP-NSAPI: mock mode once answered them 5001
        for (int code : new int[] {2055, 1016, 1227, 1228, 847, 13, 10, 873, 874, 1028, 1034, 1046, 1047, 1048, 1040, 1041}) {
            assertTrue(dictionary.isKnown(AvpCodes.VENDOR_3GPP, code), "3GPP AVP " + code);
        }
        assertTrue(dictionary.isGrouped(AvpCodes.VENDOR_3GPP, 1016), "QoS-Information is grouped");
        assertTrue(dictionary.isKnown(0, 458), "User-Equipment-Info");
    }

    @Test
    void theServiceInformationTreeOfTs32299IsKnown() {
        for (String name : new String[] {"PS-Information", "IMS-Information", "MMS-Information", "LCS-Information",
                "PoC-Information", "MBMS-Information", "SMS-Information", "MMTel-Information", "AoC-Information",
                "Service-Generic-Information", "IM-Information", "DCD-Information", "VCS-Information",
                "Trigger", "Envelope", "Offline-Charging", "Traffic-Data-Volumes", "SDP-Media-Component",
                "Unit-Quota-Threshold", "Time-Quota-Mechanism", "Service-Specific-Info", "Announcement-Information"}) {
            AvpDefinition d = dictionary.byName(name);
            assertNotNull(d, name);
            assertTrue(dictionary.isKnown(d.vendorId(), d.code()), name);
        }
        assertTrue(dictionary.definitions().size() > 400, "the whole Gy dictionary, not only the AVPs we read");
    }

    @Test
    void unknownAvpsAreNotKnown() {
        assertFalse(dictionary.isKnown(0, 9999));
        assertFalse(dictionary.isKnown(AvpCodes.VENDOR_3GPP, 65000));
        assertFalse(dictionary.isKnown(12345, 1));
        assertNull(dictionary.byName("No-Such-AVP"));
        assertEquals(false, dictionary.isKnown(0, -1));
    }

    /** Issue 10, item 9: the command codes and the 3GPP vendor id are those of dictionary.xml. */
    @Test
    void everyCommandCodeAndTheVendorIdAreTheDictionarys() throws Exception {
        org.w3c.dom.Document xml;
        try (java.io.InputStream in = GyDictionary.class.getResourceAsStream(GyDictionary.RESOURCE)) {
            xml = javax.xml.parsers.DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(in);
        }
        java.util.Map<String, Integer> commands = new java.util.HashMap<>();
        org.w3c.dom.NodeList nodes = xml.getElementsByTagName("command");
        for (int i = 0; i < nodes.getLength(); i++) {
            org.w3c.dom.Element c = (org.w3c.dom.Element) nodes.item(i);
            commands.put(c.getAttribute("name"), Integer.parseInt(c.getAttribute("code")));
        }
        List<String> wrong = new ArrayList<>();
        int checked = 0;
        for (Field f : CommandCodes.class.getDeclaredFields()) {
            if (!Modifier.isPublic(f.getModifiers())) {
                continue;
            }
            checked++;
            String request = dictionaryName(f.getName()) + "-Request";
            if (!Integer.valueOf(f.getInt(null)).equals(commands.get(request))) {
                wrong.add(f.getName() + "=" + f.getInt(null) + " -> " + request + " " + commands.get(request));
            }
        }
        assertTrue(checked == 6, "CAPABILITIES_EXCHANGE, DEVICE_WATCHDOG, DISCONNECT_PEER, CREDIT_CONTROL, RE_AUTH, "
                + "ABORT_SESSION");
        assertTrue(wrong.isEmpty(), "command codes that disagree with dictionary.xml: " + wrong);
        org.w3c.dom.NodeList vendors = xml.getElementsByTagName("vendor");
        boolean found = false;
        for (int i = 0; i < vendors.getLength(); i++) {
            org.w3c.dom.Element v = (org.w3c.dom.Element) vendors.item(i);
            found |= v.getAttribute("name").equals("3GPP") && Long.parseLong(v.getAttribute("code")) == AvpCodes.VENDOR_3GPP;
        }
        assertTrue(found, "3GPP is vendor " + AvpCodes.VENDOR_3GPP + " in dictionary.xml");
    }
}
