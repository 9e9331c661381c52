package io.dockhealth.bench;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * A server JVM of the bench (our {@link SubjectServer} or the {@link BaselineServer}) started on this
 * JVM's class path and JDK, with default JVM options for both, so neither is tuned. It prints
 * {@code READY key=port ...} once it serves; its other output goes to a log file.
 */
final class JvmChild implements AutoCloseable {
  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  private final String name;
  private final Process process;
  private final Map<String, Integer> ports;

  private JvmChild(String name, Process process, Map<String, Integer> ports) {
    this.name = name;
    this.process = process;
    this.ports = ports;
  }

  /** Starts {@code mainClass} with {@code args} and waits (at most 60 s) for its READY line. */
  static JvmChild start(String name, Class<?> mainClass, Path logDir, List<String> args) {
    return start(name, mainClass, logDir, List.of(), args);
  }

  /**
   * As {@link #start(String, Class, Path, List)}, with {@code jvmOptions} after this JVM's class path
   * (so a {@code -cp} among them replaces it).
   */
  static JvmChild start(String name, Class<?> mainClass, Path logDir, List<String> jvmOptions, List<String> args) {
    List<String> command = new ArrayList<>(List.of(Proc.javaBinary(), "-cp", System.getProperty("java.class.path")));
    command.addAll(jvmOptions);
    command.add(mainClass.getName());
    command.addAll(args);
    Path log = logDir.resolve(name + ".log");
    Process process;
    try {
      Files.createDirectories(logDir);
      process = new ProcessBuilder(command)
          .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
          .redirectError(ProcessBuilder.Redirect.appendTo(log.toFile()))
          .start();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start " + command, e);
    }
    CompletableFuture<Map<String, Integer>> ready = new CompletableFuture<>();
    Thread reader = new Thread(() -> {
      try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
          Writer out = Files.newBufferedWriter(log, StandardCharsets.UTF_8,
              java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND)) {
        String line;
        while ((line = in.readLine()) != null) {
          if (line.startsWith("READY") && !ready.isDone()) {
            Map<String, Integer> found = new HashMap<>();
            for (String part : line.substring(5).trim().split("\\s+")) {
              String[] kv = part.split("=", 2);
              if (kv.length == 2) {
                found.put(kv[0], Integer.parseInt(kv[1]));
              }
            }
            ready.complete(found);
          }
          out.write(line);
          out.write('\n');
          out.flush();
        }
      } catch (IOException | RuntimeException e) {
        ready.completeExceptionally(e);
      }
      ready.completeExceptionally(new IllegalStateException(name + " exited before READY; see " + log));
    }, "bench-" + name + "-stdout");
    reader.setDaemon(true);
    reader.start();
    try {
      return new JvmChild(name, process, ready.get(60, TimeUnit.SECONDS));
    } catch (Exception e) {
      Proc.stop(process, Duration.ofSeconds(5));
      throw new IllegalStateException(name + " did not get ready: " + e + "; see " + log, e);
    }
  }

  String name() {
    return name;
  }

  long pid() {
    return process.pid();
  }

  int port(String key) {
    Integer port = ports.get(key);
    if (port == null) {
      throw new IllegalStateException(name + " reported no " + key + " port: " + ports);
    }
    return port;
  }

  /** GET on the child's control endpoint, e.g. {@code control("/heap")}; returns the body. */
  String control(String pathAndQuery) {
    try {
      HttpResponse<String> response = HTTP.send(
          HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port("control") + pathAndQuery))
              .timeout(Duration.ofSeconds(60)).GET().build(),
          HttpResponse.BodyHandlers.ofString());
      if (response.statusCode() != 200) {
        throw new IllegalStateException(name + pathAndQuery + ": HTTP " + response.statusCode() + " " + response.body());
      }
      return response.body().trim();
    } catch (IOException e) {
      throw new UncheckedIOException(name + pathAndQuery, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  long controlLong(String pathAndQuery) {
    return Long.parseLong(control(pathAndQuery));
  }

  long rssBytes() {
    return Proc.rssBytes(pid());
  }

  @Override
  public void close() {
    Proc.stop(process, Duration.ofSeconds(5));
  }
}
