package io.dockhealth.bench;

import io.dockhealth.testing.Command;
import io.dockhealth.testing.DockerEngine;
import io.dockhealth.testing.SidecarProcess;
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * Figure 6: scale. 200 real containers on the bench's engine; the packaged sidecar started cold:
 * time until every name is known and "" is SERVING; resident memory then, and with 10,000 Watch
 * streams open. Baseline: a bare grpc-java server with HealthStatusManager holding the same 200
 * names, started the same way (the floor of a JVM gRPC health server), in the same rounds.
 */
final class ScaleBench {
  private static final double SYNC_GOAL_SECONDS = 2;
  private static final double RSS_GOAL_MIB = 150;

  private ScaleBench() {}

  /**
   * @param listening seconds until the sidecar logged that gRPC listens (JVM start and our init)
   * @param resync the sidecar's own log line on its first full read of Docker, if any
   */
  private record Start(double seconds, double listening, String resync, double rssIdleMiB, double rssStreamsMiB) {}

  static Section run(Bench bench) {
    int containers = bench.count(200, 30);
    Section section = new Section("6. Scale: start-up and memory with " + containers + " containers");
    int streams = bench.count(10_000, 2_000);
    int rounds = bench.count(3, 1);
    DockerEngine engine = BenchEngine.get();
    List<String> names = new ArrayList<>();
    for (int i = 0; i < containers; i++) {
      names.add(String.format("scale-%03d", i));
    }
    long c0 = System.nanoTime();
    createContainers(engine, names);
    double createSeconds = (System.nanoTime() - c0) / 1e9;
    section.line("%d containers (`docker run -d --network host %s sleep 3600`, no HEALTHCHECK) created on the"
        + " bench's private dockerd in %.0f s (4 at a time), then left running. Each round starts, in alternating"
        + " order: ours, the packaged sidecar (`java -jar server/target/dockhealth.jar`, default JVM options,"
        + " pointed at the engine), and the baseline, a bare grpc-java server with `HealthStatusManager` holding"
        + " the same %d names (`BaselineServer --bare`, default JVM options, no Docker at all: the floor of a"
        + " JVM gRPC health server). Start-up = from just before the process is spawned until \"\" is SERVING"
        + " (ours: connected to Docker, listed and inspected everything) and a Check of every one of the %d"
        + " names finds it; RSS (VmRSS) 3 s after that, and again with %,d Watch streams open (spread over the"
        + " names, 10 connections). %d rounds. The sidecar's log says how long its first full read of Docker"
        + " (list, then inspect each container) took; the rest of its start-up is the JVM and our own"
        + " start until the port listens, then connecting to Docker.", containers, DockerEngine.IMAGE, createSeconds, containers,
        containers, streams, rounds);
    section.line("");
    section.line("| round | server | start-up s | of which until listening s | the sidecar's log | RSS idle MiB |"
        + " RSS with %,d streams MiB |", streams);
    section.line("|---|---|---|---|---|---|---|");
    Map<String, List<Start>> results = new LinkedHashMap<>();
    results.put("ours", new ArrayList<>());
    results.put("baseline", new ArrayList<>());
    for (int round = 1; round <= rounds; round++) {
      List<String> order = round % 2 == 1 ? List.of("ours", "baseline") : List.of("baseline", "ours");
      for (String who : order) {
        Start start = who.equals("ours")
            ? startOurs(bench, engine, names, streams, "fig6-ours-r" + round, List.of(), null)
            : startBaseline(bench, names, streams, "fig6-baseline-r" + round);
        results.get(who).add(start);
        section.line("| %d | %s | %.2f | %s | %s | %.0f | %.0f |", round, who, start.seconds(),
            Double.isNaN(start.listening()) ? "–" : String.format(Locale.ROOT, "%.2f", start.listening()),
            start.resync().isEmpty() ? "–" : "`" + start.resync() + "`", start.rssIdleMiB(), start.rssStreamsMiB());
      }
    }
    section.line("");
    Stats ourStart = Stats.of(results.get("ours").stream().map(Start::seconds).toList());
    Stats baseStart = Stats.of(results.get("baseline").stream().map(Start::seconds).toList());
    Stats ourIdle = Stats.of(results.get("ours").stream().map(Start::rssIdleMiB).toList());
    Stats baseIdle = Stats.of(results.get("baseline").stream().map(Start::rssIdleMiB).toList());
    Stats ourStreams = Stats.of(results.get("ours").stream().map(Start::rssStreamsMiB).toList());
    Stats baseStreams = Stats.of(results.get("baseline").stream().map(Start::rssStreamsMiB).toList());
    boolean syncMet = ourStart.median() <= SYNC_GOAL_SECONDS;
    boolean rssMet = ourIdle.median() <= RSS_GOAL_MIB;
    section.row(new Row("6. Start-up to in sync, " + containers + " containers", ourStart.format(Stats.Unit.SECONDS),
        baseStart.format(Stats.Unit.SECONDS) + " (bare gRPC server, no Docker)",
        String.format(Locale.ROOT, "%.2fx (lower is better)", ourStart.median() / baseStart.median()), "<= 2 s",
        Row.met(syncMet)));
    section.row(new Row("6. RSS idle, " + containers + " containers", ourIdle.format(Stats.Unit.MIB),
        baseIdle.format(Stats.Unit.MIB), String.format(Locale.ROOT, "%.2fx (lower is better)", ourIdle.median() / baseIdle.median()),
        "<= 150 MiB", Row.met(rssMet)));
    section.row(new Row(String.format(Locale.ROOT, "6. RSS with %,d Watch streams", streams), ourStreams.format(Stats.Unit.MIB),
        baseStreams.format(Stats.Unit.MIB),
        String.format(Locale.ROOT, "%.2fx (lower is better)", ourStreams.median() / baseStreams.median()), Row.NONE, "n/a"));
    if (!syncMet || !rssMet) {
      section.line("**Goal missed**: %s. One more start of ours with JFR recording from the first instant"
          + " (`-XX:StartFlightRecording`, which itself slows start-up) and native memory tracking"
          + " (`-XX:NativeMemoryTracking=summary`, read with `jcmd VM.native_memory summary` 3 s after in sync):",
          (syncMet ? "" : "start-up over 2 s") + (!syncMet && !rssMet ? ", " : "") + (rssMet ? "" : "idle RSS over 150 MiB"));
      Path jfr = bench.workDir().resolve("jfr/fig6-startup.jfr");
      Path nmt = bench.resultsDir().resolve("profiles/fig6-native-memory.txt");
      try {
        Files.createDirectories(jfr.getParent());
        Files.createDirectories(nmt.getParent());
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      Start profiled = startOurs(bench, engine, names, 0, "fig6-ours-profiled",
          List.of("-XX:StartFlightRecording=filename=" + jfr + ",settings=profile,dumponexit=true",
              "-XX:NativeMemoryTracking=summary"), nmt);
      Path cpu = bench.profiler().summarize(jfr, "fig6-startup", String.format(Locale.ROOT,
          "Figure 6, the sidecar from JVM start until in sync with %d containers and 3 s idle (this start: %.2f s"
          + " with JFR on)", containers, profiled.seconds()));
      section.line("[CPU profile of the start](%s), [native memory summary](%s). The JVM runs with its default"
          + " options as the README starts it: on this 24 GiB machine the default maximum heap is a quarter of"
          + " memory and G1 keeps more of it committed than the live set needs; the native memory"
          + " summary shows how RSS splits into heap, code cache, metaspace (classes), threads and GC.",
          bench.link(cpu), bench.link(nmt));
      section.line("");
    }
    return section;
  }

  private static void createContainers(DockerEngine engine, List<String> names) {
    ExecutorService pool = Executors.newFixedThreadPool(4);
    try {
      List<Future<?>> futures = new ArrayList<>();
      for (String name : names) {
        futures.add(pool.submit(() -> engine.docker("run", "-d", "--name", name, "--network", "host",
            DockerEngine.IMAGE, "sleep", "3600")));
      }
      for (Future<?> future : futures) {
        future.get(5, TimeUnit.MINUTES);
      }
    } catch (Exception e) {
      throw new IllegalStateException("cannot create the containers: " + e, e);
    } finally {
      pool.shutdownNow();
    }
  }

  private static Start startOurs(Bench bench, DockerEngine engine, List<String> names, int streams, String log,
      List<String> jvmOptions, Path nmtOut) {
    try (SidecarProcess sidecar = SidecarProcess.builder(engine.host()).jar(bench.sidecarJar()).jvmOptions(jvmOptions)
        .logFile(bench.logs().resolve(log + ".log")).start()) {
      double listening = (sidecar.grpcListeningNanos() - sidecar.startedNanos()) / 1e9;
      ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", sidecar.grpcPort()).usePlaintext().build();
      try {
        long synced = awaitInSync(channel, names);
        double seconds = (synced - sidecar.startedNanos()) / 1e9;
        String resync = resyncLine(bench.logs().resolve(log + ".log"));
        Proc.sleep(Duration.ofSeconds(3));
        double idle = Proc.rssBytes(sidecar.pid()) / 1048576.0;
        if (nmtOut != null) {
          String nmt = Command.run(List.of("jcmd", Long.toString(sidecar.pid()), "VM.native_memory", "summary"),
              Duration.ofSeconds(30)).stdout();
          write(nmtOut, "# Figure 6: native memory of the sidecar 3 s after in sync (RSS then "
              + String.format(Locale.ROOT, "%.0f MiB", idle) + ")\n\n" + nmt);
        }
        double withStreams = streams > 0 ? rssWithStreams(sidecar.grpcPort(), sidecar.pid(), names, streams) : 0;
        return new Start(seconds, listening, resync, idle, withStreams);
      } finally {
        channel.shutdownNow();
      }
    }
  }

  /** The sidecar's "resynced N containers in T ms" log line, without its timestamp. */
  private static String resyncLine(Path log) {
    try {
      return Files.readAllLines(log, StandardCharsets.UTF_8).stream()
          .filter(l -> l.contains("resynced"))
          .map(l -> l.replaceAll("^\\S+\\s+\\S+\\s+", ""))
          .reduce((first, second) -> second).orElse("");
    } catch (IOException e) {
      return "";
    }
  }

  private static Start startBaseline(Bench bench, List<String> names, int streams, String log) {
    long t0 = System.nanoTime();
    try (JvmChild server = JvmChild.start(log, BaselineServer.class, bench.logs(),
        List.of("--bare", "--names", Integer.toString(names.size()), "--name-prefix", "scale-"))) {
      ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", server.port("grpc")).usePlaintext().build();
      try {
        long synced = awaitInSync(channel, names);
        double seconds = (synced - t0) / 1e9;
        Proc.sleep(Duration.ofSeconds(3));
        double idle = server.rssBytes() / 1048576.0;
        double withStreams = rssWithStreams(server.port("grpc"), server.pid(), names, streams);
        return new Start(seconds, Double.NaN, "", idle, withStreams);
      } finally {
        channel.shutdownNow();
      }
    }
  }

  /** When "" was first seen SERVING, provided a Check of every name then found it; polls until so. */
  private static long awaitInSync(ManagedChannel channel, List<String> names) {
    CompletableFuture<Long> serving = new CompletableFuture<>();
    ClientCalls.asyncServerStreamingCall(channel.newCall(HealthGrpc.getWatchMethod(), CallOptions.DEFAULT),
        HealthCheckRequest.newBuilder().setService("").build(), new StreamObserver<HealthCheckResponse>() {
          @Override
          public void onNext(HealthCheckResponse value) {
            if (value.getStatus() == ServingStatus.SERVING) {
              serving.complete(System.nanoTime());
            }
          }

          @Override
          public void onError(Throwable t) {
            serving.completeExceptionally(t);
          }

          @Override
          public void onCompleted() {}
        });
    long at;
    try {
      at = serving.get(60, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new IllegalStateException("\"\" not SERVING within 60 s: " + e, e);
    }
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    boolean firstPass = true;
    while (true) {
      long pass = System.nanoTime();
      boolean all = true;
      for (String name : names) {
        try {
          HealthGrpc.newBlockingStub(channel).withDeadlineAfter(5, TimeUnit.SECONDS)
              .check(HealthCheckRequest.newBuilder().setService(name).build());
        } catch (StatusRuntimeException e) {
          if (e.getStatus().getCode() != Status.Code.NOT_FOUND) {
            throw e;
          }
          all = false;
          break;
        }
      }
      if (all) {
        // All known at the first pass: they were when "" turned SERVING (a snapshot is published
        // whole). Otherwise in sync only from the pass that found them all.
        return firstPass ? at : pass;
      }
      firstPass = false;
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("not every container name known within 60 s");
      }
      Proc.sleep(Duration.ofMillis(10));
    }
  }

  private static double rssWithStreams(int port, long pid, List<String> names, int streams) {
    List<ManagedChannel> channels = UnaryLoad.channels(port, 10);
    try {
      new WatchStreams(channels, streams, i -> names.get(i % names.size()), ServingStatus.SERVING, Duration.ofSeconds(60));
      Proc.sleep(Duration.ofSeconds(2));
      return Proc.rssBytes(pid) / 1048576.0;
    } finally {
      UnaryLoad.shutdown(channels);
    }
  }

  private static void write(Path file, String text) {
    try {
      Files.writeString(file, text, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
