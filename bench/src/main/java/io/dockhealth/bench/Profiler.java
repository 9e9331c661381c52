package io.dockhealth.bench;

import io.dockhealth.testing.Command;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * JDK Flight Recorder profiles of a figure that missed its goal: a recording of the process under
 * the same load, and a text summary next to RESULTS.md of where its CPU samples were (top frames by
 * self and by total samples, from {@code jfr print --events jdk.ExecutionSample}), plus
 * {@code jfr summary}.
 */
final class Profiler {
  private final Path profileDir;
  private final Path recordingDir;

  Profiler(Path profileDir, Path recordingDir) {
    this.profileDir = profileDir;
    this.recordingDir = recordingDir;
  }

  /** Starts a recording in the running JVM {@code pid} (the "profile" settings: a sample every 10 ms). */
  Recording start(long pid, String name) {
    try {
      Files.createDirectories(recordingDir);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    Path file = recordingDir.resolve(name + ".jfr");
    Command.run(List.of("jcmd", Long.toString(pid), "JFR.start", "name=bench", "settings=profile",
        "filename=" + file), Duration.ofSeconds(30)).orThrow();
    return new Recording(pid, name, file);
  }

  /** A recording in progress. */
  final class Recording {
    private final long pid;
    private final String name;
    private final Path file;
    private final long startNanos = System.nanoTime();

    private Recording(long pid, String name, Path file) {
      this.pid = pid;
      this.name = name;
      this.file = file;
    }

    /**
     * Stops the recording and writes the summary; returns the summary's path relative to the
     * profile directory's parent (for links in RESULTS.md).
     */
    Path stopAndSummarize(String title) {
      Command.run(List.of("jcmd", Long.toString(pid), "JFR.stop", "name=bench"), Duration.ofSeconds(60)).orThrow();
      return summarize(file, name, title + String.format(Locale.ROOT, " (recorded %.1f s)",
          (System.nanoTime() - startNanos) / 1e9));
    }
  }

  /** Summarizes a finished recording (e.g. one a process wrote at exit) into {@code name}.txt. */
  Path summarize(Path recording, String name, String title) {
    try {
      Files.createDirectories(profileDir);
      Path printed = recordingDir.resolve(name + ".samples.txt");
      Command print = Command.run(List.of("jfr", "print", "--events", "jdk.ExecutionSample", "--stack-depth", "64",
          recording.toString()), Duration.ofMinutes(3));
      Files.writeString(printed, print.stdout(), StandardCharsets.UTF_8);
      String summary = Command.run(List.of("jfr", "summary", recording.toString()), Duration.ofMinutes(1)).stdout();
      StringBuilder out = new StringBuilder();
      out.append("# ").append(title).append('\n');
      out.append("# JFR recording (settings=profile) made by bench/run; the .jfr itself stays in ")
          .append(recording).append(" (not committed).\n\n");
      out.append(topFrames(printed, 25));
      out.append("\n## jfr summary\n\n").append(summary);
      Path target = profileDir.resolve(name + ".txt");
      Files.writeString(target, out.toString(), StandardCharsets.UTF_8);
      return target;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Top frames of the execution samples in {@code jfr print} text: by self samples (the frame on
   * top of the stack) and by total samples (anywhere in the stack, counted once per sample).
   */
  static String topFrames(Path printed, int top) throws IOException {
    Map<String, Integer> self = new HashMap<>();
    Map<String, Integer> total = new HashMap<>();
    Map<String, Integer> threads = new HashMap<>();
    Map<String, Integer> packages = new HashMap<>();
    Map<String, Integer> ours = new HashMap<>();
    int samples = 0;
    try (BufferedReader in = Files.newBufferedReader(printed, StandardCharsets.UTF_8)) {
      String line;
      boolean inStack = false;
      boolean first = false;
      Set<String> seen = new HashSet<>();
      while ((line = in.readLine()) != null) {
        String trimmed = line.trim();
        if (trimmed.startsWith("sampledThread = ")) {
          String thread = trimmed.substring("sampledThread = ".length()).replaceAll("\\s*\\(javaThreadId.*", "")
              .replaceAll("-\\d+\"", "-N\"");
          threads.merge(thread, 1, Integer::sum);
        } else if (trimmed.startsWith("stackTrace = [")) {
          inStack = true;
          first = true;
          seen.clear();
          samples++;
        } else if (inStack && trimmed.startsWith("]")) {
          inStack = false;
        } else if (inStack && !trimmed.isEmpty() && !trimmed.equals("...")) {
          String frame = trimmed.replaceAll("\\s+line:.*$", "");
          if (first) {
            self.merge(frame, 1, Integer::sum);
            packages.merge(packageOf(frame), 1, Integer::sum);
            first = false;
          }
          if (seen.add(frame)) {
            total.merge(frame, 1, Integer::sum);
            if (frame.startsWith("io.dockhealth.")) {
              ours.merge(frame, 1, Integer::sum);
            }
          }
        }
      }
    }
    StringBuilder out = new StringBuilder();
    out.append("CPU samples: ").append(samples).append(String.format(Locale.ROOT, " (one per 10 ms of a Java thread"
        + " on CPU: about %.1f s of Java CPU time; a delay much longer than that was spent waiting, not working)",
        samples / 100.0)).append("\n\n## Top frames by self samples\n\n");
    appendTop(out, self, samples, top);
    out.append("\n## Self samples by package (where the CPU time itself went)\n\n");
    appendTop(out, packages, samples, 15);
    out.append("\n## io.dockhealth frames by total samples (our code and everything it called)\n\n");
    appendTop(out, ours, samples, top);
    out.append("\n## Top frames by total samples (frame anywhere in the stack)\n\n");
    appendTop(out, total, samples, top);
    out.append("\n## Samples by thread\n\n");
    appendTop(out, threads, samples, 15);
    return out.toString();
  }

  /** The first two or three name parts of a frame's class: io.netty.handler, java.util, ... */
  static String packageOf(String frame) {
    String method = frame.contains("(") ? frame.substring(0, frame.indexOf('(')) : frame;
    String[] parts = method.split("\\.");
    int keep = parts.length > 0 && (parts[0].equals("java") || parts[0].equals("jdk") || parts[0].equals("sun")) ? 2 : 3;
    keep = Math.min(keep, Math.max(1, parts.length - 2));
    return String.join(".", java.util.Arrays.copyOf(parts, keep));
  }

  private static void appendTop(StringBuilder out, Map<String, Integer> counts, int samples, int top) {
    LinkedHashMap<String, Integer> sorted = new LinkedHashMap<>();
    counts.entrySet().stream()
        .sorted(Map.Entry.<String, Integer>comparingByValue().reversed())
        .limit(top)
        .forEach(e -> sorted.put(e.getKey(), e.getValue()));
    for (Map.Entry<String, Integer> entry : sorted.entrySet()) {
      out.append(String.format(Locale.ROOT, "%6d %5.1f%%  %s%n", entry.getValue(),
          samples == 0 ? 0.0 : 100.0 * entry.getValue() / samples, entry.getKey()));
    }
  }
}
