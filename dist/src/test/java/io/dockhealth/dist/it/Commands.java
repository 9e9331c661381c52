package io.dockhealth.dist.it;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** Runs the commands the packaging tests drive (dpkg, docker, systemd-analyze, the installed binaries). */
final class Commands {
  private Commands() {}

  /** What a command printed (stdout and stderr together) and how it ended. */
  record Output(List<String> command, int exitCode, String text) {
    /** The output, or an exception naming the command, its exit code and its output. */
    String ok() {
      if (exitCode != 0) {
        throw new IllegalStateException(this.toString());
      }
      return text;
    }

    @Override
    public String toString() {
      return "`" + String.join(" ", command) + "` exited " + (exitCode == -1 ? "(timed out)" : exitCode)
          + ", output:\n" + text;
    }
  }

  static Output run(Duration timeout, String... command) {
    return run(Map.of(), timeout, List.of(command));
  }

  /**
   * Runs a command with {@code env} added to this JVM's environment, killing it after
   * {@code timeout}. The Docker CLI's own settings (~/.docker, DOCKER_HOST) play no part.
   */
  static Output run(Map<String, String> env, Duration timeout, List<String> command) {
    try {
      Path out = Files.createTempFile("dockhealth-dist-it-", ".out");
      try {
        ProcessBuilder builder = new ProcessBuilder(command)
            .redirectErrorStream(true)
            .redirectOutput(out.toFile())
            .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        builder.environment().remove("DOCKER_HOST");
        builder.environment().remove("DOCKER_CONTEXT");
        builder.environment().put("DOCKER_CONFIG", "/tmp/dockhealth-it/cli-config");
        builder.environment().putAll(env);
        Process process = builder.start();
        boolean done = process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
        if (!done) {
          process.descendants().forEach(ProcessHandle::destroyForcibly);
          process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
        return new Output(command, done ? process.exitValue() : -1,
            Files.readString(out, StandardCharsets.UTF_8));
      } finally {
        Files.deleteIfExists(out);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot run " + command, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while running " + command, e);
    }
  }

  /** A loopback port free right now, for a server that must be told its port in advance. */
  static int freePort() {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** A build output of the dist module, e.g. {@code runtime}; fails if the build has not made it. */
  static Path distFile(String name) {
    Path path = Path.of(System.getProperty("dockhealth.dist.dir", "target")).resolve(name);
    if (!Files.exists(path)) {
      throw new IllegalStateException(path + " is missing: build it with mvn package -pl dist -am");
    }
    return path;
  }

  /** The Debian package the build made. */
  static Path deb() {
    try (var files = Files.list(distFile("."))) {
      return files.filter(file -> file.getFileName().toString().matches("dockhealth_.*\\.deb"))
          .findFirst()
          .orElseThrow(() -> new IllegalStateException("no dockhealth_*.deb in " + distFile(".")));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static String version() {
    return System.getProperty("dockhealth.version", "0.1.0-SNAPSHOT");
  }

  static Path deployDir() {
    return Path.of(System.getProperty("dockhealth.deploy.dir", "../deploy"));
  }
}
