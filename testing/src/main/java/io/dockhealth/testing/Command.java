package io.dockhealth.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** A command run to completion with a bounded wait, its stdout and stderr together. */
public record Command(List<String> command, int exitCode, String output) {

  /**
   * Runs {@code command} in {@code dir} for at most {@code timeout}; a command that takes longer is
   * killed and reported with exit code -1.
   */
  public static Command run(Path dir, Duration timeout, String... command) {
    Process process;
    try {
      process = new ProcessBuilder(command)
          .directory(dir.toFile())
          .redirectErrorStream(true)
          .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
          .start();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot run " + List.of(command) + " (is it installed? scripts/test installs it)", e);
    }
    CompletableFuture<String> output = CompletableFuture.supplyAsync(() -> {
      try {
        return new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      } catch (IOException e) {
        return "(output lost: " + e + ")";
      }
    });
    try {
      boolean finished = process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
      if (!finished) {
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
      }
      return new Command(List.of(command), finished ? process.exitValue() : -1,
          output.get(10, TimeUnit.SECONDS));
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while running " + List.of(command), e);
    } catch (ExecutionException | TimeoutException e) {
      throw new IllegalStateException("cannot read the output of " + List.of(command), e);
    }
  }

  /** For assertion messages: the command, how it ended and what it said. */
  public String describe() {
    return "`" + String.join(" ", command) + "` exited with " + exitCode + ":\n" + output;
  }
}
