package io.dockhealth.bench;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.function.Function;

/**
 * The side door of a bench server JVM: the orchestrator asks it over HTTP on 127.0.0.1 to flip a
 * status (and tell when, in {@link System#nanoTime()}, which on Linux is CLOCK_MONOTONIC and so the
 * same clock in every process of the machine), to measure its heap, or to quit. It runs on its own
 * thread, apart from the servers being measured.
 */
final class Control {
  private final HttpServer server;

  private Control(HttpServer server) {
    this.server = server;
  }

  /** Serves {@code handlers} (path to a function of the query parameters) plus /heap and /quit. */
  static Control start(Map<String, Function<Map<String, String>, String>> handlers) throws IOException {
    HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 16);
    server.setExecutor(Executors.newSingleThreadExecutor(r -> {
      Thread thread = new Thread(r, "bench-control");
      thread.setDaemon(true);
      return thread;
    }));
    Map<String, Function<Map<String, String>, String>> all = new HashMap<>(handlers);
    all.put("/heap", q -> Long.toString(liveHeapBytes()));
    all.put("/quit", q -> {
      Thread quitter = new Thread(() -> {
        try {
          Thread.sleep(50);
        } catch (InterruptedException ignored) {
          // quit anyway
        }
        System.exit(0);
      });
      quitter.start();
      return "bye";
    });
    server.createContext("/", exchange -> {
      String body;
      int code;
      try {
        Function<Map<String, String>, String> handler = all.get(exchange.getRequestURI().getPath());
        if (handler == null) {
          code = 404;
          body = "no such control " + exchange.getRequestURI().getPath();
        } else {
          code = 200;
          body = handler.apply(query(exchange.getRequestURI().getRawQuery()));
        }
      } catch (RuntimeException e) {
        code = 500;
        body = e.toString();
      }
      byte[] bytes = (body + "\n").getBytes(StandardCharsets.UTF_8);
      exchange.sendResponseHeaders(code, bytes.length);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(bytes);
      }
    });
    server.start();
    return new Control(server);
  }

  int port() {
    return server.getAddress().getPort();
  }

  /** Heap in use after full collections: what the live objects take. */
  static long liveHeapBytes() {
    long used = Long.MAX_VALUE;
    for (int i = 0; i < 3; i++) {
      System.gc();
      try {
        Thread.sleep(100);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      used = Math.min(used, ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed());
    }
    return used;
  }

  private static Map<String, String> query(String raw) {
    Map<String, String> params = new HashMap<>();
    if (raw == null || raw.isEmpty()) {
      return params;
    }
    for (String pair : raw.split("&")) {
      String[] kv = pair.split("=", 2);
      params.put(URLDecoder.decode(kv[0], StandardCharsets.UTF_8),
          kv.length > 1 ? URLDecoder.decode(kv[1], StandardCharsets.UTF_8) : "");
    }
    return params;
  }
}
