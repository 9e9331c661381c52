package io.dockhealth.bench;

import io.dockhealth.testing.Command;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** What machine and software a run was on, for RESULTS.md. */
final class MachineFacts {
  private final Map<String, String> facts = new LinkedHashMap<>();

  static MachineFacts collect(Path repo) {
    MachineFacts m = new MachineFacts();
    m.facts.put("CPU", cpuModel() + ", " + Runtime.getRuntime().availableProcessors() + " cores visible");
    m.facts.put("memory", memTotal());
    m.facts.put("kernel", first(List.of("uname", "-sr")));
    m.facts.put("load average at start", read("/proc/loadavg"));
    m.facts.put("java", System.getProperty("java.vm.name") + " " + System.getProperty("java.runtime.version"));
    m.facts.put("grpc-java", String.valueOf(io.grpc.Grpc.class.getPackage().getImplementationVersion()));
    m.facts.put("docker engine", versionOf(List.of("/usr/sbin/dockerd", "--version")));
    m.facts.put("nginx", versionOf(List.of("nginx", "-v")));
    m.facts.put("wrk", versionOf(List.of("sh", "-c", "wrk -v 2>&1 | head -1")));
    m.facts.put("hyperfine", versionOf(List.of("hyperfine", "--version")));
    m.facts.put("curl", versionOf(List.of("sh", "-c", "curl --version | head -1 | cut -d' ' -f1-2")));
    String commit = first(List.of("git", "-C", repo.toString(), "rev-parse", "--short", "HEAD"));
    String dirty = Command.run(List.of("git", "-C", repo.toString(), "status", "--porcelain", "--untracked-files=no"),
        Duration.ofSeconds(30)).stdout().isBlank() ? "" : " plus uncommitted changes in the work tree";
    m.facts.put("commit", commit + dirty);
    return m;
  }

  String markdown() {
    StringBuilder out = new StringBuilder();
    facts.forEach((k, v) -> out.append("- ").append(k).append(": ").append(v).append('\n'));
    return out.toString();
  }

  private static String cpuModel() {
    try {
      return Files.readAllLines(Path.of("/proc/cpuinfo")).stream()
          .filter(l -> l.startsWith("model name"))
          .map(l -> l.substring(l.indexOf(':') + 1).trim())
          .findFirst().orElse("unknown CPU");
    } catch (IOException e) {
      return "unknown CPU";
    }
  }

  private static String memTotal() {
    String line = read("/proc/meminfo").lines().filter(l -> l.startsWith("MemTotal")).findFirst().orElse("");
    try {
      long kib = Long.parseLong(line.replaceAll("\\D", ""));
      return String.format("%.1f GiB", kib / 1024.0 / 1024.0);
    } catch (NumberFormatException e) {
      return "unknown";
    }
  }

  private static String read(String path) {
    try {
      return Files.readString(Path.of(path)).trim();
    } catch (IOException e) {
      return "unknown";
    }
  }

  private static String versionOf(List<String> command) {
    try {
      Command result = Command.run(command, Duration.ofSeconds(20));
      String text = (result.stdout() + result.stderr()).trim();
      return text.isEmpty() ? "not installed" : text.lines().findFirst().orElse("").trim();
    } catch (RuntimeException e) {
      return "not installed";
    }
  }

  private static String first(List<String> command) {
    try {
      return Command.run(command, Duration.ofSeconds(20)).stdout().trim();
    } catch (RuntimeException e) {
      return "unknown";
    }
  }
}
