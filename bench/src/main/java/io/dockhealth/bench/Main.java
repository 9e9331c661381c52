package io.dockhealth.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;

/**
 * Runs every benchmark of issue 13 and writes bench/RESULTS.md. {@code bench/run} is the way to start
 * it (it installs the tools and builds first):
 *
 * <pre>
 * bench/run                  # every figure, then bench/RESULTS.md
 * bench/run --only 1,4       # some figures (RESULTS.md then says it is partial)
 * bench/run --quick          # short durations, to try the harness out
 * </pre>
 *
 * <p>These are benchmarks, not tests: nothing here runs in the build or fails it. Each figure is
 * measured side by side with its baseline in the same run, alternating, repeated; a figure that
 * cannot be measured is reported as such and the others still run.
 */
public final class Main {
  private Main() {}

  public static void main(String[] argv) throws Exception {
    Args args = new Args(argv);
    Path repo = Path.of(args.get("repo", ".")).toAbsolutePath().normalize();
    Path out = Path.of(args.get("out", repo.resolve("bench/RESULTS.md").toString())).toAbsolutePath();
    Path resultsDir = out.getParent();
    Path workDir = Path.of(args.get("work", repo.resolve("bench/target/run").toString())).toAbsolutePath();
    boolean quick = args.has("quick");
    Bench bench = Bench.of(repo, resultsDir, workDir, quick);
    Files.createDirectories(bench.logs());
    copyArtifacts(bench);
    // Logs are appended to by the servers: start each run with none, so a section never quotes an
    // older run's log.
    try (var logs = Files.list(bench.logs())) {
      for (Path log : (Iterable<Path>) logs::iterator) {
        Files.deleteIfExists(log);
      }
    }
    if (!args.has("only")) {
      // A full run rewrites RESULTS.md: profiles of goals missed last time must not linger beside it.
      Path profiles = resultsDir.resolve("profiles");
      if (Files.isDirectory(profiles)) {
        try (var old = Files.list(profiles)) {
          for (Path file : (Iterable<Path>) old::iterator) {
            if (file.getFileName().toString().endsWith(".txt")) {
              Files.delete(file);
            }
          }
        }
      }
    }

    Map<String, Function<Bench, Section>> figures = new LinkedHashMap<>();
    figures.put("1", CheckBench::run);
    figures.put("2", WatchBench::run);
    figures.put("4", HttpBench::run);
    figures.put("5", LuaBench::run);
    figures.put("7", ProbeBench::run);
    figures.put("3", DockerEventBench::run);
    figures.put("6", ScaleBench::run);
    figures.put("8", LargeHostBench::run);
    List<String> only = args.has("only") ? List.of(args.get("only", "").split(",")) : List.copyOf(figures.keySet());

    Instant started = Instant.now();
    long t0 = System.nanoTime();
    MachineFacts machine = MachineFacts.collect(repo);
    List<Section> sections = new ArrayList<>();
    List<String> markers = List.of(workDir.toString(), "/tmp/dockhealth-it/bench");
    for (Map.Entry<String, Function<Bench, Section>> figure : figures.entrySet()) {
      if (!only.contains(figure.getKey())) {
        continue;
      }
      System.err.printf(Locale.ROOT, "bench: figure %s ...%n", figure.getKey());
      String waited = awaitQuietMachine(markers, bench.time(QUIET_WAIT, Duration.ZERO));
      long f0 = System.nanoTime();
      ForeignLoad load = new ForeignLoad(markers);
      load.start();
      Section section;
      try {
        section = figure.getValue().apply(bench);
      } catch (RuntimeException | Error e) {
        e.printStackTrace();
        section = new Section(figure.getKey() + ". (not measured)");
        section.row(Row.failed(figure.getKey() + ".", e.toString()));
        section.line("Could not be measured: `%s`. Logs: `%s`.", e.toString().replace('`', '\''), bench.logs());
      }
      String foreign = load.stop();
      section.shared = ForeignLoad.busy(foreign);
      section.foreignLoad = foreign.replaceAll(" \\(busiest.*", "");
      section.line("");
      section.line("Took %.0f s%s. CPU used by other processes on the machine meanwhile: %s%s.",
          (System.nanoTime() - f0) / 1e9, waited, foreign,
          ForeignLoad.busy(foreign) ? " — **the machine was shared during this figure**, read it with that in mind" : "");
      sections.add(section);
      // The table and the sections read in figure order, whatever order they ran in.
      sections.sort(java.util.Comparator.comparing(x -> x.title));
      System.err.printf(Locale.ROOT, "bench: figure %s done in %.0f s%n", figure.getKey(), (System.nanoTime() - f0) / 1e9);
      write(out, bench, machine, sections, args, started, Duration.ofNanos(System.nanoTime() - t0), only, figures);
    }
    try {
      BenchEngine.close();
    } catch (RuntimeException e) {
      System.err.println("bench: could not stop the Docker engine cleanly: " + e);
    }
    write(out, bench, machine, sections, args, started, Duration.ofNanos(System.nanoTime() - t0), only, figures);
    System.err.println("bench: wrote " + out);
    System.exit(0);
  }

  private static void write(Path out, Bench bench, MachineFacts machine, List<Section> sections, Args args,
      Instant started, Duration took, List<String> only, Map<String, Function<Bench, Section>> figures)
      throws IOException {
    StringBuilder md = new StringBuilder();
    md.append("# dockhealth benchmarks\n\n");
    md.append("Written by `").append(args.get("command", "bench/run")).append("` on ")
        .append(DateTimeFormatter.ISO_LOCAL_DATE_TIME.format(started.atOffset(ZoneOffset.UTC).withNano(0)))
        .append(" UTC; the benchmarks took ").append(minutes(took));
    if (args.has("build-seconds")) {
      md.append(", after a ").append(minutes(Duration.ofSeconds(args.getInt("build-seconds", 0))))
          .append(" build: ").append(minutes(took.plusSeconds(args.getInt("build-seconds", 0)))).append(" in all");
    }
    md.append(".");
    if (bench.quick()) {
      md.append(" **A quick run** (`--quick`): short durations and few repeats, for trying the harness; not results.");
    }
    if (!only.containsAll(figures.keySet())) {
      md.append(" **Partial**: only figure(s) ").append(String.join(", ", only)).append(".");
    }
    md.append("\n\n");
    md.append("Every figure is measured side by side with its baseline in the same run, alternating and repeated;"
        + " a cell is the median over the repeats with (min–max, n=repeats). A spread over 20 % of the median is"
        + " marked **wide spread**. The ratio is ours / baseline. \"met?\" compares the median with the goal of"
        + " issue 13; where a goal is missed the section below says so and links the profile that explains it.\n\n");
    List<Section> shared = sections.stream().filter(x -> x.shared).toList();
    if (!shared.isEmpty()) {
      md.append("**The machine was shared during this run**: while ").append(shared.size()).append(" of ")
          .append(sections.size()).append(" figures ran, other processes (other engineers' builds and tests) used ")
          .append(String.join(", ", shared.stream().map(x -> x.foreignLoad.replace(" cores", "")).toList()))
          .append(" cores of the 2 on average (each section says which). Figures measured then are noisier and"
              + " slower than on a quiet machine, for ours and the baseline alike; the ratios, measured side by side,"
              + " hold up better than the absolute numbers.\n\n");
    }
    md.append("| figure | ours | baseline | ratio | goal | met? |\n|---|---|---|---|---|---|\n");
    for (Section section : sections) {
      for (Row row : section.rows) {
        md.append("| ").append(row.figure()).append(" | ").append(row.ours()).append(" | ").append(row.baseline())
            .append(" | ").append(row.ratio()).append(" | ").append(row.goal()).append(" | ").append(row.met())
            .append(" |\n");
      }
    }
    md.append("\n## Machine\n\n").append(machine.markdown()).append('\n');
    md.append("## Command\n\n    ").append(args.get("command", "bench/run")).append("\n\n");
    md.append("`bench/run` installs what is missing (Debian packages), builds with Maven (`package -DskipTests`),"
        + " copies what it built to a work directory (`").append(bench.workDir()).append("`, so that builds of the"
        + " tree during the run change nothing), then runs `io.dockhealth.bench.Main` from there. Logs of every"
        + " server it started are in `").append(bench.logs()).append("`.\n\n");
    for (Section section : sections) {
      md.append("## ").append(section.title).append("\n\n").append(section.text()).append('\n');
    }
    // The soak run (bench/soak) writes a section of its own, which a run of the figures keeps.
    md.append(Soak.section(out));
    Files.createDirectories(out.getParent());
    Files.writeString(out, md.toString(), StandardCharsets.UTF_8);
  }

  /** Copies what the figures run from the tree into the work directory (see {@link Bench#artifacts()}). */
  private static void copyArtifacts(Bench bench) throws IOException {
    for (String relative : List.of("server/target/dockhealth.jar", "client/target/dockhealth-probe.jar",
        "client/bin/dockhealth-probe", "lua/lib")) {
      Path from = bench.repo().resolve(relative);
      Path to = bench.artifacts().resolve(relative);
      if (!Files.exists(from)) {
        continue; // the figure that needs it says so
      }
      try (var files = Files.walk(from)) {
        for (Path file : (Iterable<Path>) files::iterator) {
          Path target = to.resolve(from.relativize(file).toString());
          if (Files.isDirectory(file)) {
            Files.createDirectories(target);
          } else {
            Files.createDirectories(target.getParent());
            Files.copy(file, target, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                java.nio.file.StandardCopyOption.COPY_ATTRIBUTES);
          }
        }
      }
    }
  }

  /** The longest a figure waits for other processes to calm down before it starts. */
  private static final Duration QUIET_WAIT = Duration.ofSeconds(20);

  /**
   * Waits (in 2 s looks, at most {@code max}) until other processes use under 0.25 cores, so a
   * figure does not start in the middle of someone else's build; says what it waited for.
   */
  private static String awaitQuietMachine(List<String> markers, Duration max) {
    long deadline = System.nanoTime() + max.toNanos();
    long start = System.nanoTime();
    String last = "";
    while (System.nanoTime() < deadline) {
      ForeignLoad look = new ForeignLoad(markers);
      look.start();
      Proc.sleep(Duration.ofSeconds(2));
      last = look.stop();
      if (!ForeignLoad.busy(last) || Double.parseDouble(last.substring(0, last.indexOf(' '))) < 0.25) {
        return (System.nanoTime() - start) > 2_500_000_000L
            ? String.format(Locale.ROOT, " (after waiting %.0f s for other processes to calm down)",
                (System.nanoTime() - start) / 1e9)
            : "";
      }
    }
    return max.isZero() ? "" : String.format(Locale.ROOT,
        " (it started anyway after waiting %.0f s for a quieter machine; other processes then used %s)",
        (System.nanoTime() - start) / 1e9, last);
  }

  static String minutes(Duration d) {
    long s = d.toSeconds();
    return s >= 60 ? String.format(Locale.ROOT, "%d min %02d s", s / 60, s % 60) : s + " s";
  }
}
