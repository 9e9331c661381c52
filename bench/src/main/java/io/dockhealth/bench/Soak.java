package io.dockhealth.bench;

import io.dockhealth.proto.v1.Container;
import io.dockhealth.proto.v1.ContainerHealthGrpc;
import io.dockhealth.proto.v1.ListContainersRequest;
import io.dockhealth.proto.v1.ListContainersResponse;
import io.dockhealth.testing.DockerApi;
import io.dockhealth.testing.DockerEngine;
import io.dockhealth.testing.SidecarProcess;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.NettyChannelBuilder;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The soak run of issue 10: the packaged sidecar against a private Docker engine for 30 minutes
 * (or {@code --minutes N}) of flapping containers (pause and unpause), container restarts and
 * Watch churn, while steady watchers read every change and slow watchers read once a minute.
 * Reports the sidecar's resident memory, heap after a full GC, open file descriptors and open
 * streams at the start (after a warm-up) and at the end, with samples between, and every status
 * change a steady watcher lost, saw that was not made, or saw out of order. The bar: flat memory
 * and no lost change.
 *
 * <pre>
 * bench/soak                # 30 minutes
 * bench/soak --minutes 5    # a shorter run
 * </pre>
 *
 * <p>It writes its own section of bench/RESULTS.md, between markers that bench/run keeps.
 */
public final class Soak {
  static final String BEGIN = "<!-- soak: written by bench/soak, kept by bench/run -->";
  static final String END = "<!-- /soak -->";

  private static final List<String> FLAPPERS = List.of("flap0", "flap1", "flap2", "flap3", "flap4", "flap5");
  private static final List<String> RESTARTERS = List.of("restart0", "restart1");
  private static final List<String> GROUPS = List.of("flappers", "restarters", "");
  private static final int STEADY_PER_NAME = 2;
  private static final Duration SLOW_READ_EVERY = Duration.ofMinutes(1);
  private static final Pattern GAUGE = Pattern.compile("^(dockhealth_grpc_watch(?:_containers)?_streams) ([0-9.E]+)$",
      Pattern.MULTILINE);
  private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

  private final Bench bench;
  private final Duration length;
  private final Duration flipInterval;
  private final Duration restartInterval;
  private final int churnPerSecond;
  private final Duration sampleEvery;
  private final String logLevel;

  /** One change to Docker at a time, and none while a slow reader is checked. */
  private final Object mutations = new Object();
  private final Map<String, Boolean> paused = new ConcurrentHashMap<>();
  /** Status changes the soak caused, by container name. */
  private final Map<String, Integer> changes = new ConcurrentHashMap<>();
  private final AtomicLong flips = new AtomicLong();
  private final AtomicLong restarts = new AtomicLong();
  private volatile boolean driving = true;

  private Soak(Bench bench, Args args) {
    this.bench = bench;
    this.length = Duration.ofMinutes(args.getInt("minutes", 30));
    this.flipInterval = Duration.ofMillis(args.getInt("flip-interval-ms", 250));
    this.restartInterval = Duration.ofSeconds(args.getInt("restart-interval-s", 10));
    this.churnPerSecond = args.getInt("churn-per-second", 20);
    this.sampleEvery = Duration.ofMinutes(args.getInt("sample-minutes", 5));
    this.logLevel = args.get("log-level", "debug");
  }

  public static void main(String[] argv) throws Exception {
    Args args = new Args(argv);
    Path repo = Path.of(args.get("repo", ".")).toAbsolutePath().normalize();
    Path work = Path.of(args.get("work", repo.resolve("bench/target/soak").toString())).toAbsolutePath();
    Bench bench = Bench.of(repo, repo.resolve("bench"), work, false);
    Files.createDirectories(bench.logs());
    Instant started = Instant.now();
    ForeignLoad load = new ForeignLoad(List.of(work.toString(), "/tmp/dockhealth-it/soak"));
    load.start();
    String section;
    try {
      section = new Soak(bench, args).run();
    } catch (Exception | Error e) {
      e.printStackTrace();
      section = "**Not measured**: the run failed with `" + e.toString().replace('`', '\'') + "`. Logs: `"
          + bench.logs() + "`.\n";
    }
    String foreign = load.stop();
    String text = "## Soak: " + args.get("minutes", "30") + " minutes of flapping, restarts and Watch churn\n\n"
        + "Written by `" + args.get("command", "bench/soak") + "` on "
        + DateTimeFormatter.ISO_LOCAL_DATE_TIME.format(started.atOffset(ZoneOffset.UTC).withNano(0))
        + " UTC. CPU used by other processes on the machine meanwhile: " + foreign
        + (ForeignLoad.busy(foreign) ? " — **the machine was shared during this run**" : "") + ".\n\n" + section;
    Path results = bench.resultsDir().resolve("RESULTS.md");
    writeSection(results, text);
    System.out.println(text);
    System.err.println("soak: wrote " + results);
    System.exit(0);
  }

  /** Puts the soak's section into RESULTS.md, in place of the one before, or at its end. */
  static void writeSection(Path results, String section) throws IOException {
    String old = Files.exists(results) ? Files.readString(results, StandardCharsets.UTF_8) : "# dockhealth benchmarks\n";
    String block = BEGIN + "\n" + section.strip() + "\n" + END + "\n";
    int begin = old.indexOf(BEGIN);
    int end = old.indexOf(END);
    String updated = begin >= 0 && end > begin
        ? old.substring(0, begin) + block + old.substring(end + END.length()).replaceFirst("^\n", "")
        : old.stripTrailing() + "\n\n" + block;
    Files.writeString(results, updated, StandardCharsets.UTF_8);
  }

  /** The soak's section of a RESULTS.md, markers included, or "" when it has none. */
  static String section(Path results) throws IOException {
    if (!Files.exists(results)) {
      return "";
    }
    String text = Files.readString(results, StandardCharsets.UTF_8);
    int begin = text.indexOf(BEGIN);
    int end = text.indexOf(END);
    return begin >= 0 && end > begin ? text.substring(begin, end + END.length()) + "\n" : "";
  }

  /** One look at the sidecar process. */
  private record Sample(Duration at, long rss, long heap, SortedMap<String, Long> fdKinds, long watches,
      long containerWatches) {
    long fds() {
      return fdKinds.values().stream().mapToLong(Long::longValue).sum();
    }
  }

  private String run() throws Exception {
    List<String> containers = new ArrayList<>(FLAPPERS);
    containers.addAll(RESTARTERS);
    try (DockerEngine engine = DockerEngine.start("soak")) {
      for (String name : containers) {
        String group = FLAPPERS.contains(name) ? "flappers" : "restarters";
        engine.docker("run", "-d", "--name", name, "--network", "host", "--label", "dockhealth.service=" + group,
            DockerEngine.IMAGE, "sleep", "86400");
        paused.put(name, false);
        changes.put(name, 0);
      }
      // Debug logs every status change the sidecar publishes: the record to check a watcher against.
      try (SidecarProcess sidecar = SidecarProcess.builder(engine.host()).jar(bench.sidecarJar())
          .logFile(bench.logs().resolve("soak-sidecar.log")).flags("--log-level", logLevel).start()) {
        return soak(engine, sidecar, containers);
      }
    }
  }

  private String soak(DockerEngine engine, SidecarProcess sidecar, List<String> containers) throws Exception {
    ManagedChannel steady = channel(sidecar, 0);
    // A receive window smaller than one message: what waits for a slow reader waits on the server.
    ManagedChannel slow = channel(sidecar, 4);
    ManagedChannel churning = channel(sidecar, 0);
    try {
      HealthGrpc.HealthBlockingStub check = HealthGrpc.newBlockingStub(steady);
      List<String> names = new ArrayList<>(containers);
      names.addAll(GROUPS);
      awaitTrue(Duration.ofSeconds(60), () -> names.stream().allMatch(n -> status(check, n) == ServingStatus.SERVING),
          "every name SERVING");

      List<SoakWatch> steadyWatches = new ArrayList<>();
      for (String name : names) {
        for (int i = 0; i < STEADY_PER_NAME; i++) {
          steadyWatches.add(SoakWatch.steady(steady, name));
        }
      }
      List<SoakWatch> slowWatches = List.of(SoakWatch.slow(slow, FLAPPERS.get(0)), SoakWatch.slow(slow, FLAPPERS.get(0)));
      SoakContainers steadyContainers = SoakContainers.steady(steady);
      SoakContainers slowContainers = SoakContainers.slow(slow);
      awaitTrue(Duration.ofSeconds(30), () -> steadyWatches.stream().allMatch(w -> w.last() != null)
          && slowWatches.stream().allMatch(w -> w.last() != null) && steadyContainers.messages() == 1
          && slowContainers.messages() == 1, "every watcher's first message");

      Churn churn = new Churn(churning, names);
      List<Thread> drivers = List.of(
          thread("soak-flapper", () -> flap(engine)),
          thread("soak-restarter", () -> restart(engine)),
          thread("soak-churn", churn));
      long t0 = System.nanoTime();
      drivers.forEach(Thread::start);

      List<Sample> samples = new ArrayList<>();
      SlowReads slowReads = new SlowReads();
      Duration warmUp = length.dividedBy(10).compareTo(Duration.ofMinutes(1)) < 0 ? length.dividedBy(10) : Duration.ofMinutes(1);
      Duration nextSample = warmUp;
      Duration nextSlowRead = SLOW_READ_EVERY.compareTo(length.dividedBy(3)) < 0 ? SLOW_READ_EVERY : length.dividedBy(3);
      Duration slowReadEvery = nextSlowRead;
      while (true) {
        Duration elapsed = Duration.ofNanos(System.nanoTime() - t0);
        if (elapsed.compareTo(length) >= 0) {
          break;
        }
        if (elapsed.compareTo(nextSample) >= 0) {
          samples.add(sample(sidecar, elapsed));
          System.err.println("soak: " + samples.get(samples.size() - 1));
          nextSample = nextSample.plus(sampleEvery);
        }
        if (elapsed.compareTo(nextSlowRead) >= 0) {
          slowRead(check, ContainerHealthGrpc.newBlockingStub(steady), slowWatches, slowContainers, slowReads);
          nextSlowRead = nextSlowRead.plus(slowReadEvery);
        }
        Proc.sleep(Duration.ofMillis(200));
      }
      driving = false;
      for (Thread driver : drivers) {
        driver.join(TimeUnit.SECONDS.toMillis(60));
      }
      churn.closeAll();

      // Settle: every steady watcher ends where the truth is.
      Map<String, ServingStatus> truth = new LinkedHashMap<>();
      for (String name : names) {
        truth.put(name, FLAPPERS.contains(name) && paused.get(name) ? ServingStatus.NOT_SERVING
            : containers.contains(name) ? ServingStatus.SERVING : null);
      }
      awaitTrue(Duration.ofSeconds(60), () -> names.stream().filter(n -> truth.get(n) != null)
          .allMatch(n -> status(check, n) == truth.get(n)), "the sidecar settled on the truth");
      names.forEach(n -> truth.computeIfAbsent(n, x -> status(check, x)));
      awaitTrue(Duration.ofSeconds(60), () -> steadyWatches.stream().allMatch(w -> w.last() == truth.get(w.name)),
          "every steady watcher settled");
      slowRead(check, ContainerHealthGrpc.newBlockingStub(steady), slowWatches, slowContainers, slowReads);
      ListContainersResponse list = ContainerHealthGrpc.newBlockingStub(steady).withDeadlineAfter(10, TimeUnit.SECONDS)
          .listContainers(ListContainersRequest.getDefaultInstance());
      awaitTrue(Duration.ofSeconds(30), () -> steadyContainers.version() >= list.getVersion(), "WatchContainers settled");
      boolean containersViewTrue = steadyContainers.view().equals(byId(list));
      Sample end = sample(sidecar, Duration.ofNanos(System.nanoTime() - t0));
      System.err.println("soak: end " + end);
      Duration took = Duration.ofNanos(System.nanoTime() - t0);

      Map<String, SoakWatch.Account> byName = new LinkedHashMap<>();
      int groupsWrong = 0;
      for (SoakWatch watch : steadyWatches) {
        if (containers.contains(watch.name)) {
          byName.merge(watch.name, SoakWatch.Account.of(watch.statuses(), changes.get(watch.name),
              truth.get(watch.name)), SoakWatch.Account::plus);
        } else if (watch.last() != truth.get(watch.name)) {
          groupsWrong++;
        }
      }
      boolean streamsBack = end.watches() == steadyWatches.size() + slowWatches.size() && end.containerWatches() == 2;
      boolean streamsEnded = steadyWatches.stream().anyMatch(w -> w.end() != null) || steadyContainers.end() != null;
      steadyWatches.forEach(SoakWatch::cancel);
      slowWatches.forEach(SoakWatch::cancel);
      steadyContainers.cancel();
      slowContainers.cancel();
      return report(samples, end, took, byName, groupsWrong, churn, slowReads, containersViewTrue, streamsEnded,
          streamsBack, steadyWatches.size());
    } finally {
      for (ManagedChannel channel : List.of(steady, slow, churning)) {
        channel.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
      }
    }
  }

  private static ManagedChannel channel(SidecarProcess sidecar, int windowBytes) {
    NettyChannelBuilder builder = NettyChannelBuilder.forAddress("127.0.0.1", sidecar.grpcPort()).usePlaintext();
    return (windowBytes > 0 ? builder.flowControlWindow(windowBytes) : builder).build();
  }

  private static Thread thread(String name, Runnable body) {
    Thread thread = new Thread(() -> {
      try {
        body.run();
      } catch (RuntimeException e) {
        System.err.println(name + " failed: " + e);
        e.printStackTrace();
      }
    }, name);
    thread.setDaemon(true);
    return thread;
  }

  /** Pauses and unpauses the flapping containers in turn, one every flip interval. */
  private void flap(DockerEngine engine) {
    try (DockerApi api = new DockerApi(engine.socketPath())) {
      for (int i = 0; driving; i++) {
        String name = FLAPPERS.get(i % FLAPPERS.size());
        synchronized (mutations) {
          if (paused.get(name)) {
            api.unpause(name);
          } else {
            api.pause(name);
          }
          paused.put(name, !paused.get(name));
          changes.merge(name, 1, Integer::sum);
          flips.incrementAndGet();
        }
        Proc.sleep(flipInterval);
      }
    }
  }

  /** Restarts the restarting containers in turn (killed at once, started again): two changes each. */
  private void restart(DockerEngine engine) {
    try (DockerApi api = new DockerApi(engine.socketPath())) {
      long next = System.nanoTime() + restartInterval.toNanos();
      for (int i = 0; driving; ) {
        if (System.nanoTime() < next) {
          Proc.sleep(Duration.ofMillis(100));
          continue;
        }
        String name = RESTARTERS.get(i++ % RESTARTERS.size());
        synchronized (mutations) {
          api.restart(name);
          changes.merge(name, 2, Integer::sum);
          restarts.incrementAndGet();
        }
        next += restartInterval.toNanos();
      }
    }
  }

  /** What the slow readers did when told to read: how many messages each needed to reach the newest. */
  private static final class SlowReads {
    int reads;
    int maxMessages;
    int failures;
    int containerReads;
    int containerMaxMessages;
    int containerFailures;
  }

  /**
   * With Docker held still and the sidecar caught up, lets each slow reader read two messages (what
   * waited in the transport, then the newest) and checks that it then has the truth.
   */
  private void slowRead(HealthGrpc.HealthBlockingStub check, ContainerHealthGrpc.ContainerHealthBlockingStub containers,
      List<SoakWatch> slowWatches, SoakContainers slowContainers, SlowReads reads) {
    synchronized (mutations) {
      String name = slowWatches.get(0).name;
      ServingStatus truth = paused.get(name) ? ServingStatus.NOT_SERVING : ServingStatus.SERVING;
      awaitTrue(Duration.ofSeconds(30), () -> status(check, name) == truth, "the sidecar caught up with " + name);
      long[] versions = new long[2];
      awaitTrue(Duration.ofSeconds(30), () -> {
        versions[0] = versions[1];
        Proc.sleep(Duration.ofMillis(500));
        versions[1] = list(containers).getVersion();
        return versions[0] == versions[1];
      }, "a quiet sidecar");
      for (SoakWatch watch : slowWatches) {
        int before = watch.statuses().size();
        watch.read(2);
        boolean reached = awaitQuietly(Duration.ofSeconds(10), () -> watch.last() == truth);
        reads.reads++;
        if (reached) {
          reads.maxMessages = Math.max(reads.maxMessages, watch.statuses().size() - before);
        } else {
          reads.failures++;
        }
      }
      ListContainersResponse list = list(containers);
      int before = slowContainers.messages();
      slowContainers.read(2);
      boolean reached = awaitQuietly(Duration.ofSeconds(10),
          () -> slowContainers.version() == list.getVersion() && slowContainers.view().equals(byId(list)));
      reads.containerReads++;
      if (reached) {
        reads.containerMaxMessages = Math.max(reads.containerMaxMessages, slowContainers.messages() - before);
      } else {
        reads.containerFailures++;
      }
    }
  }

  private static ListContainersResponse list(ContainerHealthGrpc.ContainerHealthBlockingStub containers) {
    return containers.withDeadlineAfter(10, TimeUnit.SECONDS).listContainers(ListContainersRequest.getDefaultInstance());
  }

  private static Map<String, Container> byId(ListContainersResponse list) {
    Map<String, Container> byId = new LinkedHashMap<>();
    list.getContainersList().forEach(c -> byId.put(c.getId(), c));
    return Map.copyOf(byId);
  }

  /** Watch streams opened and cancelled all the time, and now and then a WatchContainers stream. */
  private final class Churn implements Runnable {
    private final ManagedChannel channel;
    private final List<String> names;
    private final Random random = new Random(10);
    private final Deque<Object[]> open = new ArrayDeque<>(); // {stream, opened nanos}
    long opened;
    long answered;
    long unanswered;

    Churn(ManagedChannel channel, List<String> names) {
      this.channel = channel;
      this.names = names;
    }

    @Override
    public void run() {
      long pause = TimeUnit.SECONDS.toNanos(1) / churnPerSecond;
      for (long i = 0; driving; i++) {
        open.add(new Object[] {SoakWatch.steady(channel, names.get(random.nextInt(names.size()))), System.nanoTime()});
        if (i % churnPerSecond == 0) {
          open.add(new Object[] {SoakContainers.steady(channel), System.nanoTime()});
        }
        opened++;
        sweep(false);
        Proc.sleep(Duration.ofNanos(pause));
      }
    }

    /** Cancels every stream that has its first message, or that waited 10 s for it (or all). */
    private void sweep(boolean all) {
      for (var it = open.iterator(); it.hasNext(); ) {
        Object[] entry = it.next();
        boolean first = entry[0] instanceof SoakWatch w ? w.last() != null : ((SoakContainers) entry[0]).messages() > 0;
        boolean expired = System.nanoTime() - (long) entry[1] > TimeUnit.SECONDS.toNanos(10);
        if (first || expired || all) {
          if (entry[0] instanceof SoakWatch w) {
            w.cancel();
          } else {
            ((SoakContainers) entry[0]).cancel();
          }
          if (entry[0] instanceof SoakWatch) {
            if (first) {
              answered++;
            } else {
              unanswered++;
            }
          }
          it.remove();
        }
      }
    }

    void closeAll() {
      sweep(true);
    }
  }

  private Sample sample(SidecarProcess sidecar, Duration at) throws Exception {
    long heap = Proc.heapAfterGcBytes(sidecar.pid());
    Map<String, Long> gauges = new LinkedHashMap<>();
    Matcher m = GAUGE.matcher(metrics(sidecar));
    while (m.find()) {
      gauges.put(m.group(1), (long) Double.parseDouble(m.group(2)));
    }
    return new Sample(at, Proc.rssBytes(sidecar.pid()), heap, Proc.fdKinds(sidecar.pid()),
        gauges.getOrDefault("dockhealth_grpc_watch_streams", -1L),
        gauges.getOrDefault("dockhealth_grpc_watch_containers_streams", -1L));
  }

  private static String metrics(SidecarProcess sidecar) throws Exception {
    return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + sidecar.httpPort() + "/metrics"))
        .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString()).body();
  }

  private static ServingStatus status(HealthGrpc.HealthBlockingStub check, String name) {
    try {
      return check.withDeadlineAfter(5, TimeUnit.SECONDS).check(HealthCheckRequest.newBuilder().setService(name).build())
          .getStatus();
    } catch (StatusRuntimeException e) {
      return ServingStatus.UNKNOWN;
    }
  }

  private static boolean awaitQuietly(Duration timeout, BooleanSupplier condition) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        return false;
      }
      Proc.sleep(Duration.ofMillis(20));
    }
    return true;
  }

  private static void awaitTrue(Duration timeout, BooleanSupplier condition, String what) {
    if (!awaitQuietly(timeout, condition)) {
      throw new IllegalStateException("not within " + timeout + ": " + what);
    }
  }

  private String report(List<Sample> samples, Sample end, Duration took, Map<String, SoakWatch.Account> byName,
      int groupsWrong, Churn churn, SlowReads slow, boolean containersViewTrue, boolean streamsEnded,
      boolean streamsBack, int steadyWatches) {
    Sample start = samples.isEmpty() ? end : samples.get(0);
    SoakWatch.Account changed = byName.values().stream().reduce(new SoakWatch.Account(0, 0, 0, 0, 0),
        SoakWatch.Account::plus);
    double heapGrowth = (end.heap() - start.heap()) / (double) start.heap();
    // A leak grows with the load, all along; a pool that fills once (a second connection to Docker
    // when two inspects first overlap) steps up early and stays. So descriptors are judged over the
    // second half of the run.
    Sample half = samples.stream().filter(s -> s.at().compareTo(took.dividedBy(2)) >= 0).findFirst().orElse(start);
    boolean flat = end.heap() - start.heap() <= Math.max(2L << 20, start.heap() / 10) && end.fds() <= half.fds()
        && streamsBack;
    boolean truthful = changed.lost() == 0 && changed.outOfOrder() + changed.spurious() == 0 && groupsWrong == 0
        && containersViewTrue
        && slow.failures == 0 && slow.containerFailures == 0 && slow.maxMessages <= 2
        && slow.containerMaxMessages <= 2 && !streamsEnded;
    StringBuilder md = new StringBuilder();
    md.append(String.format(Locale.ROOT, "**%s**: memory %s, %d lost and %d out-of-order status changes over %s.%n%n",
        flat && truthful ? "Bar met" : "Bar missed", flat ? "flat" : "**not flat**", changed.lost(),
        changed.outOfOrder() + changed.spurious(), Main.minutes(took)));
    md.append("The packaged sidecar (default JVM options) against a private dockerd. Load: ")
        .append(String.format(Locale.ROOT, "%,d flips (pause or unpause, one every %d ms, %d containers in turn),"
            + " %,d restarts (`restart?t=0`, one every %d s, %d containers in turn), %,d Watch streams opened and"
            + " cancelled after their first status (%d a second) plus one WatchContainers stream a second; meanwhile"
            + " %d steady Watch streams (%d on each container name, group and `\"\"`) and one steady WatchContainers"
            + " stream read everything, and 2 slow Watch streams and 1 slow WatchContainers stream (receive window"
            + " 4 bytes) read two messages once a minute.%n%n",
            flips.get(), flipInterval.toMillis(), FLAPPERS.size(), restarts.get(), restartInterval.toSeconds(),
            RESTARTERS.size(), churn.opened, churnPerSecond, steadyWatches, STEADY_PER_NAME));
    md.append("| sidecar | start (after warm-up) | end | change |\n|---|---|---|---|\n");
    md.append(row("resident memory (RSS)", mib(start.rss()), mib(end.rss()), mibDelta(end.rss() - start.rss())));
    md.append(row("heap after a full GC", mib(start.heap()), mib(end.heap()),
        mibDelta(end.heap() - start.heap()) + String.format(Locale.ROOT, " (%+.1f %%)", heapGrowth * 100)));
    md.append(row("open file descriptors", start.fds(), end.fds(), (end.fds() - start.fds())
        + fdChanges(start.fdKinds(), end.fdKinds())));
    md.append(row("open Watch streams", start.watches(), end.watches(), end.watches() - start.watches()));
    md.append(row("open WatchContainers streams", start.containerWatches(), end.containerWatches(),
        end.containerWatches() - start.containerWatches()));
    md.append("\nSamples (minute: RSS / heap after GC / fds): ");
    List<String> series = new ArrayList<>();
    for (Sample s : samples) {
      series.add(String.format(Locale.ROOT, "%d: %s / %s / %d", s.at().toMinutes(), mib(s.rss()), mib(s.heap()), s.fds()));
    }
    series.add(String.format(Locale.ROOT, "end: %s / %s / %d", mib(end.rss()), mib(end.heap()), end.fds()));
    md.append(String.join("; ", series)).append(".\n\n");
    md.append(String.format(Locale.ROOT, "- Status changes of the flapping and restarted containers, summed over"
            + " their steady watchers: %,d made, %,d received, **%d lost**; out of order: **%d received that were"
            + " not made** (a status the container had already left, told after the newer one, and then the newer"
            + " one again) and **%d** statuses twice in a row or watchers not ending on the truth.%n",
        changed.driven(), changed.seen(), changed.lost(), changed.spurious(), changed.outOfOrder()));
    byName.forEach((name, account) -> {
      if (account.lost() + account.spurious() + account.outOfOrder() > 0) {
        md.append(String.format(Locale.ROOT, "  - `%s`: %,d made, %,d received (its %d watchers together).%n", name,
            account.driven(), account.seen(), STEADY_PER_NAME));
      }
    });
    md.append(String.format(Locale.ROOT, "- Watchers of the groups and of `\"\"` ending on a wrong status: %d;"
        + " the steady WatchContainers view equal to ListContainers at the end: %s; a steady stream ended early: %s.%n",
        groupsWrong, containersViewTrue ? "yes" : "**no**", streamsEnded ? "**yes**" : "no"));
    md.append(String.format(Locale.ROOT, "- Slow readers: %d Watch reads, the newest status reached within %d"
            + " message(s) at most (bound: 2), %d not reached; %d WatchContainers reads, up to date within %d"
            + " message(s) at most, %d not.%n",
        slow.reads, slow.maxMessages, slow.failures, slow.containerReads, slow.containerMaxMessages,
        slow.containerFailures));
    md.append(String.format(Locale.ROOT, "- Churn: %,d Watch streams opened, %,d got their first status, %d did not"
        + " within 10 s.%n", churn.opened, churn.answered, churn.unanswered));
    md.append(String.format(Locale.ROOT, "%nMemory counts as flat when the heap after a full GC grew by at most 2 MiB"
        + " or 10 %%, file descriptors did not grow over the second half of the run, and once the churn stopped the open streams were the steady and"
        + " slow ones only (%s); RSS is shown but not judged"
        + " (a JVM's RSS follows the heap it has committed, not what lives in it). Logs: `%s`.%n",
        streamsBack ? "they were" : "**they were not**", bench.logs()));
    return md.toString();
  }

  /** Which kinds of descriptor the change is made of, such as " (socket +2)"; empty when none changed. */
  private static String fdChanges(SortedMap<String, Long> start, SortedMap<String, Long> end) {
    SortedMap<String, Long> all = new TreeMap<>(start);
    end.forEach((kind, n) -> all.merge(kind, -n, Long::sum));
    List<String> changes = new ArrayList<>();
    all.forEach((kind, negatedChange) -> {
      if (negatedChange != 0) {
        changes.add(String.format(Locale.ROOT, "%s %+d", kind, -negatedChange));
      }
    });
    return changes.isEmpty() ? "" : " (" + String.join(", ", changes) + ")";
  }

  private static String row(String what, Object start, Object end, Object change) {
    return "| " + what + " | " + start + " | " + end + " | " + change + " |\n";
  }

  private static String mib(long bytes) {
    return String.format(Locale.ROOT, "%.1f MiB", bytes / 1048576.0);
  }

  private static String mibDelta(long bytes) {
    return String.format(Locale.ROOT, "%+.1f MiB", bytes / 1048576.0);
  }
}
