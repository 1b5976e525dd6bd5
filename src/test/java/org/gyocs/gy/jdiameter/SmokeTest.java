package org.gyocs.gy.jdiameter;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Path;

import org.gyocs.app.GyDiameterApplication;
import org.gyocs.client.GyTestClient;
import org.gyocs.core.RequestType;
import org.jdiameter.api.Answer;
import org.jdiameter.api.Avp;
import org.junit.jupiter.api.Test;

class SmokeTest {
    @Test
    void smoke() throws Exception {
        GyDiameterApplication app = GyDiameterApplication.builder().port(0).ip("127.0.0.1")
                .config(Path.of("config/jdiameter-config.xml")).build();
        app.start(false);
        try (GyTestClient c = new GyTestClient("127.0.0.1", app.getPort(), "pcef.test.local", "example.com", 5000)) {
            c.connect();
            String sid = c.newSessionId();
            Answer a = c.send(c.creditControlRequest(sid, RequestType.INITIAL, 0, "491700000000"));
            System.out.println("RC " + a.getResultCode().getUnsigned32());
            for (Avp avp : a.getAvps()) System.out.println(" avp " + avp.getCode());
        } finally {
            app.stop();
        }
        System.out.println(app.getStatistics());
        Thread.getAllStackTraces().keySet().forEach(t -> System.out.println("thread " + t.getName() + " daemon=" + t.isDaemon()));
    }
}
