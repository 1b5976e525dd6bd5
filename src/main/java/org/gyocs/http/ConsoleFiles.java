package org.gyocs.http;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * The web console's static files, from the jar (src/main/resources/console): HTML, CSS and
 * JavaScript written by hand, no build step and no other origin. Only the files listed here are
 * served, so that no path can reach anything else on the class path.
 */
final class ConsoleFiles {
    private static final Map<String, String> FILES = Map.of(
            "/", "index.html",
            "/console/console.css", "console.css",
            "/console/console.js", "console.js",
            "/console/favicon.svg", "favicon.svg");

    private ConsoleFiles() {
    }

    static OperatorHttpServer.Response get(String path, String method) {
        if (!method.equals("GET") && !method.equals("HEAD")) {
            return text(405, "the console's files are read with GET");
        }
        String name = FILES.get(path);
        if (name == null) {
            return text(404, "no such file of the console: " + path);
        }
        try (InputStream in = ConsoleFiles.class.getResourceAsStream("/console/" + name)) {
            if (in == null) {
                return text(404, "the console's " + name + " is missing from the jar");
            }
            return new OperatorHttpServer.Response(200, type(name), in.readAllBytes());
        } catch (IOException e) {
            return text(500, "cannot read the console's " + name + ": " + e.getMessage());
        }
    }

    private static String type(String name) {
        if (name.endsWith(".html")) {
            return "text/html; charset=utf-8";
        }
        if (name.endsWith(".css")) {
            return "text/css; charset=utf-8";
        }
        if (name.endsWith(".js")) {
            return "text/javascript; charset=utf-8";
        }
        return "image/svg+xml";
    }

    private static OperatorHttpServer.Response text(int status, String message) {
        return new OperatorHttpServer.Response(status, "text/plain; charset=utf-8",
                message.getBytes(StandardCharsets.UTF_8));
    }
}
