package org.gyocs.cli;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.Proxy;

/**
 * SIGINT and SIGTERM handled by the node itself, so that a stop ends with exit status 0 after the
 * DPRs and the statistics (a JVM shutdown hook cannot choose the status: the JVM exits 130 or 143).
 * Through sun.misc.Signal of the jdk.unsupported module, the one way the JDK offers; looked up at
 * run time because javac warns of every compile-time use of it, and the build fails on warnings.
 */
final class Signals {
    private Signals() {
    }

    /** Runs {@code stop} on SIGINT and SIGTERM (on the JVM's signal thread: it must return at once). */
    static void onTermination(Runnable stop) {
        try {
            Class<?> signal = Class.forName("sun.misc.Signal");
            Class<?> handlerType = Class.forName("sun.misc.SignalHandler");
            InvocationHandler call = (proxy, method, args) -> switch (method.getName()) {
                case "handle" -> {
                    stop.run();
                    yield null;
                }
                case "hashCode" -> System.identityHashCode(proxy);
                case "equals" -> proxy == args[0];
                case "toString" -> "gy-ocs stop on signal";
                default -> null;
            };
            Object handler = Proxy.newProxyInstance(Signals.class.getClassLoader(), new Class<?>[] {handlerType}, call);
            for (String name : new String[] {"INT", "TERM"}) {
                signal.getMethod("handle", signal, handlerType)
                        .invoke(null, signal.getConstructor(String.class).newInstance(name), handler);
            }
        } catch (ReflectiveOperationException | RuntimeException e) {
            // without it the JVM's default applies: shutdown hooks run, the status is 130/143
            System.err.println("Warning: cannot handle SIGINT/SIGTERM (" + e + "); a stop will exit 130/143");
        }
    }
}
