package io.dockhealth.bench;

import io.dockhealth.testing.Command;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Child processes and /proc, the small things every figure needs. */
final class Proc {
  private Proc() {}

  /** SIGTERM, then SIGKILL after {@code grace}; returns once the process is gone. */
  static void stop(Process process, Duration grace) {
    if (process == null || !process.isAlive()) {
      return;
    }
    process.destroy();
    try {
      if (!process.waitFor(grace.toMillis(), TimeUnit.MILLISECONDS)) {
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      process.destroyForcibly();
    }
  }

  /** Resident set size of a process in bytes, from /proc/PID/status (VmRSS). */
  static long rssBytes(long pid) {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
        if (line.startsWith("VmRSS:")) {
          String[] parts = line.trim().split("\\s+");
          return Long.parseLong(parts[1]) * 1024;
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    throw new IllegalStateException("no VmRSS for " + pid);
  }

  /**
   * Open file descriptors of a process by kind, from /proc/PID/fd: {@code socket}, {@code pipe},
   * {@code anon_inode:[eventpoll]} and the like, or the path of a file.
   */
  static SortedMap<String, Long> fdKinds(long pid) {
    SortedMap<String, Long> kinds = new TreeMap<>();
    try (var fds = Files.list(Path.of("/proc/" + pid + "/fd"))) {
      for (Path fd : (Iterable<Path>) fds::iterator) {
        String target;
        try {
          target = Files.readSymbolicLink(fd).toString();
        } catch (IOException e) {
          continue; // closed meanwhile
        }
        kinds.merge(target.replaceFirst("^(socket|pipe):\\[\\d+]$", "$1"), 1L, Long::sum);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return kinds;
  }

  private static final Pattern HEAP_USED = Pattern.compile("total \\d+K, used (\\d+)K");

  /**
   * Heap in use in another JVM right after a full collection ({@code jcmd PID GC.run}, then the
   * "used" of {@code GC.heap_info}): what its live objects take.
   */
  static long heapAfterGcBytes(long pid) {
    Command.run(List.of("jcmd", Long.toString(pid), "GC.run"), Duration.ofMinutes(1)).orThrow();
    String info = Command.run(List.of("jcmd", Long.toString(pid), "GC.heap_info"), Duration.ofMinutes(1)).orThrow();
    Matcher used = HEAP_USED.matcher(info);
    if (!used.find()) {
      throw new IllegalStateException("no heap use in jcmd GC.heap_info: " + info);
    }
    return Long.parseLong(used.group(1)) * 1024;
  }

  static void sleep(Duration duration) {
    try {
      Thread.sleep(duration.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  /** The java binary this JVM runs on, so children run on the same JDK. */
  static String javaBinary() {
    return ProcessHandle.current().info().command().orElse(System.getProperty("java.home") + "/bin/java");
  }
}
