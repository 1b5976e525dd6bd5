package org.gyocs.testing;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.util.ArrayList;
import java.util.List;

import org.gyocs.codec.Avp;
import org.gyocs.codec.AvpCodes;
import org.gyocs.codec.CommandCodes;
import org.gyocs.codec.DiameterCodec;
import org.gyocs.codec.DiameterDecodeException;
import org.gyocs.codec.DiameterMessage;

/**
 * A Diameter peer at the byte level, on our codec, for tests that must control or see the bytes:
 * broken messages, pipelining, split writes, the DPR a node sends at stop.
 */
public final class TestPeer implements AutoCloseable {
    private final Socket socket;
    private final DataInputStream in;
    private final OutputStream out;
    private int hopByHop = 1000;

    public TestPeer(int port) throws IOException {
        this(new Socket(InetAddress.getLoopbackAddress(), port));
    }

    /** The other side of a connection a test accepted (a fake node). */
    public TestPeer(Socket connected) throws IOException {
        socket = connected;
        socket.setTcpNoDelay(true);
        socket.setSoTimeout(5000);
        in = new DataInputStream(socket.getInputStream());
        out = socket.getOutputStream();
    }

    public Socket socket() {
        return socket;
    }

    public int nextHopByHop() {
        return hopByHop++;
    }

    public static DiameterMessage cer(String originHost, String realm, long applicationId) {
        return new DiameterMessage(DiameterMessage.FLAG_REQUEST, CommandCodes.CAPABILITIES_EXCHANGE, 0, 1, 1, List.of(
                Avp.utf8(AvpCodes.ORIGIN_HOST, originHost), Avp.utf8(AvpCodes.ORIGIN_REALM, realm),
                Avp.address(AvpCodes.HOST_IP_ADDRESS, InetAddress.getLoopbackAddress()),
                Avp.unsigned32(AvpCodes.VENDOR_ID, 0), Avp.utf8(AvpCodes.PRODUCT_NAME, "test-peer").optional(),
                Avp.unsigned32(AvpCodes.AUTH_APPLICATION_ID, applicationId)));
    }

    /** CER/CEA; returns the CEA. */
    public DiameterMessage handshake() throws IOException, DiameterDecodeException {
        return handshake("raw.test.local");
    }

    /** CER/CEA as another peer; returns the CEA. */
    public DiameterMessage handshake(String originHost) throws IOException, DiameterDecodeException {
        write(DiameterCodec.encode(cer(originHost, "test.local", 4)));
        return read();
    }

    /**
     * jDiameter can drop a request that arrives within milliseconds of its CEA on a new peer: its
     * PeerFSMImpl.handleEvent may start a second set of FSM threads before the first has counted
     * itself, and the second one handles the request while the peer is still DOWN (see README,
     * troubleshooting). A DWR answered proves the peer open; retried, as it can be dropped too.
     */
    public void awaitOpen() throws IOException, DiameterDecodeException {
        socket.setSoTimeout(200);
        try {
            for (int i = 0; i < 20; i++) {
                int id = nextHopByHop();
                send(new DiameterMessage(DiameterMessage.FLAG_REQUEST, CommandCodes.DEVICE_WATCHDOG, 0, id, id, List.of(
                        Avp.utf8(AvpCodes.ORIGIN_HOST, "raw.test.local"), Avp.utf8(AvpCodes.ORIGIN_REALM, "test.local"))));
                try {
                    while (read().hopByHop() != id) {
                        // an answer to an earlier, late DWR
                    }
                    return;
                } catch (SocketTimeoutException e) {
                    // dropped: try again
                }
            }
            throw new IOException("the node never answered a DWR");
        } finally {
            socket.setSoTimeout(5000);
        }
    }

    public void write(byte[] bytes) throws IOException {
        out.write(bytes);
        out.flush();
    }

    public void send(DiameterMessage m) throws IOException {
        write(DiameterCodec.encode(m));
    }

    /** Reads one message; throws SocketTimeoutException after the socket timeout. */
    public DiameterMessage read() throws IOException, DiameterDecodeException {
        return DiameterCodec.decode(readFrame());
    }

    public byte[] readFrame() throws IOException {
        int first = in.readInt();
        int length = first & 0xFFFFFF;
        byte[] frame = new byte[length];
        frame[0] = (byte) (first >>> 24);
        frame[1] = (byte) (first >>> 16);
        frame[2] = (byte) (first >>> 8);
        frame[3] = (byte) first;
        in.readFully(frame, 4, length - 4);
        return frame;
    }

    /** True when the node closed the connection (EOF) within the socket timeout. */
    public boolean closedByNode() throws IOException {
        try {
            return in.read() < 0 || drainUntilEof();
        } catch (SocketTimeoutException e) {
            return false;
        } catch (IOException e) {
            return true; // reset
        }
    }

    private boolean drainUntilEof() throws IOException {
        while (in.read() >= 0) {
            // skip what the node sent before closing
        }
        return true;
    }

    public DiameterMessage request(DiameterMessage m) throws IOException, DiameterDecodeException {
        send(m);
        return read();
    }

    /** An answer to a request the node sent us (DWR, DPR). */
    public void answer(DiameterMessage request) throws IOException {
        send(request.answer(false, List.of(Avp.unsigned32(AvpCodes.RESULT_CODE, 2001),
                Avp.utf8(AvpCodes.ORIGIN_HOST, "raw.test.local"), Avp.utf8(AvpCodes.ORIGIN_REALM, "test.local"))));
    }

    public static byte[] concat(List<byte[]> parts) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        parts.forEach(b::writeBytes);
        return b.toByteArray();
    }

    public static List<Avp> list(Avp... avps) {
        return new ArrayList<>(List.of(avps));
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
