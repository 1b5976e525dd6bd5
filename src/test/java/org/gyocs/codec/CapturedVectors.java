package org.gyocs.codec;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/** The PDUs of src/test/resources/vectors/freediameter-gy.txt (captured from the freeDiameter client). */
public final class CapturedVectors {

    /** One captured PDU: who sent it, e.g. "CCR-R", the CC-Request-Type or null, the bytes. */
    public record Pdu(String sender, String kind, Integer requestType, byte[] bytes) {
        public boolean fromClient() {
            return sender.equals("client");
        }
    }

    private CapturedVectors() {
    }

    public static List<Pdu> load() throws IOException {
        List<Pdu> out = new ArrayList<>();
        try (InputStream in = CapturedVectors.class.getResourceAsStream("/vectors/freediameter-gy.txt")) {
            for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
                if (line.isBlank() || line.startsWith("#")) {
                    continue;
                }
                String[] f = line.trim().split(" ");
                out.add(new Pdu(f[0], f[1], f[2].equals("-") ? null : Integer.valueOf(f[2]), HexFormat.of().parseHex(f[3])));
            }
        }
        return out;
    }
}
