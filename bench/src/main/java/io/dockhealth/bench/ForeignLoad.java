package io.dockhealth.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * How much CPU processes other than the bench's own used while a figure ran: the machine is shared
 * (other engineers' builds and tests may run), and a figure measured beside a busy neighbour says
 * so in RESULTS.md. "Ours" is this JVM with everything it waited for, its live descendants, and
 * container shims whose command line names a directory of ours; all else is foreign. Approximate:
 * short-lived foreign processes are counted through the machine total (/proc/stat) minus ours.
 */
final class ForeignLoad {
  private static final double TICKS_PER_SECOND = 100.0; // USER_HZ on Linux

  private final List<String> ownMarkers;
  private long startNanos;
  private double startTotal;
  private double startOurs;
  private Map<Long, Double> startForeignByPid;
  private final Map<Long, String> names = new HashMap<>();

  /** @param ownMarkers strings in the command line of processes that are ours though not descendants */
  ForeignLoad(List<String> ownMarkers) {
    this.ownMarkers = ownMarkers;
  }

  void start() {
    startNanos = System.nanoTime();
    startTotal = machineBusyTicks();
    Snapshot snapshot = snapshot();
    startOurs = snapshot.ours;
    startForeignByPid = snapshot.foreign;
  }

  /** Average foreign CPU (in cores) since {@link #start()} and the busiest foreign processes. */
  String stop() {
    double seconds = (System.nanoTime() - startNanos) / 1e9;
    double total = machineBusyTicks() - startTotal;
    Snapshot snapshot = snapshot();
    double ours = snapshot.ours - startOurs;
    double foreignCores = Math.max(0, (total - ours) / TICKS_PER_SECOND / seconds);
    Map<Long, Double> deltas = new HashMap<>();
    snapshot.foreign.forEach((pid, ticks) -> deltas.put(pid, ticks - startForeignByPid.getOrDefault(pid, 0.0)));
    String top = deltas.entrySet().stream()
        .filter(e -> e.getValue() / TICKS_PER_SECOND / seconds >= 0.05)
        .sorted(Map.Entry.<Long, Double>comparingByValue().reversed())
        .limit(3)
        .map(e -> String.format(Locale.ROOT, "`%s` %.2f", names.getOrDefault(e.getKey(), "?"),
            e.getValue() / TICKS_PER_SECOND / seconds))
        .collect(Collectors.joining(", "));
    return String.format(Locale.ROOT, "%.2f cores", foreignCores) + (top.isEmpty() ? "" : " (busiest: " + top + ")");
  }

  /** Whether a stop() text reports enough foreign load to matter (at least 0.2 cores). */
  static boolean busy(String stopText) {
    try {
      return Double.parseDouble(stopText.substring(0, stopText.indexOf(' '))) >= 0.2;
    } catch (RuntimeException e) {
      return false;
    }
  }

  private record Snapshot(double ours, Map<Long, Double> foreign) {}

  private Snapshot snapshot() {
    Set<Long> own = new HashSet<>();
    own.add(ProcessHandle.current().pid());
    ProcessHandle.current().descendants().forEach(p -> own.add(p.pid()));
    double ours = 0;
    Map<Long, Double> foreign = new HashMap<>();
    try (DirectoryStream<Path> procs = Files.newDirectoryStream(Path.of("/proc"), "[0-9]*")) {
      for (Path proc : procs) {
        long pid = Long.parseLong(proc.getFileName().toString());
        double[] ticks = ticks(proc);
        if (ticks == null) {
          continue;
        }
        String cmdline = cmdline(proc);
        boolean ours1 = own.contains(pid) || ownMarkers.stream().anyMatch(cmdline::contains);
        if (ours1) {
          // With what it waited for: children that ran and exited count too.
          ours += ticks[0] + ticks[1];
        } else {
          foreign.put(pid, ticks[0]);
          names.putIfAbsent(pid, shortName(cmdline));
        }
      }
    } catch (IOException e) {
      return new Snapshot(0, Map.of());
    }
    return new Snapshot(ours, foreign);
  }

  /** {utime+stime, cutime+cstime} of a process, or null if it is gone. */
  private static double[] ticks(Path proc) {
    try {
      String stat = Files.readString(proc.resolve("stat"), StandardCharsets.UTF_8);
      String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
      // fields[0] is state (field 3); utime is field 14, stime 15, cutime 16, cstime 17.
      double self = Double.parseDouble(fields[11]) + Double.parseDouble(fields[12]);
      double children = Double.parseDouble(fields[13]) + Double.parseDouble(fields[14]);
      return new double[] {self, children};
    } catch (IOException | RuntimeException e) {
      return null;
    }
  }

  private static String cmdline(Path proc) {
    try {
      return new String(Files.readAllBytes(proc.resolve("cmdline")), StandardCharsets.UTF_8).replace('\0', ' ').trim();
    } catch (IOException e) {
      return "";
    }
  }

  private static String shortName(String cmdline) {
    if (cmdline.isEmpty()) {
      return "[kernel]";
    }
    String[] parts = cmdline.split(" ");
    String exe = parts[0].substring(parts[0].lastIndexOf('/') + 1);
    if (exe.equals("java") && cmdline.contains("plexus-classworlds") && cmdline.contains("Launcher")) {
      String rest = cmdline.substring(cmdline.indexOf("Launcher") + "Launcher".length()).trim();
      return "mvn " + rest.substring(0, Math.min(60, rest.length()));
    }
    if (exe.equals("java")) {
      String main = parts[parts.length - 1];
      for (int i = 1; i < parts.length; i++) {
        if (!parts[i].startsWith("-") && !parts[i - 1].equals("-cp") && !parts[i - 1].equals("-classpath")) {
          main = parts[i];
          break;
        }
      }
      return "java " + main.substring(Math.max(0, main.length() - 50));
    }
    return exe;
  }

  /** user + nice + system ticks of the whole machine (no irq/softirq/steal). */
  private static double machineBusyTicks() {
    try {
      String cpu = Files.readAllLines(Path.of("/proc/stat")).get(0);
      String[] f = cpu.trim().split("\\s+");
      return Double.parseDouble(f[1]) + Double.parseDouble(f[2]) + Double.parseDouble(f[3]);
    } catch (IOException e) {
      return 0;
    }
  }
}
