package org.gyocs.gy.jdiameter;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

import javax.xml.XMLConstants;
import javax.xml.parsers.DocumentBuilder;
import javax.xml.parsers.DocumentBuilderFactory;
import javax.xml.transform.OutputKeys;
import javax.xml.transform.Transformer;
import javax.xml.transform.TransformerFactory;
import javax.xml.transform.dom.DOMSource;
import javax.xml.transform.stream.StreamResult;

import org.gyocs.node.NodeSettings;
import org.gyocs.node.NodeStartException;
import org.jdiameter.api.Configuration;
import org.jdiameter.server.impl.helpers.XMLConfiguration;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.Node;
import org.w3c.dom.NodeList;
import org.xml.sax.SAXParseException;

/**
 * Loads the jDiameter XML configuration and applies the node settings to it (LocalPeer URI, IP
 * address, realm), so that command-line values win over the file. The file is parsed here first,
 * because jDiameter reports a broken file without its name or line.
 */
final class StackConfiguration {
    private static final String NS = "http://www.jdiameter.org/jdiameter-server";

    private StackConfiguration() {
    }

    static Configuration load(NodeSettings settings) throws NodeStartException {
        Path file = settings.configFile();
        Document doc = parse(file);
        Element localPeer = child(doc.getDocumentElement(), "LocalPeer");
        if (localPeer == null) {
            throw new NodeStartException("Invalid configuration file " + file + ": no <LocalPeer> element");
        }
        setValue(doc, localPeer, "URI", "aaa://" + settings.originHost() + ":" + settings.port());
        Element realm = child(localPeer, "Realm");
        String fileRealm = realm == null ? null : realm.getAttribute("value");
        setValue(doc, localPeer, "Realm", settings.realm());
        renameRealmEntries(doc, fileRealm, settings.realm());
        Element addresses = child(localPeer, "IPAddresses");
        if (addresses == null) {
            addresses = doc.createElementNS(NS, "IPAddresses");
            localPeer.insertBefore(addresses, child(localPeer, "Realm"));
        }
        while (addresses.getFirstChild() != null) {
            addresses.removeChild(addresses.getFirstChild());
        }
        for (String address : listenAddresses(settings.bindAddress())) {
            Element ip = doc.createElementNS(NS, "IPAddress");
            ip.setAttribute("value", address);
            addresses.appendChild(ip);
        }
        // the node's own network guard, whatever the file says: the allow-list and limits of mock
        // mode (ScreeningNetworkGuard); PeerFsmFactory and the rest stay as the file sets them
        Element extensions = child(doc.getDocumentElement(), "Extensions");
        if (extensions == null) {
            extensions = doc.createElementNS(NS, "Extensions");
            doc.getDocumentElement().appendChild(extensions);
        }
        setValue(doc, extensions, "NetworkGuard", ScreeningNetworkGuard.class.getName());
        try {
            return new XMLConfiguration(new ByteArrayInputStream(serialize(doc)));
        } catch (Exception e) {
            throw new NodeStartException("Invalid configuration file " + file + ": " + e.getMessage(), e);
        }
    }

    /**
     * jDiameter announces its listen addresses as Host-IP-Address in the CEA, where 0.0.0.0 is no
     * address of ours (RFC 6733 section 5.3.5). For "all interfaces" we therefore list every IPv4
     * address that is up; jDiameter then listens on each. An address added later is not served
     * until a restart.
     */
    static List<String> listenAddresses(String bindAddress) {
        if (!"0.0.0.0".equals(bindAddress)) {
            return List.of(bindAddress);
        }
        List<String> all = new ArrayList<>();
        try {
            for (NetworkInterface nif : Collections.list(NetworkInterface.getNetworkInterfaces())) {
                if (nif.isUp()) {
                    for (InetAddress a : Collections.list(nif.getInetAddresses())) {
                        if (a instanceof Inet4Address) {
                            all.add(a.getHostAddress());
                        }
                    }
                }
            }
        } catch (SocketException e) {
            return List.of(bindAddress);
        }
        return all.isEmpty() ? List.of(bindAddress) : all;
    }

    /** The realm routing entries of our own realm follow it when the realm is overridden. */
    private static void renameRealmEntries(Document doc, String from, String to) {
        if (from == null || from.equals(to)) {
            return;
        }
        NodeList realms = doc.getElementsByTagNameNS(NS, "Realm");
        for (int i = 0; i < realms.getLength(); i++) {
            Element e = (Element) realms.item(i);
            if (from.equals(e.getAttribute("name"))) {
                e.setAttribute("name", to);
            }
        }
    }

    private static Document parse(Path file) throws NodeStartException {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new NodeStartException("Configuration file not found: " + file.toAbsolutePath());
        } catch (IOException e) {
            throw new NodeStartException("Cannot read configuration file " + file + ": " + e.getMessage(), e);
        }
        try {
            DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
            f.setNamespaceAware(true);
            f.setFeature(XMLConstants.FEATURE_SECURE_PROCESSING, true);
            f.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
            DocumentBuilder b = f.newDocumentBuilder();
            b.setErrorHandler(null);
            return b.parse(new ByteArrayInputStream(bytes));
        } catch (SAXParseException e) {
            throw new NodeStartException("Invalid configuration file " + file + " at line " + e.getLineNumber()
                    + ", column " + e.getColumnNumber() + ": " + e.getMessage(), e);
        } catch (Exception e) {
            throw new NodeStartException("Invalid configuration file " + file + ": " + e.getMessage(), e);
        }
    }

    private static void setValue(Document doc, Element parent, String name, String value) {
        Element e = child(parent, name);
        if (e == null) {
            e = doc.createElementNS(NS, name);
            parent.insertBefore(e, parent.getFirstChild());
        }
        e.setAttribute("value", value);
    }

    private static Element child(Element parent, String localName) {
        NodeList nodes = parent.getChildNodes();
        for (int i = 0; i < nodes.getLength(); i++) {
            Node n = nodes.item(i);
            if (n instanceof Element e && localName.equals(e.getLocalName() != null ? e.getLocalName() : e.getNodeName())) {
                return e;
            }
        }
        return null;
    }

    private static byte[] serialize(Document doc) throws Exception {
        Transformer t = TransformerFactory.newInstance().newTransformer();
        t.setOutputProperty(OutputKeys.ENCODING, "UTF-8");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        t.transform(new DOMSource(doc), new StreamResult(out));
        return out.toByteArray();
    }
}
