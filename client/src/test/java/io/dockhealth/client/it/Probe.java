package io.dockhealth.client.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/** dockhealth-probe as a HEALTHCHECK runs it: client/bin/dockhealth-probe, a process of its own. */
final class Probe {
  /** Probes still running; the shutdown hook kills whatever a failed test left (a watch, say). */
  private static final Set<Process> LIVE = ConcurrentHashMap.newKeySet();

  static {
    Runtime.getRuntime().addShutdownHook(new Thread(
        () -> LIVE.forEach(Process::destroyForcibly), "probe-process-reaper"));
  }

  private Probe() {}

  /** How one run ended. */
  record Result(int exitCode, String out, String err) {
    List<String> errLines() {
      return err.lines().toList();
    }

    List<String> outLines() {
      return out.lines().toList();
    }
  }

  static Path launcher() {
    Path launcher = Path.of(System.getProperty("dockhealth.probe.launcher", "bin/dockhealth-probe"));
    assertThat(launcher).as("the launcher").isExecutable();
    return launcher;
  }

  static Result run(String... args) {
    return run(Map.of(), args);
  }

  /** Runs the launcher with more environment variables and waits (at most 60 s) for it to exit. */
  static Result run(Map<String, String> env, String... args) {
    return runAt(launcher(), env, args);
  }

  /** Like {@link #run(Map, String...)}, with a launcher copied elsewhere. */
  static Result runAt(Path launcher, Map<String, String> env, String... args) {
    try {
      return start(launcher, env, args).finish(60);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** A probe that runs on (watch): what it prints is collected as it comes. */
  static final class Running {
    private final Process process;
    private final List<String> out = new CopyOnWriteArrayList<>();
    private final CompletableFuture<String> err;
    private final Thread outReader;

    private Running(Process process) {
      this.process = process;
      LIVE.add(process);
      this.err = CompletableFuture.supplyAsync(() -> read(process.getErrorStream()));
      this.outReader = new Thread(() -> {
        try (BufferedReader lines = new BufferedReader(
            new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
          lines.lines().forEach(out::add);
        } catch (IOException | UncheckedIOException e) {
          out.add("(stdout ends: " + e + ")");
        }
      }, "probe-stdout");
      outReader.setDaemon(true);
      outReader.start();
    }

    /** The lines printed so far. */
    List<String> outLines() {
      return List.copyOf(out);
    }

    /** Waits (at most {@code timeoutSeconds}) for the probe to exit. */
    Result finish(int timeoutSeconds) throws InterruptedException {
      boolean exited = process.waitFor(timeoutSeconds, TimeUnit.SECONDS);
      if (!exited) {
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
      LIVE.remove(process);
      outReader.join(TimeUnit.SECONDS.toMillis(10));
      assertThat(exited).as("probe exited within %s s; stdout: %s, stderr: %s", timeoutSeconds, out, err.join())
          .isTrue();
      return new Result(process.exitValue(), String.join("\n", out), err.join());
    }
  }

  static Running start(Map<String, String> env, String... args) {
    return start(launcher(), env, args);
  }

  private static Running start(Path launcher, Map<String, String> env, String... args) {
    List<String> command = new ArrayList<>(List.of(launcher.toString()));
    command.addAll(List.of(args));
    ProcessBuilder builder = new ProcessBuilder(command);
    // The JDK running the tests, which also made the CDS archive at package time.
    builder.environment().put("JAVA_HOME", System.getProperty("java.home"));
    builder.environment().putAll(env);
    try {
      return new Running(builder.start());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static String read(InputStream in) {
    try (in) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      return "(unreadable: " + e + ")";
    }
  }
}
