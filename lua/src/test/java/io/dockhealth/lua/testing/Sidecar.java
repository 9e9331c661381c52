package io.dockhealth.lua.testing;

import static org.awaitility.Awaitility.await;

import io.dockhealth.server.testing.DockerEngine;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The packaged sidecar ({@code server/target/dockhealth.jar}) as a process watching one engine,
 * its HTTP gateway on a fixed loopback port so that it can be killed and started again where
 * nginx expects it.
 */
public final class Sidecar implements AutoCloseable {
  /** Set by failsafe (see lua/pom.xml); the default suits a run from lua/. */
  private static final Path JAR = Path.of(System.getProperty("dockhealth.sidecar.jar", "../server/target/dockhealth.jar"));

  private static final Pattern REQUESTS = Pattern.compile(
      "^dockhealth_http_requests_total\\{(.*)\\} ([0-9.eE+-]+)$", Pattern.MULTILINE);
  private static final Pattern LONG_POLLS = Pattern.compile("^dockhealth_http_long_polls ([0-9.eE+-]+)$", Pattern.MULTILINE);

  private final DockerEngine engine;
  private final int port;
  private final List<String> flags;
  private final List<String> log = new CopyOnWriteArrayList<>();
  private Process process; // guarded by this
  private boolean paused; // guarded by this

  private Sidecar(DockerEngine engine, int port, List<String> flags) {
    this.engine = engine;
    this.port = port;
    this.flags = flags;
  }

  /** Starts a sidecar for {@code engine} on a free port and waits until it is in sync with Docker. */
  public static Sidecar start(DockerEngine engine, String... flags) {
    Sidecar sidecar = new Sidecar(engine, Ports.free(), List.of(flags));
    sidecar.start();
    return sidecar;
  }

  /** (Re)starts the process on the same port and waits until {@code /healthz} answers 200. */
  public synchronized void start() {
    start(true);
  }

  /**
   * (Re)starts the process on the same port and waits until {@code /healthz} answers: with
   * {@code inSync}, 200 (in sync with Docker); without, any answer (503 while Docker is away).
   */
  public synchronized void start(boolean inSync) {
    if (process != null && process.isAlive()) {
      throw new IllegalStateException("sidecar on port " + port + " is running");
    }
    if (!Files.isRegularFile(JAR)) {
      throw new IllegalStateException(JAR.toAbsolutePath() + " is missing: build it first (mvn install -DskipTests)");
    }
    List<String> command = new ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-jar", JAR.toString(),
        "--docker-host", engine.host(), "--grpc-address", "127.0.0.1:0",
        "--http-address", "127.0.0.1:" + port, "--drain-period", "0s"));
    command.addAll(flags);
    Process started;
    try {
      started = new ProcessBuilder(command).redirectErrorStream(true).start();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start " + command, e);
    }
    process = started;
    Thread reader = new Thread(() -> {
      try (BufferedReader lines = new BufferedReader(
          new InputStreamReader(started.getInputStream(), StandardCharsets.UTF_8))) {
        lines.lines().forEach(log::add);
      } catch (IOException | UncheckedIOException e) {
        log.add("(log ends: " + e + ")");
      }
    }, "sidecar-" + port + "-log");
    reader.setDaemon(true);
    reader.start();
    await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100)).until(() -> {
      if (!started.isAlive()) {
        throw new IllegalStateException("sidecar exited with " + started.exitValue() + ": " + String.join("\n", log));
      }
      try {
        int status = Http.get(port, "/healthz").status();
        return status == 200 || (!inSync && status == 503);
      } catch (UncheckedIOException e) {
        return false;
      }
    });
  }

  /** SIGKILL, as a crash: no drain, connections cut. Returns once the process is gone. */
  public synchronized void kill() {
    if (process != null) {
      process.destroyForcibly(); // SIGKILL ends a stopped process too
      paused = false;
      try {
        process.waitFor(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /** SIGSTOP, as a hang: the process keeps its sockets (connections are accepted) but answers nothing. */
  public synchronized void pause() {
    signal("STOP");
    paused = true;
  }

  /** SIGCONT after {@link #pause()}. */
  public synchronized void resume() {
    signal("CONT");
    paused = false;
  }

  private void signal(String name) {
    Command kill = Command.run(Path.of("."), Duration.ofSeconds(10), "kill", "-" + name, Long.toString(process.pid()));
    if (kill.exitCode() != 0) {
      throw new IllegalStateException(kill.describe());
    }
  }

  /** The gateway's address, {@code 127.0.0.1:port}. */
  public String address() {
    return "127.0.0.1:" + port;
  }

  public int port() {
    return port;
  }

  /** HTTP requests the gateway has answered, {@code /metrics} and {@code /healthz} left out. */
  public long requestsServed() {
    String metrics = Http.get(port, "/metrics").body();
    long total = 0;
    Matcher m = REQUESTS.matcher(metrics);
    while (m.find()) {
      if (!m.group(1).contains("route=\"/metrics\"") && !m.group(1).contains("route=\"/healthz\"")) {
        total += (long) Double.parseDouble(m.group(2));
      }
    }
    return total;
  }

  /** Long-polls of {@code GET /v1/health} waiting now. */
  public int longPolls() {
    Matcher m = LONG_POLLS.matcher(Http.get(port, "/metrics").body());
    if (!m.find()) {
      throw new IllegalStateException("no dockhealth_http_long_polls in /metrics");
    }
    return (int) Double.parseDouble(m.group(1));
  }

  /** The process's log, for failure messages. */
  public String log() {
    return String.join("\n", log);
  }

  /** SIGTERM, then SIGKILL after 10 s. */
  @Override
  public synchronized void close() {
    if (process == null) {
      return;
    }
    if (paused) {
      resume(); // a stopped JVM would not act on SIGTERM
    }
    process.destroy();
    try {
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    }
  }
}
