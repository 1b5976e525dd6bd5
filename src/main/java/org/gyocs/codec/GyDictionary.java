package org.gyocs.codec;

import java.io.IOException;
import java.io.InputStream;
import java.util.BitSet;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

import javax.xml.XMLConstants;
import javax.xml.parsers.DocumentBuilderFactory;
import javax.xml.parsers.ParserConfigurationException;

import org.w3c.dom.Element;
import org.w3c.dom.NodeList;
import org.xml.sax.SAXException;

/**
 * The AVPs of {@code dictionary/dictionary.xml} (base protocol, RFC 4006, and every AVP a 3GPP
 * TS 32.299 Gy CCR may carry, the Service-Information tree included), read once from the class
 * path. The file is the one list of AVPs the node knows: jDiameter's optional validator reads the
 * same file, so the two modes cannot drift apart (an AVP missing here made mock mode answer every
 * Open5GS CCR 5001 while jDiameter mode answered 2001).
 */
public final class GyDictionary {
    /** Where Maven puts dictionary/dictionary.xml (pom.xml: the folder is a resource root). */
    public static final String RESOURCE = "/dictionary.xml";

    /**
     * One AVP definition: vendor 0 for the base and RFC 4006 AVPs.
     *
     * @param type      the data type as the file names it (Unsigned32, UTF8String, Enumerated, Grouped...)
     * @param enumNames the names of an Enumerated AVP's values; empty for other types
     */
    public record AvpDefinition(String name, long vendorId, int code, boolean grouped, String type,
                                Map<Long, String> enumNames) {
        public AvpDefinition {
            enumNames = Map.copyOf(enumNames);
        }
    }

    private static final GyDictionary INSTANCE = load();

    /** Vendor 0 and 3GPP, the vendors of almost every AVP on Gy, as bit sets: the lookup runs for every AVP. */
    private final BitSet baseKnown = new BitSet();
    private final BitSet baseGrouped = new BitSet();
    private final BitSet tgppKnown = new BitSet();
    private final BitSet tgppGrouped = new BitSet();
    private final Map<Long, AvpDefinition> byKey = new HashMap<>();
    private final Map<String, AvpDefinition> byName = new HashMap<>();

    private GyDictionary() {
    }

    public static GyDictionary get() {
        return INSTANCE;
    }

    public boolean isKnown(long vendorId, int code) {
        if (code < 0) {
            return false;
        }
        if (vendorId == 0) {
            return baseKnown.get(code);
        }
        if (vendorId == AvpCodes.VENDOR_3GPP) {
            return tgppKnown.get(code);
        }
        return byKey.containsKey(key(vendorId, code));
    }

    public boolean isGrouped(long vendorId, int code) {
        if (code < 0) {
            return false;
        }
        if (vendorId == 0) {
            return baseGrouped.get(code);
        }
        if (vendorId == AvpCodes.VENDOR_3GPP) {
            return tgppGrouped.get(code);
        }
        AvpDefinition d = byKey.get(key(vendorId, code));
        return d != null && d.grouped();
    }

    /** The definition of that AVP, or null when the dictionary does not know it. */
    public AvpDefinition definition(long vendorId, int code) {
        return byKey.get(key(vendorId, code));
    }

    /** The definition of the AVP of that name, or null. */
    public AvpDefinition byName(String name) {
        return byName.get(name);
    }

    public Set<AvpDefinition> definitions() {
        return Collections.unmodifiableSet(new HashSet<>(byKey.values()));
    }

    private static long key(long vendorId, int code) {
        return vendorId << 32 | (code & 0xFFFFFFFFL);
    }

    private static GyDictionary load() {
        try (InputStream in = GyDictionary.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException("dictionary.xml is not on the class path (" + RESOURCE + ")");
            }
            DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
            // our own file, but no parser of ours resolves outside entities
            f.setFeature(XMLConstants.FEATURE_SECURE_PROCESSING, true);
            f.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
            Element root = f.newDocumentBuilder().parse(in).getDocumentElement();
            Map<String, Long> vendors = new HashMap<>();
            NodeList vs = root.getElementsByTagName("vendor");
            for (int i = 0; i < vs.getLength(); i++) {
                Element v = (Element) vs.item(i);
                vendors.put(v.getAttribute("vendor-id"), Long.parseLong(v.getAttribute("code")));
            }
            GyDictionary d = new GyDictionary();
            NodeList defs = root.getElementsByTagName("avpdefn");
            for (int i = 0; i < defs.getLength(); i++) {
                Element e = (Element) defs.item(i);
                String vendor = e.getAttribute("vendor-id");
                Long vendorId = vendor.isEmpty() ? Long.valueOf(0) : vendors.get(vendor);
                if (vendorId == null) {
                    throw new IllegalStateException("dictionary.xml: AVP " + e.getAttribute("name")
                            + " names vendor " + vendor + ", which no vendor element defines");
                }
                boolean grouped = e.getElementsByTagName("grouped").getLength() > 0;
                NodeList types = e.getElementsByTagName("type");
                String type = grouped ? "Grouped" : types.getLength() == 0 ? "OctetString"
                        : ((Element) types.item(0)).getAttribute("type-name");
                Map<Long, String> enums = new HashMap<>();
                NodeList values = e.getElementsByTagName("enum");
                for (int j = 0; j < values.getLength(); j++) {
                    Element v = (Element) values.item(j);
                    enums.put(Long.parseLong(v.getAttribute("code")), v.getAttribute("name"));
                }
                d.add(new AvpDefinition(e.getAttribute("name"), vendorId, Integer.parseInt(e.getAttribute("code")), grouped,
                        type, enums));
            }
            return d;
        } catch (IOException | ParserConfigurationException | SAXException e) {
            throw new IllegalStateException("Cannot read dictionary.xml: " + e.getMessage(), e);
        }
    }

    private void add(AvpDefinition a) {
        if (byKey.putIfAbsent(key(a.vendorId(), a.code()), a) != null) {
            throw new IllegalStateException("dictionary.xml defines AVP " + a.code() + " of vendor " + a.vendorId() + " twice");
        }
        byName.put(a.name(), a);
        if (a.vendorId() == 0) {
            baseKnown.set(a.code());
            baseGrouped.set(a.code(), a.grouped());
        } else if (a.vendorId() == AvpCodes.VENDOR_3GPP) {
            tgppKnown.set(a.code());
            tgppGrouped.set(a.code(), a.grouped());
        }
    }
}
