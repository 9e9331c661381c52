package io.dockhealth.bench;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Child processes, ports and /proc, the small things every figure needs. */
final class Proc {
  private Proc() {}

  /** The outcome of a command run to its end. */
  record Result(List<String> command, int exitCode, String stdout, String stderr) {
    String orThrow() {
      if (exitCode != 0) {
        throw new IllegalStateException("`" + String.join(" ", command) + "` "
            + (exitCode == -1 ? "timed out" : "exited with " + exitCode) + ": " + stderr.trim());
      }
      return stdout;
    }
  }

  /** Runs a command with a bounded wait, capturing stdout and stderr. */
  static Result run(List<String> command, Duration timeout) {
    return run(command, timeout, Map.of());
  }

  static Result run(List<String> command, Duration timeout, Map<String, String> env) {
    ProcessBuilder builder = new ProcessBuilder(command).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
    builder.environment().putAll(env);
    Process process;
    try {
      process = builder.start();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot run " + command, e);
    }
    Drain out = new Drain(process.getInputStream());
    Drain err = new Drain(process.getErrorStream());
    boolean finished;
    try {
      finished = process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      finished = false;
    }
    if (!finished) {
      stop(process, Duration.ofSeconds(5));
    }
    return new Result(command, finished ? process.exitValue() : -1, out.text(), err.text());
  }

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

  /** A TCP port free on 127.0.0.1 right now (for programs that cannot be told to take port 0). */
  static int freePort() {
    try (ServerSocket socket = new ServerSocket()) {
      socket.setReuseAddress(true);
      socket.bind(new InetSocketAddress("127.0.0.1", 0));
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Whether something accepts TCP connections on 127.0.0.1:port. */
  static boolean accepts(int port) {
    try (Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress("127.0.0.1", port), 200);
      return true;
    } catch (IOException e) {
      return false;
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

  /** Open file descriptors of a process, from /proc/PID/fd. */
  static long fdCount(long pid) {
    try (var fds = Files.list(Path.of("/proc/" + pid + "/fd"))) {
      return fds.count();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static final Pattern HEAP_USED = Pattern.compile("total \\d+K, used (\\d+)K");

  /**
   * Heap in use in another JVM right after a full collection ({@code jcmd PID GC.run}, then the
   * "used" of {@code GC.heap_info}): what its live objects take.
   */
  static long heapAfterGcBytes(long pid) {
    run(List.of("jcmd", Long.toString(pid), "GC.run"), Duration.ofMinutes(1)).orThrow();
    String info = run(List.of("jcmd", Long.toString(pid), "GC.heap_info"), Duration.ofMinutes(1)).orThrow();
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

  /** Reads a stream to its end on a daemon thread. */
  static final class Drain extends Thread {
    private final InputStream in;
    private final ByteArrayOutputStream buffer = new ByteArrayOutputStream();

    Drain(InputStream in) {
      this.in = in;
      setDaemon(true);
      start();
    }

    @Override
    public void run() {
      try (in) {
        in.transferTo(buffer);
      } catch (IOException ignored) {
        // the process went away; keep what was read
      }
    }

    String text() {
      try {
        join(10_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      return buffer.toString(StandardCharsets.UTF_8);
    }
  }
}
