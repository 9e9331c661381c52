package io.dockhealth.bench;

import io.dockhealth.testing.Command;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code jcmd PID GC.class_histogram} (live objects, after a full GC) before and after something,
 * and the difference by class: the heap profile that explains a per-stream figure.
 */
final class HeapHistogram {
  private final Map<String, long[]> byClass;

  private HeapHistogram(Map<String, long[]> byClass) {
    this.byClass = byClass;
  }

  static HeapHistogram take(long pid) {
    String text = Command.run(List.of("jcmd", Long.toString(pid), "GC.class_histogram"), Duration.ofMinutes(1)).orThrow();
    Map<String, long[]> byClass = new HashMap<>();
    for (String line : text.split("\n")) {
      String[] f = line.trim().split("\\s+");
      // "   1:     12345     678901  java.lang.String (java.base@17)"
      if (f.length >= 4 && f[0].endsWith(":")) {
        try {
          byClass.put(f[3], new long[] {Long.parseLong(f[1]), Long.parseLong(f[2])});
        } catch (NumberFormatException ignored) {
          // a header line
        }
      }
    }
    return new HeapHistogram(byClass);
  }

  /** Classes that grew most from {@code before} to this, in bytes and instances per {@code per}. */
  String growthSince(HeapHistogram before, int per, int top) {
    Map<String, long[]> delta = new HashMap<>();
    long totalBytes = 0;
    for (Map.Entry<String, long[]> e : byClass.entrySet()) {
      long[] was = before.byClass.getOrDefault(e.getKey(), new long[2]);
      long[] d = {e.getValue()[0] - was[0], e.getValue()[1] - was[1]};
      delta.put(e.getKey(), d);
      totalBytes += d[1];
    }
    StringBuilder out = new StringBuilder();
    out.append(String.format(Locale.ROOT, "Live heap growth: %,d bytes = %.0f bytes per stream (%d streams)%n%n",
        totalBytes, totalBytes / (double) per, per));
    out.append(String.format(Locale.ROOT, "%14s %12s %14s  %s%n", "bytes", "instances", "bytes/stream", "class"));
    delta.entrySet().stream()
        .sorted((a, b) -> Long.compare(b.getValue()[1], a.getValue()[1]))
        .limit(top)
        .forEach(e -> out.append(String.format(Locale.ROOT, "%,14d %,12d %14.1f  %s%n", e.getValue()[1],
            e.getValue()[0], e.getValue()[1] / (double) per, e.getKey())));
    return out.toString();
  }
}
