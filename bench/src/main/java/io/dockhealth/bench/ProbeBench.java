package io.dockhealth.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.dockhealth.testing.Command;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Figure 7: the wall time of one {@code dockhealth-probe} call (a new process, as a HEALTHCHECK runs
 * it) against one {@code curl} of the HTTP gateway, the floor for a one-shot process, with
 * hyperfine, in alternating rounds.
 */
final class ProbeBench {
  private ProbeBench() {}

  static Section run(Bench bench) {
    Section section = new Section("7. Probe CLI");
    Path launcher = bench.artifact("client/bin/dockhealth-probe");
    Path jar = bench.artifact("client/target/dockhealth-probe.jar");
    // The launcher finds the jar through this; beside the run's copy of the jar it makes its
    // class-data sharing archive on the first (warm-up) run, as it does on first use anywhere.
    java.util.Map<String, String> env = java.util.Map.of("DOCKHEALTH_PROBE_JAR", jar.toString());
    if (!Files.isExecutable(launcher) || !Files.isRegularFile(jar)) {
      throw new IllegalStateException(launcher + " or " + jar + " is missing: build the client module");
    }
    int rounds = bench.count(3, 1);
    int runs = bench.count(15, 5);
    try (JvmChild ours = JvmChild.start("fig7-server", SubjectServer.class, bench.logs(), List.of("--names", "1000"))) {
      String probe = launcher + " -addr=127.0.0.1:" + ours.port("grpc") + " -service=svc0421";
      String curl = "curl -fsS -o /dev/null http://127.0.0.1:" + ours.port("http") + "/v1/health/svc0421";
      for (String command : List.of(probe, curl)) {
        Command once = Command.run(List.of(command.split(" ")), Duration.ofSeconds(30), env);
        if (once.exitCode() != 0) {
          throw new IllegalStateException("`" + command + "` exited " + once.exitCode() + ": " + once.stderr().trim());
        }
      }
      section.line("hyperfine %s, no shell (`-N`), %d warm-up runs, then %d rounds of %d runs per command, the"
          + " order of the two commands alternating from round to round. The server is the one of figure 1"
          + " (1,000 names; ours, gRPC and HTTP in one JVM); each run is a new process asking for one SERVING"
          + " name:", hyperfineVersion(), 3, rounds, runs);
      section.line("");
      section.line("- ours: `client/bin/dockhealth-probe -addr=127.0.0.1:PORT -service=svc0421` (the launcher as"
          + " shipped: a JVM with a class-data sharing archive, which the launcher makes on its first run beside"
          + " the run's copy of the jar, C1 only, serial GC)");
      section.line("- baseline: `curl -fsS -o /dev/null http://127.0.0.1:PORT/v1/health/svc0421` (HTTP gateway)");
      section.line("");
      section.line("| round | command | median ms | min ms | max ms | mean user+sys ms |");
      section.line("|---|---|---|---|---|---|");
      Map<String, List<Double>> medians = new LinkedHashMap<>();
      for (int round = 1; round <= rounds; round++) {
        List<String> order = round % 2 == 1 ? List.of(probe, curl) : List.of(curl, probe);
        Path json = bench.workDir().resolve("fig7-round" + round + ".json");
        List<String> command = new ArrayList<>(List.of("hyperfine", "-N", "--style", "none", "--warmup", "3",
            "--runs", Integer.toString(runs), "--export-json", json.toString()));
        command.addAll(order);
        Command.run(command, Duration.ofMinutes(5), env).orThrow();
        for (JsonNode result : read(json).path("results")) {
          String who = result.path("command").asText().equals(probe) ? "probe" : "curl";
          List<Double> times = new ArrayList<>();
          result.path("times").forEach(t -> times.add(t.asDouble() * 1000));
          double median = Stats.quantile(times, 0.5);
          medians.computeIfAbsent(who, k -> new ArrayList<>()).add(median);
          section.line("| %d | %s | %.1f | %.1f | %.1f | %.1f |", round, who, median,
              times.stream().mapToDouble(Double::doubleValue).min().orElse(0),
              times.stream().mapToDouble(Double::doubleValue).max().orElse(0),
              (result.path("user").asDouble() + result.path("system").asDouble()) * 1000);
        }
      }
      section.line("");
      Stats ourStats = Stats.of(medians.get("probe"));
      Stats curlStats = Stats.of(medians.get("curl"));
      section.row(new Row("7. Probe CLI, wall time of one call", ourStats.format(Stats.Unit.MILLIS) + " (dockhealth-probe, gRPC)",
          curlStats.format(Stats.Unit.MILLIS) + " (curl, HTTP gateway)",
          String.format(Locale.ROOT, "%.1fx (lower is better)", ourStats.median() / curlStats.median()),
          "report the ratio", "n/a"));
      section.line("The cells are medians over rounds of each round's median run. No goal is set for this figure"
          + " (issue 7: report the ratio); curl is the floor for a one-shot process, a JVM cannot reach it.");
    }
    return section;
  }

  private static JsonNode read(Path json) {
    try {
      return new ObjectMapper().readTree(json.toFile());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static String hyperfineVersion() {
    return Command.run(List.of("hyperfine", "--version"), Duration.ofSeconds(10)).stdout().trim().replace("hyperfine ", "");
  }
}
