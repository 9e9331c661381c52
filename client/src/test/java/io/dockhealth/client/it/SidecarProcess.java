package io.dockhealth.client.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.dockhealth.testing.DockerEngine;
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
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The sidecar as operators run it: the packaged server/target/dockhealth.jar in a process of its
 * own, against a private Docker engine, on a loopback port. Stopping and starting it again on the
 * same port is a server restart as a client sees one.
 */
final class SidecarProcess implements AutoCloseable {
  private static final Pattern LISTENING = Pattern.compile("gRPC listening on .*:(\\d+)$");

  /** Sidecars not stopped yet; the shutdown hook kills whatever a failed or careless test left. */
  private static final Set<Process> LIVE = ConcurrentHashMap.newKeySet();

  static {
    Runtime.getRuntime().addShutdownHook(new Thread(
        () -> LIVE.forEach(Process::destroyForcibly), "sidecar-process-reaper"));
  }

  private final Process process;
  private final List<String> log;
  private final int port;

  private SidecarProcess(Process process, List<String> log, int port) {
    this.process = process;
    this.log = log;
    this.port = port;
  }

  static Path jar() {
    Path jar = Path.of(System.getProperty("dockhealth.sidecar.jar", "../server/target/dockhealth.jar"));
    assertThat(jar).as("the sidecar's jar; build it first: mvn -pl proto,server install -DskipTests").exists();
    return jar;
  }

  /** Starts the sidecar on 127.0.0.1:{@code port} (0: any free port) and waits until it listens. */
  static SidecarProcess start(DockerEngine engine, int port) throws IOException {
    List<String> command = new ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-jar", jar().toString(),
        "--grpc-address", "127.0.0.1:" + port, "--docker-host", engine.host(), "--drain-period", "0s"));
    ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
    // Any free port for the HTTP gateway too (an environment variable: a sidecar without the gateway
    // ignores it), so that tests never collide with a sidecar someone runs on 4246.
    builder.environment().put("DOCKHEALTH_HTTP_ADDRESS", "127.0.0.1:0");
    builder.environment().remove("DOCKER_HOST");
    Process process = builder.start();
    LIVE.add(process);
    List<String> log = new CopyOnWriteArrayList<>();
    Thread reader = new Thread(() -> {
      try (BufferedReader lines = new BufferedReader(
          new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
        lines.lines().forEach(log::add);
      } catch (IOException | UncheckedIOException e) {
        log.add("(log ends: " + e + ")");
      }
    }, "sidecar-log");
    reader.setDaemon(true);
    reader.start();
    int[] listening = new int[1];
    try {
      await().atMost(Duration.ofSeconds(60)).until(() -> {
        for (String line : log) {
          Matcher m = LISTENING.matcher(line);
          if (m.find()) {
            listening[0] = Integer.parseInt(m.group(1));
            return true;
          }
        }
        assertThat(process.isAlive()).as("sidecar exited early: %s", log).isTrue();
        return false;
      });
    } catch (RuntimeException | Error e) {
      process.destroyForcibly();
      LIVE.remove(process);
      throw e;
    }
    return new SidecarProcess(process, log, listening[0]);
  }

  int port() {
    return port;
  }

  String address() {
    return "127.0.0.1:" + port;
  }

  List<String> log() {
    return List.copyOf(log);
  }

  /** SIGTERM, as docker stop sends, and waits until the process is gone (SIGKILL after 20 s). */
  void stop() throws InterruptedException {
    process.toHandle().destroy();
    if (!process.waitFor(20, TimeUnit.SECONDS)) {
      process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
    LIVE.remove(process);
  }

  @Override
  public void close() throws InterruptedException {
    if (process.isAlive()) {
      stop();
    }
  }

  static {
    assertThat(Files.isRegularFile(jar())).isTrue();
  }
}
