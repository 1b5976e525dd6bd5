package org.gyocs.node;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import javax.naming.InvalidNameException;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.TrustManagerFactory;

/**
 * Diameter over TLS (RFC 6733 section 13): TLS from the first byte, on a port of its own (5868 by
 * convention), with mutual authentication: a peer must present a certificate the trust store
 * vouches for, and that certificate must name the Origin-Host of its CER (a dNSName of its
 * subjectAltName, else its common name), or it gets CEA 3010 and is closed.
 *
 * @param port    the TLS port
 * @param context our key and certificate, and the trusted certificates of peers
 */
public record TlsSettings(int port, SSLContext context) {

    /**
     * Reads a PKCS12 key store (our key and certificate) and trust store (the CAs or certificates
     * of the peers), protected by one password.
     *
     * @throws IllegalArgumentException naming the file that cannot be read
     */
    public static TlsSettings load(int port, Path keyStore, Path trustStore, char[] password) {
        // a peer may not start a TLS 1.2 renegotiation (it left mock mode's engine waiting for the
        // peer while the event loop was asked to write; it is a known denial of service besides)
        if (System.getProperty("jdk.tls.rejectClientInitiatedRenegotiation") == null) {
            System.setProperty("jdk.tls.rejectClientInitiatedRenegotiation", "true");
        }
        try {
            KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(read(keyStore, password), password);
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(read(trustStore, password));
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);
            return new TlsSettings(port, context);
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException("Cannot set up TLS: " + e.getMessage(), e);
        }
    }

    private static KeyStore read(Path file, char[] password) {
        try (InputStream in = Files.newInputStream(file)) {
            KeyStore ks = KeyStore.getInstance("PKCS12");
            ks.load(in, password);
            return ks;
        } catch (IOException | GeneralSecurityException e) {
            throw new IllegalArgumentException("Cannot read the key store " + file + ": " + e.getMessage(), e);
        }
    }

    /** The protocols offered: TLS 1.2 and 1.3 (RFC 6733 section 13 requires TLS 1.0 at least; 1.2 is a floor today). */
    public static final String[] PROTOCOLS = {"TLSv1.3", "TLSv1.2"};

    /** The server side of both transports: PROTOCOLS, and a client certificate required. */
    public SSLParameters serverParameters() {
        SSLParameters p = context().getDefaultSSLParameters();
        p.setProtocols(PROTOCOLS);
        p.setNeedClientAuth(true);
        return p;
    }

    /** The names a certificate gives its subject: its subjectAltName dNSNames, else its common name. */
    public static List<String> names(X509Certificate cert) {
        List<String> out = new ArrayList<>();
        try {
            if (cert.getSubjectAlternativeNames() != null) {
                for (List<?> san : cert.getSubjectAlternativeNames()) {
                    if (Integer.valueOf(2).equals(san.get(0))) { // dNSName
                        out.add(String.valueOf(san.get(1)));
                    }
                }
            }
        } catch (CertificateParsingException e) {
            return out;
        }
        if (out.isEmpty()) {
            try {
                for (Rdn rdn : new LdapName(cert.getSubjectX500Principal().getName()).getRdns()) {
                    if (rdn.getType().equalsIgnoreCase("CN")) {
                        out.add(String.valueOf(rdn.getValue()));
                    }
                }
            } catch (InvalidNameException e) {
                return out;
            }
        }
        return out;
    }

    /** Whether the certificate names this Origin-Host (case-insensitive, no wildcards). */
    public static boolean certifies(X509Certificate cert, String originHost) {
        if (cert == null || originHost == null) {
            return false;
        }
        String host = originHost.toLowerCase(Locale.ROOT);
        for (String name : names(cert)) {
            if (name.toLowerCase(Locale.ROOT).equals(host)) {
                return true;
            }
        }
        return false;
    }
}
