package io.dockhealth.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** A command run to completion with a bounded wait: how it ended, its stdout and its stderr. */
public record Command(List<String> command, int exitCode, String stdout, String stderr) {

  /**
   * Runs {@code command} in {@code dir} for at most {@code timeout}; a command that takes longer is
   * killed and reported with exit code -1.
   */
  public static Command run(Path dir, Duration timeout, String... command) {
    return run(List.of(command), dir, timeout, Map.of());
  }

  /** Runs {@code command} in the current directory for at most {@code timeout}. */
  public static Command run(List<String> command, Duration timeout) {
    return run(command, null, timeout, Map.of());
  }

  /** Runs {@code command} for at most {@code timeout}, with more environment variables. */
  public static Command run(List<String> command, Duration timeout, Map<String, String> env) {
    return run(command, null, timeout, env);
  }

  /** Sends the signal {@code name} (STOP, CONT, TERM, ...) to the process {@code pid}; throws if kill fails. */
  public static void signal(long pid, String name) {
    run(List.of("kill", "-" + name, Long.toString(pid)), Duration.ofSeconds(10)).orThrow();
  }

  private static Command run(List<String> command, Path dir, Duration timeout, Map<String, String> env) {
    ProcessBuilder builder = new ProcessBuilder(command)
        .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
    if (dir != null) {
      builder.directory(dir.toFile());
    }
    builder.environment().putAll(env);
    Process process;
    try {
      process = builder.start();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot run " + command + " (is it installed? scripts/test installs it)", e);
    }
    Drain out = new Drain(process.getInputStream(), "stdout");
    Drain err = new Drain(process.getErrorStream(), "stderr");
    try {
      boolean finished = process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
      if (!finished) {
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
      }
      return new Command(List.copyOf(command), finished ? process.exitValue() : -1, out.text(), err.text());
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while running " + command, e);
    }
  }

  /** Both streams, stdout first. */
  public String output() {
    return stdout + stderr;
  }

  /**
   * The stdout of a command that exited with 0.
   *
   * @throws IllegalStateException naming the command, how it ended and its stderr, otherwise
   */
  public String orThrow() {
    if (exitCode != 0) {
      throw new IllegalStateException("`" + String.join(" ", command) + "` "
          + (exitCode == -1 ? "timed out" : "exited with " + exitCode) + ": " + stderr.trim());
    }
    return stdout;
  }

  /** For assertion messages: the command, how it ended and what it said. */
  public String describe() {
    return "`" + String.join(" ", command) + "` exited with " + exitCode + ":\n" + output();
  }
}
