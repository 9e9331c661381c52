package io.dockhealth.bench;

import io.dockhealth.testing.DockerApi;
import io.dockhealth.testing.DockerEngine;
import io.dockhealth.testing.SidecarProcess;
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Figure 8: one large host. The packaged sidecar on the bench's engine with 200 containers, then
 * with 2,000 (the most a real host runs): start-up to in sync and the sidecar's own resync time,
 * idle RSS, Check throughput, and Docker event to Watch overhead, each at 2,000 against the same at
 * 200, so the cost of growth is visible.
 */
final class LargeHostBench {
  private static final Pattern RESYNCED = Pattern.compile("resynced (\\d+) containers in (\\d+) ms");
  /** The container whose pauses are watched: one of figure 6's, running, no HEALTHCHECK. */
  private static final String TOGGLED = "scale-000";

  private LargeHostBench() {}

  /**
   * One host size, measured.
   *
   * @param resyncMillis what the sidecar logged for its first full read of Docker (list, inspect all)
   * @param overheadMillis per pause/unpause, Watch message arrival − raw /events reader arrival
   */
  private record Measured(int containers, double syncSeconds, double resyncMillis, double rssMiB,
      double checksPerSecond, double checkP99Micros, List<Double> overheadMillis) {}

  static Section run(Bench bench) {
    int small = bench.count(200, 30);
    int large = bench.count(2_000, 300);
    Section section = new Section(String.format(Locale.ROOT, "8. One large host: %,d containers against %,d", large,
        small));
    DockerEngine engine = BenchEngine.get();
    Set<String> present = new HashSet<>(List.of(engine.docker("ps", "-a", "--format", "{{.Names}}").split("\\s+")));
    List<String> running = new ArrayList<>();
    for (int i = 0; i < small; i++) {
      running.add(String.format("scale-%03d", i));
    }
    long c0 = System.nanoTime();
    create(engine, running.stream().filter(n -> !present.contains(n)).toList(), true);
    double runSeconds = (System.nanoTime() - c0) / 1e9;
    section.line("The bench's private dockerd (%s). At %,d: figure 6's containers (`scale-000`…, `docker run -d"
        + " --network host %s sleep 3600`, no HEALTHCHECK; made here in %.0f s if figure 6 did not run), all"
        + " running, and nothing else. Then %,d more are added with `docker create` (same image and command, never"
        + " started: a shared 2-core machine cannot hold 2,000 more containerd shims and processes, and to the"
        + " sidecar a container costs the same list entry, inspect, record and three names whatever its state),"
        + " %,d in all. At each size the packaged sidecar (`java -jar server/target/dockhealth.jar`, default JVM"
        + " options) starts cold and is measured: start-up = from spawn until \"\" is SERVING (connected, listed"
        + " and inspected everything: a snapshot is published whole), and the sidecar's own log line for that"
        + " first full read; RSS (VmRSS) 3 s after in sync; Check calls/s, 4 connections × 16 in flight over the"
        + " running containers' names (warm-up, then measured); event → Watch: `%s` paused and unpaused through"
        + " the Docker API, each time the Watch message on `%s` against a raw /events reader's arrival (as in"
        + " figure 3). The %,d-container run is the baseline of each row: the ratio is the cost of growth.",
        engine.docker("version", "--format", "{{.Server.Version}}"), small, DockerEngine.IMAGE, runSeconds,
        large - small, large, TOGGLED, TOGGLED, small);
    section.line("");
    Measured atSmall = measure(bench, engine, running, small, "fig8-small");
    List<String> idle = new ArrayList<>();
    for (int i = small; i < large; i++) {
      idle.add(String.format("large-%04d", i));
    }
    long c1 = System.nanoTime();
    create(engine, idle.stream().filter(n -> !present.contains(n)).toList(), false);
    double createSeconds = (System.nanoTime() - c1) / 1e9;
    Measured atLarge = measure(bench, engine, running, large, "fig8-large");
    section.line("%,d containers created in %.0f s (8 at a time).", large - small, createSeconds);
    section.line("");
    section.line("| containers | start-up to in sync s | the sidecar's resync ms | RSS idle MiB | Check calls/s |"
        + " Check p99 µs | event → Watch overhead p50 / p99 / max ms (n) |");
    section.line("|---|---|---|---|---|---|---|");
    for (Measured m : List.of(atSmall, atLarge)) {
      section.line("| %,d | %.2f | %.0f | %.0f | %,.0f | %.0f | %.2f / %.2f / %.2f (%d) |", m.containers(),
          m.syncSeconds(), m.resyncMillis(), m.rssMiB(), m.checksPerSecond(), m.checkP99Micros(),
          Stats.quantile(m.overheadMillis(), .5), Stats.quantile(m.overheadMillis(), .99),
          Stats.quantile(m.overheadMillis(), 1), m.overheadMillis().size());
    }
    section.line("");
    section.line("One start per size (the figure shows growth, not a goal; its rows carry no goal), so read small"
        + " differences with the machine's load in mind.");
    section.line("");
    String figure = String.format(Locale.ROOT, "8. Large host, %,d vs %,d containers: ", large, small);
    section.row(growth(figure + "start-up to in sync", "%.2f s", atLarge.syncSeconds(), atSmall.syncSeconds()));
    section.row(growth(figure + "the sidecar's resync", "%.0f ms", atLarge.resyncMillis(), atSmall.resyncMillis()));
    section.row(growth(figure + "RSS idle", "%.0f MiB", atLarge.rssMiB(), atSmall.rssMiB()));
    section.row(new Row(figure + "Check calls/s (4x16)", String.format(Locale.ROOT, "%,.0f", atLarge.checksPerSecond()),
        String.format(Locale.ROOT, "%,.0f", atSmall.checksPerSecond()),
        String.format(Locale.ROOT, "%.2fx (higher is better)", atLarge.checksPerSecond() / atSmall.checksPerSecond()),
        Row.NONE, "n/a"));
    section.row(growth(figure + "event → Watch overhead p50", "%.2f ms", Stats.quantile(atLarge.overheadMillis(), .5),
        Stats.quantile(atSmall.overheadMillis(), .5)));
    section.row(growth(figure + "event → Watch overhead p99", "%.2f ms", Stats.quantile(atLarge.overheadMillis(), .99),
        Stats.quantile(atSmall.overheadMillis(), .99)));
    return section;
  }

  private static Row growth(String figure, String format, double large, double small) {
    return new Row(figure, String.format(Locale.ROOT, format, large), String.format(Locale.ROOT, format, small),
        String.format(Locale.ROOT, "%.2fx (lower is better)", large / small), Row.NONE, "n/a");
  }

  /** Makes the containers, 8 at a time: running ones with {@code docker run -d}, the others only created. */
  private static void create(DockerEngine engine, List<String> names, boolean start) {
    ExecutorService pool = Executors.newFixedThreadPool(8);
    try {
      List<Future<?>> futures = new ArrayList<>();
      for (String name : names) {
        List<String> args = new ArrayList<>(start ? List.of("run", "-d") : List.of("create"));
        args.addAll(List.of("--name", name, "--network", "host", DockerEngine.IMAGE, "sleep", "3600"));
        futures.add(pool.submit(() -> engine.docker(args.toArray(String[]::new))));
      }
      for (Future<?> future : futures) {
        future.get(10, TimeUnit.MINUTES);
      }
    } catch (Exception e) {
      throw new IllegalStateException("cannot create the containers: " + e, e);
    } finally {
      pool.shutdownNow();
    }
  }

  private static Measured measure(Bench bench, DockerEngine engine, List<String> running, int containers, String log) {
    Path logFile = bench.logs().resolve(log + ".log");
    try (SidecarProcess sidecar = SidecarProcess.builder(engine.host()).jar(bench.sidecarJar()).logFile(logFile).start()) {
      ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", sidecar.grpcPort()).usePlaintext()
          .directExecutor().build();
      try {
        Instant serving = DockerEventBench.awaitServing(channel, "", Duration.ofSeconds(120));
        long servingNanos = System.nanoTime() - Duration.between(serving, Instant.now()).toNanos();
        double syncSeconds = (servingNanos - sidecar.startedNanos()) / 1e9;
        Proc.sleep(Duration.ofSeconds(3));
        double resyncMillis = resyncMillis(logFile, containers); // logged just after the snapshot is published
        double rss = Proc.rssBytes(sidecar.pid()) / 1048576.0;
        List<HealthCheckRequest> requests = running.stream()
            .map(name -> HealthCheckRequest.newBuilder().setService(name).build()).toList();
        List<ManagedChannel> load = UnaryLoad.channels(sidecar.grpcPort(), 4);
        UnaryLoad.Result checks;
        try {
          checks = UnaryLoad.run(load, 16, requests, bench.time(Duration.ofSeconds(4), Duration.ofSeconds(1)),
              bench.time(Duration.ofSeconds(4), Duration.ofSeconds(1)));
        } finally {
          UnaryLoad.shutdown(load);
        }
        List<Double> overhead = eventOverhead(engine, channel, bench.count(30, 6));
        return new Measured(containers, syncSeconds, resyncMillis, rss, checks.callsPerSecond(),
            checks.latencies().getValueAtPercentile(99) / 1e3, overhead);
      } finally {
        channel.shutdownNow();
      }
    }
  }

  /** The duration of the sidecar's first resync that read all {@code containers}, from its log. */
  static double resyncMillis(Path log, int containers) {
    try {
      for (String line : Files.readAllLines(log, StandardCharsets.UTF_8)) {
        Matcher m = RESYNCED.matcher(line);
        if (m.find() && Integer.parseInt(m.group(1)) == containers) {
          return Double.parseDouble(m.group(2));
        }
      }
    } catch (IOException e) {
      // reported as not measured below
    }
    return Double.NaN;
  }

  /**
   * Pauses and unpauses {@link #TOGGLED} {@code toggles} times each; for each event, the Watch
   * message's arrival minus the raw /events reader's, in ms. A pair with no Watch message within 5 s
   * is left out.
   */
  private static List<Double> eventOverhead(DockerEngine engine, ManagedChannel channel, int toggles) {
    LinkedBlockingQueue<Instant> raw = new LinkedBlockingQueue<>();
    LinkedBlockingQueue<Instant> watched = new LinkedBlockingQueue<>();
    List<Double> overhead = new ArrayList<>();
    try (DockerEvents events = new DockerEvents(engine.socketPath(), (arrival, json) -> {
      String action = json.path("Action").asText(json.path("status").asText());
      if ((action.equals("pause") || action.equals("unpause"))
          && TOGGLED.equals(json.path("Actor").path("Attributes").path("name").asText())) {
        raw.add(arrival);
      }
    });
        DockerApi api = new DockerApi(engine.socketPath())) {
      ClientCalls.asyncServerStreamingCall(channel.newCall(HealthGrpc.getWatchMethod(), CallOptions.DEFAULT),
          HealthCheckRequest.newBuilder().setService(TOGGLED).build(), new StreamObserver<HealthCheckResponse>() {
            @Override
            public void onNext(HealthCheckResponse value) {
              if (value.getStatus() == ServingStatus.SERVING || value.getStatus() == ServingStatus.NOT_SERVING) {
                watched.add(Instant.now());
              }
            }

            @Override
            public void onError(Throwable t) {}

            @Override
            public void onCompleted() {}
          });
      poll(watched); // the current status, at once
      for (int i = 0; i < toggles * 2; i++) {
        if (i % 2 == 0) {
          api.pause(TOGGLED);
        } else {
          api.unpause(TOGGLED);
        }
        Instant rawAt = poll(raw);
        Instant watchAt = poll(watched);
        if (rawAt != null && watchAt != null) {
          overhead.add(Duration.between(rawAt, watchAt).toNanos() / 1e6);
        }
        raw.clear();
        watched.clear();
        Proc.sleep(Duration.ofMillis(100)); // let the inspect after the event land, as between real events
      }
    }
    return overhead;
  }

  private static Instant poll(LinkedBlockingQueue<Instant> queue) {
    try {
      return queue.poll(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }
}
