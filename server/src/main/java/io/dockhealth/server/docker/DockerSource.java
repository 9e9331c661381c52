package io.dockhealth.server.docker;

import static com.google.common.base.Preconditions.checkArgument;
import static com.google.common.base.Preconditions.checkNotNull;

import com.github.dockerjava.api.async.ResultCallback;
import com.github.dockerjava.api.model.Event;
import com.github.dockerjava.api.model.Version;
import com.google.common.base.Stopwatch;
import com.google.common.base.Ticker;
import com.google.common.collect.Sets;
import com.google.common.util.concurrent.AbstractIdleService;
import com.google.common.util.concurrent.SettableFuture;
import io.dockhealth.server.model.ContainerModel;
import io.dockhealth.server.model.ContainerRecord;
import java.io.Closeable;
import java.io.IOException;
import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps a {@link ContainerModel} in step with a Docker engine: a full resync (list, then inspect
 * each container) on connect and on a timer, and the {@code /events} stream in between.
 *
 * <p>One thread ({@link ControlThread}) owns the state and writes the model, so the model sees
 * changes in one order; Docker calls run elsewhere, each under a deadline ({@link DockerCalls}), and
 * their answers come back to that thread. So an event is applied at once, whatever Docker is busy
 * answering: a slow inspect or a resync of many containers never holds it up. Only read-only
 * endpoints are called: {@code GET /version}, {@code /_ping}, {@code /containers/json}, {@code
 * /containers/{id}/json} and {@code /events}.
 *
 * <p>Docker is <em>lost</em> when the events stream breaks, or a version, ping or list call fails
 * or gets no answer in time; a {@link Watchdog} pings Docker whenever it has been quiet, so a hung
 * daemon is noticed even while a slow list or inspect is still allowed to run. The model is told at once, and connecting is retried with capped
 * exponential backoff; the events stream resumes with {@code since} the last event it delivered,
 * and a resync follows, so nothing that happened during the break is missed. An error about one
 * container is not a lost Docker: only that container goes stale ({@link Inspections}).
 */
public final class DockerSource extends AbstractIdleService {
  private static final Logger logger = LoggerFactory.getLogger(DockerSource.class);

  /**
   * How dockhealth talks to Docker.
   *
   * @param dockerHost {@code unix:///path} or {@code tcp://host:port}
   * @param resyncInterval how often to re-read every container, repairing anything an event missed
   * @param timeout how long Docker may take to answer a ping, the version or the events subscription
   *     before it counts as hung (lists and inspects may take longer: {@link DockerCalls})
   * @param quietBeforePing how long Docker may say nothing before the watchdog pings it
   * @param initialBackoff the first delay before reconnecting; it doubles up to maxBackoff
   */
  public record Settings(
      URI dockerHost,
      Duration resyncInterval,
      Duration timeout,
      Duration quietBeforePing,
      Duration initialBackoff,
      Duration maxBackoff) {
    public Settings {
      checkNotNull(dockerHost, "dockerHost");
      checkArgument(resyncInterval.compareTo(Duration.ZERO) > 0, "resyncInterval: %s (expected: > 0)", resyncInterval);
      checkArgument(timeout.compareTo(Duration.ZERO) > 0, "timeout: %s (expected: > 0)", timeout);
      checkArgument(quietBeforePing.compareTo(Duration.ZERO) > 0, "quietBeforePing: %s (expected: > 0)", quietBeforePing);
    }

    /** Settings suited to a sidecar beside a local engine: ping after 2 s of quiet, reconnect within 2 s. */
    public static Settings defaults(URI dockerHost, Duration resyncInterval, Duration timeout) {
      return new Settings(dockerHost, resyncInterval, timeout, Duration.ofSeconds(2), Duration.ofMillis(100),
          Duration.ofSeconds(2));
    }
  }

  private final Settings settings;
  private final ContainerModel model;
  private final Ticker ticker;
  private final DockerStats stats;
  private final ControlThread control;
  private final DockerCalls calls;
  private final Watchdog watchdog;
  private final Reconnects reconnects;

  // Confined to the control thread.
  private final NewEvents newEvents;
  private Inspections inspections;
  private @Nullable EventStream stream;
  private @Nullable Resync resync;
  /** The containers events spoke of while the running resync was under way: the model's news is newer. */
  private @Nullable Set<String> touchedDuringResync;
  private long lastEventNanos;
  private boolean connected;
  private boolean everConnected;

  private volatile boolean stopping;

  public DockerSource(Settings settings, ContainerModel model, Ticker ticker) {
    this(settings, model, ticker, DockerStats.NONE);
  }

  /** @param stats told about events, resyncs, reconnects and errors, for metrics */
  public DockerSource(Settings settings, ContainerModel model, Ticker ticker, DockerStats stats) {
    this.settings = checkNotNull(settings, "settings");
    this.model = checkNotNull(model, "model");
    this.ticker = checkNotNull(ticker, "ticker");
    this.stats = checkNotNull(stats, "stats");
    this.control = new ControlThread("dockhealth-docker", this::disconnected);
    this.calls = new DockerCalls(settings.dockerHost(), settings.timeout(), control.scheduler(), ticker);
    this.watchdog = new Watchdog(calls, control, ticker, settings.quietBeforePing(), this::disconnected);
    this.reconnects = new Reconnects(settings.dockerHost(), new Backoff(settings.initialBackoff(), settings.maxBackoff()));
    this.newEvents = new NewEvents(1024, stats);
    this.inspections = new Inspections(calls, control, watchdog, model, stats);
  }

  @Override
  protected void startUp() {
    control.execute(this::connect);
    control.every(settings.resyncInterval(), this::periodicResync);
    control.every(Watchdog.TICK, watchdog::tick);
  }

  @Override
  protected void shutDown() throws Exception {
    stopping = true;
    try {
      control.submit(() -> {
        control.nextGeneration();
        closeStream();
        watchdog.stop();
        calls.cancelAll();
      }).get(settings.timeout().toMillis(), TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      logger.warn("closing the Docker events stream took over {}; stopping anyway", settings.timeout());
    }
    control.shutdown();
    calls.close();
  }

  private void connect() {
    if (stopping) {
      return;
    }
    control.when(calls.version(), version -> {
      EventStream opened = openStream();
      // The engine sends the response head as soon as it subscribes us: from then on no event is
      // lost, so the resync that follows cannot miss a change.
      control.when(calls.withDeadline(opened.started), started -> startResync(version), this::disconnected);
    }, this::disconnected);
  }

  private EventStream openStream() {
    closeStream();
    EventStream opened = new EventStream();
    stream = opened;
    long since = lastEventNanos;
    calls.subscribe(cmd -> {
      cmd.withEventTypeFilter("container").withEventFilter(EventUpdates.ACTIONS.toArray(String[]::new));
      return since > 0 ? cmd.withSince(since(since)) : cmd;
    }, opened);
    return opened;
  }

  private void closeStream() {
    EventStream current = stream;
    stream = null;
    if (current != null) {
      current.close();
    }
  }

  /** @param connectedTo the engine, when this resync completes a connect; null for a periodic one */
  private void startResync(@Nullable Version connectedTo) {
    Resync run = new Resync(calls, control, watchdog);
    resync = run;
    touchedDuringResync = new HashSet<>();
    Stopwatch stopwatch = Stopwatch.createStarted(ticker);
    control.when(run.start(), result -> resynced(result, stopwatch, connectedTo), this::disconnected);
  }

  private void periodicResync() {
    if (connected && resync == null) {
      startResync(null);
    }
  }

  /**
   * Hands the resync's containers to the model, except those events spoke of while it ran: for
   * those the model already holds newer news (or an inspect of them is on its way). A container
   * Docker erred about keeps its last known record, marked stale.
   */
  private void resynced(Resync.Result result, Stopwatch stopwatch, @Nullable Version connectedTo) {
    Set<String> touched = checkNotNull(touchedDuringResync);
    resync = null;
    touchedDuringResync = null;
    List<ContainerRecord> containers = new ArrayList<>();
    Set<String> stale = new HashSet<>();
    for (String id : result.listed()) {
      ContainerRecord described = result.described().get(id);
      if (touched.contains(id)) {
        continue;
      } else if (described != null) {
        containers.add(described);
        inspections.described(id);
      } else if (result.failed().containsKey(id)) {
        model.get(id).ifPresent(last -> {
          containers.add(last);
          stale.add(id);
        });
      }
    }
    for (String id : touched) {
      model.get(id).ifPresent(current -> {
        containers.add(current);
        if (inspections.isFailing(id) || result.failed().containsKey(id)) {
          stale.add(id);
        }
      });
    }
    model.replaceAll(containers, stale);
    inspections.retainOnly(Sets.union(result.listed(), touched));
    result.failed().forEach(inspections::failed);
    stats.resynced();
    logger.info("resynced {} containers in {} ms{}", containers.size(), stopwatch.elapsed(TimeUnit.MILLISECONDS),
        stale.isEmpty() ? "" : "; " + stale.size() + " stale, Docker erred about them");
    if (!connected) {
      connected = true;
      watchdog.start();
      int failedAttempts = reconnects.connected();
      logger.info("connected to Docker at {} (engine {}, API {}); {} containers{}", settings.dockerHost(),
          connectedTo == null ? "?" : connectedTo.getVersion(), connectedTo == null ? "?" : connectedTo.getApiVersion(),
          containers.size(), failedAttempts > 0 ? " after " + failedAttempts + " failed attempts" : "");
      if (everConnected) {
        stats.reconnected();
      }
      everConnected = true;
    }
  }

  private void onEvent(EventStream from, Event event) {
    if (from != stream) {
      return; // An event of a stream given up on: the resync after reconnecting covers it.
    }
    watchdog.heard();
    String id = event.getActor() != null && event.getActor().getId() != null
        ? event.getActor().getId()
        : event.getId();
    String action = event.getAction();
    if (id == null || action == null) {
      logger.warn("ignoring a Docker event without container ID or action: {}", event);
      return;
    }
    if (event.getTimeNano() != null) {
      lastEventNanos = Math.max(lastEventNanos, event.getTimeNano());
    }
    if (!newEvents.admit(event, id)) {
      return;
    }
    logger.trace("event {} {}", action, id);
    if (touchedDuringResync != null) {
      touchedDuringResync.add(id);
    }
    if (action.equals("destroy")) {
      inspections.forget(id);
      model.remove(id);
      return;
    }
    try {
      applyFastPath(id, event);
    } catch (DockerAnswerException e) {
      logger.warn("ignoring what Docker's event said about container {}: {}", id, e.getMessage());
      stats.error();
    }
    inspections.request(id);
  }

  /** Applies what the event alone says, before the inspect that confirms it. */
  private void applyFastPath(String id, Event event) {
    Map<String, String> attributes = event.getActor() == null || event.getActor().getAttributes() == null
        ? Map.of()
        : event.getActor().getAttributes();
    Instant time = event.getTimeNano() != null ? Instant.ofEpochSecond(0, event.getTimeNano())
        : event.getTime() != null ? Instant.ofEpochSecond(event.getTime())
        : null;
    if (time == null) {
      return; // Every engine since API 1.22 sends times; without one, wait for the inspect.
    }
    model.get(id).flatMap(c -> EventUpdates.apply(c, event.getAction(), attributes, time))
        .ifPresent(model::putFromEvent);
  }

  private void onStreamEnd(EventStream from, @Nullable Throwable cause) {
    if (from != stream) {
      return; // We closed it ourselves.
    }
    disconnected(cause != null ? cause : new IOException("Docker ended the events stream"));
  }

  /**
   * Docker is lost, or an attempt to connect failed: forget everything in flight, tell the model,
   * and try again after a backoff.
   */
  private void disconnected(Throwable cause) {
    control.nextGeneration();
    closeStream();
    watchdog.stop();
    calls.cancelAll();
    inspections = new Inspections(calls, control, watchdog, model, stats);
    resync = null;
    touchedDuringResync = null;
    stats.error();
    boolean wasConnected = connected;
    connected = false;
    model.dockerDisconnected();
    if (stopping) {
      return;
    }
    String what = DockerCalls.describe(cause);
    Reconnects.Plan plan = wasConnected ? reconnects.lost(what) : reconnects.attemptFailed(what);
    logger.atLevel(plan.level()).log(plan.message());
    control.schedule(plan.delay(), this::connect);
  }

  /** Docker's {@code since} accepts seconds with a nanosecond fraction. */
  static String since(long epochNanos) {
    return String.format("%d.%09d", epochNanos / 1_000_000_000L, epochNanos % 1_000_000_000L);
  }

  /** One subscription to {@code /events}; its callbacks hop onto the control thread. */
  private final class EventStream implements ResultCallback<Event> {
    final SettableFuture<Void> started = SettableFuture.create();
    private volatile @Nullable Closeable response;
    private volatile boolean closed;

    @Override
    public void onStart(Closeable response) {
      this.response = response;
      if (closed) {
        close();
      }
      started.set(null);
    }

    @Override
    public void onNext(Event event) {
      control.execute(() -> onEvent(this, event));
    }

    @Override
    public void onError(Throwable cause) {
      ended(cause);
    }

    @Override
    public void onComplete() {
      ended(null);
    }

    private void ended(@Nullable Throwable cause) {
      started.setException(cause != null ? cause : new IOException("Docker ended the events stream"));
      // Closing a stream ourselves reports an error and then completion: not a lost connection.
      if (!closed) {
        control.execute(() -> onStreamEnd(this, cause));
      }
    }

    @Override
    public void close() {
      closed = true;
      Closeable current = response;
      if (current != null) {
        try {
          current.close();
        } catch (IOException e) {
          logger.debug("closing the events stream", e);
        }
      }
    }
  }
}
