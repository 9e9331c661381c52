package io.dockhealth.lua.testing;

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
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * {@code docker events} of one engine, followed from now on: when Docker says something happened,
 * by Docker's own clock (the same machine's), to measure how soon nginx follows.
 */
public final class DockerEvents implements AutoCloseable {
  private final Process process;
  private final List<String> lines = new CopyOnWriteArrayList<>();

  private DockerEvents(Process process) {
    this.process = process;
  }

  /** Follows the engine's container events; returns once the CLI is connected. */
  public static DockerEvents follow(DockerEngine engine) {
    ProcessBuilder builder = new ProcessBuilder(DockerEngine.DOCKER_CLI, "-H", engine.host(), "events",
        "--filter", "type=container", "--format", "{{.TimeNano}} {{.Actor.Attributes.name}} {{.Action}}");
    Map<String, String> env = builder.environment();
    for (String variable : List.of("DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH")) {
      env.remove(variable);
    }
    try {
      Path config = Files.createDirectories(Path.of("/tmp/dockhealth-lua-it/cli-config"));
      env.put("DOCKER_CONFIG", config.toString());
      DockerEvents events = new DockerEvents(builder.redirectErrorStream(true).start());
      Thread reader = new Thread(() -> {
        try (BufferedReader in = new BufferedReader(
            new InputStreamReader(events.process.getInputStream(), StandardCharsets.UTF_8))) {
          in.lines().forEach(events.lines::add);
        } catch (IOException | UncheckedIOException e) {
          // the process was stopped
        }
      }, "docker-events");
      reader.setDaemon(true);
      reader.start();
      // Connected once an event comes through: make one.
      engine.docker("run", "--rm", "--network", "host", "--name", "events-probe", DockerEngine.IMAGE, "true");
      await().atMost(Duration.ofSeconds(30)).until(() -> events.lines.stream().anyMatch(l -> l.contains("events-probe")));
      return events;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot run docker events", e);
    }
  }

  /**
   * When {@code container} had the event {@code action} (such as {@code health_status: unhealthy}),
   * in milliseconds since the epoch; waits up to 30 s for it.
   */
  public long timeOf(String container, String action) {
    String suffix = " " + container + " " + action;
    String line = await().atMost(Duration.ofSeconds(30)).until(
        () -> lines.stream().filter(l -> l.endsWith(suffix)).findFirst().orElse(null), l -> l != null);
    return Long.parseLong(line.substring(0, line.indexOf(' '))) / 1_000_000;
  }

  @Override
  public void close() {
    process.destroy();
    try {
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        process.destroyForcibly();
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    }
  }
}
