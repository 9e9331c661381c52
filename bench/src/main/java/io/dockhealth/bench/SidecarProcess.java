package io.dockhealth.bench;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The sidecar as operators run it: {@code java -jar server/target/dockhealth.jar} with default JVM
 * options, pointed at the bench's engine, gRPC and HTTP on free loopback ports, no drain period (so
 * the bench does not wait on shutdown).
 */
final class SidecarProcess implements AutoCloseable {
  final Process process;
  final int grpcPort;
  final int httpPort;
  final long startedNanos;

  private SidecarProcess(Process process, int grpcPort, int httpPort, long startedNanos) {
    this.process = process;
    this.grpcPort = grpcPort;
    this.httpPort = httpPort;
    this.startedNanos = startedNanos;
  }

  static Path jar(Bench bench) {
    Path jar = bench.artifact("server/target/dockhealth.jar");
    if (!Files.isRegularFile(jar)) {
      throw new IllegalStateException(jar + " is missing: build with mvn install -DskipTests (bench/run does)");
    }
    return jar;
  }

  static SidecarProcess start(Bench bench, String dockerHost, String logName, List<String> jvmOptions) {
    return start(bench, dockerHost, logName, jvmOptions, List.of());
  }

  /** @param flags more sidecar flags, after the bench's own */
  static SidecarProcess start(Bench bench, String dockerHost, String logName, List<String> jvmOptions,
      List<String> flags) {
    int grpc = Proc.freePort();
    int http = Proc.freePort();
    List<String> command = new ArrayList<>(List.of(Proc.javaBinary()));
    command.addAll(jvmOptions);
    command.addAll(List.of("-jar", jar(bench).toString(), "--docker-host", dockerHost,
        "--grpc-address", "127.0.0.1:" + grpc, "--http-address", "127.0.0.1:" + http, "--drain-period", "0s"));
    command.addAll(flags);
    Path log = bench.logs().resolve(logName + ".log");
    try {
      Files.createDirectories(bench.logs());
      long t0 = System.nanoTime();
      Process process = new ProcessBuilder(command)
          .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
          .redirectErrorStream(true)
          .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
          .start();
      return new SidecarProcess(process, grpc, http, t0);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start " + command, e);
    }
  }

  long pid() {
    return process.pid();
  }

  /** Waits until the gRPC port accepts connections; false if the process died or the time ran out. */
  boolean awaitListening(Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      if (!process.isAlive()) {
        return false;
      }
      if (Proc.accepts(grpcPort)) {
        return true;
      }
      Proc.sleep(Duration.ofMillis(2));
    }
    return false;
  }

  @Override
  public void close() {
    Proc.stop(process, Duration.ofSeconds(10));
  }
}
