package io.dockhealth.lua.testing;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A real HTTP backend on 127.0.0.1, standing in for a host's nginx: every request gets 200 and the
 * backend's name as the body.
 */
public final class Backend implements AutoCloseable {
  private final String name;
  private final HttpServer server;
  private final AtomicInteger requests = new AtomicInteger();

  private Backend(String name, HttpServer server) {
    this.name = name;
    this.server = server;
  }

  /** Starts a backend answering {@code name} on a free port. */
  public static Backend start(String name) {
    HttpServer server;
    try {
      server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 50);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start backend " + name, e);
    }
    Backend backend = new Backend(name, server);
    byte[] body = (name + "\n").getBytes(StandardCharsets.UTF_8);
    server.createContext("/", exchange -> {
      backend.requests.incrementAndGet();
      exchange.getRequestBody().readAllBytes();
      exchange.getResponseHeaders().set("Content-Type", "text/plain");
      exchange.sendResponseHeaders(200, body.length);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(body);
      }
    });
    server.start();
    return backend;
  }

  /** Where nginx reaches it, {@code 127.0.0.1:port}. */
  public String address() {
    return "127.0.0.1:" + server.getAddress().getPort();
  }

  public String name() {
    return name;
  }

  /** Requests answered so far. */
  public int requests() {
    return requests.get();
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
