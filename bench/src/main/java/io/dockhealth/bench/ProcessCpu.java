package io.dockhealth.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * CPU time (user + system, including waited-for children) of named groups of processes, read from
 * /proc: the profile of a figure whose subject is not a JVM (nginx), as CPU per request per process.
 */
final class ProcessCpu {
  private ProcessCpu() {}

  /** Ticks (1/100 s) used so far by each group of pids. */
  static Map<String, Double> ticks(Map<String, List<Long>> groups) {
    Map<String, Double> out = new LinkedHashMap<>();
    groups.forEach((name, pids) -> {
      double sum = 0;
      for (long pid : pids) {
        try {
          String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
          String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
          sum += Double.parseDouble(f[11]) + Double.parseDouble(f[12]) + Double.parseDouble(f[13])
              + Double.parseDouble(f[14]);
        } catch (IOException | RuntimeException e) {
          // gone
        }
      }
      out.put(name, sum);
    });
    return out;
  }

  /** The process and its live descendants. */
  static List<Long> tree(long pid) {
    List<Long> pids = new java.util.ArrayList<>();
    pids.add(pid);
    ProcessHandle.of(pid).ifPresent(p -> p.descendants().forEach(d -> pids.add(d.pid())));
    return pids;
  }
}
