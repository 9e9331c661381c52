package io.dockhealth.server.docker;

import static com.google.common.base.Preconditions.checkArgument;
import static com.google.common.base.Preconditions.checkNotNull;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.async.ResultCallback;
import com.github.dockerjava.api.command.EventsCmd;
import com.github.dockerjava.api.exception.NotFoundException;
import com.github.dockerjava.api.model.Container;
import com.github.dockerjava.api.model.Event;
import com.github.dockerjava.api.model.Version;
import com.github.dockerjava.core.DefaultDockerClientConfig;
import com.github.dockerjava.core.DockerClientConfig;
import com.github.dockerjava.core.DockerClientImpl;
import com.github.dockerjava.zerodep.ZerodepDockerHttpClient;
import com.google.common.base.Stopwatch;
import com.google.common.base.Ticker;
import com.google.common.util.concurrent.AbstractIdleService;
import com.google.common.util.concurrent.ThreadFactoryBuilder;
import io.dockhealth.server.model.ContainerModel;
import io.dockhealth.server.model.ContainerRecord;
import java.io.Closeable;
import java.io.IOException;
import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps a {@link ContainerModel} in step with a Docker engine: a full resync (list, then inspect
 * each container) on connect and on a timer, and the {@code /events} stream in between.
 *
 * <p>Every Docker call and every model write happens on one thread, so the model sees changes in
 * Docker's order and never needs a lock held across a network call. Only read-only endpoints are
 * called: {@code GET /version}, {@code GET /containers/json}, {@code GET /containers/{id}/json}
 * and {@code GET /events}.
 *
 * <p>When Docker cannot be reached the model is told at once, and connecting is retried with capped
 * exponential backoff. The events stream resumes with {@code since} the last event it delivered, and
 * a resync follows, so nothing that happened during the break is missed.
 */
public final class DockerSource extends AbstractIdleService {
  private static final Logger logger = LoggerFactory.getLogger(DockerSource.class);

  /**
   * How dockhealth talks to Docker.
   *
   * @param dockerHost {@code unix:///path} or {@code tcp://host:port}
   * @param resyncInterval how often to re-read every container, repairing anything an event missed
   * @param connectTimeout how long to wait for a connection, or for the events stream to start
   * @param requestTimeout how long to wait for an answer to list, inspect or version
   * @param initialBackoff the first delay before reconnecting; it doubles up to maxBackoff
   */
  public record Settings(
      URI dockerHost,
      Duration resyncInterval,
      Duration connectTimeout,
      Duration requestTimeout,
      Duration initialBackoff,
      Duration maxBackoff) {
    public Settings {
      checkNotNull(dockerHost, "dockerHost");
      checkArgument(resyncInterval.compareTo(Duration.ZERO) > 0, "resyncInterval: %s (expected: > 0)", resyncInterval);
      checkArgument(connectTimeout.compareTo(Duration.ZERO) > 0, "connectTimeout: %s (expected: > 0)", connectTimeout);
      checkArgument(requestTimeout.compareTo(Duration.ZERO) > 0, "requestTimeout: %s (expected: > 0)", requestTimeout);
    }

    /** Settings suited to a sidecar beside a local engine. */
    public static Settings defaults(URI dockerHost, Duration resyncInterval) {
      return new Settings(dockerHost, resyncInterval, Duration.ofSeconds(5), Duration.ofSeconds(30),
          Duration.ofMillis(100), Duration.ofSeconds(2));
    }
  }

  private final Settings settings;
  private final ContainerModel model;
  private final Ticker ticker;
  private final DockerClient requests;
  private final DockerClient events;
  private final ScheduledExecutorService executor;
  private final Backoff backoff;
  private final DockerStats stats;

  // Confined to the executor thread.
  private final RecentEvents recentEvents = new RecentEvents(1024);
  private EventStream stream;
  private long generation;
  private long lastEventNanos;
  private boolean connected;
  private boolean reconnectScheduled;
  private int failedAttempts;
  private boolean everConnected;

  /**
   * True while the stream is up and no resync runs, so an arriving event is the newest word on its
   * container and may be applied before the inspect that confirms it. Written on the executor
   * thread, read on the stream's thread.
   */
  private volatile boolean steady;

  private volatile boolean stopping;

  public DockerSource(Settings settings, ContainerModel model, Ticker ticker) {
    this(settings, model, ticker, DockerStats.NONE);
  }

  /** @param stats told about events, resyncs, reconnects and errors, for metrics */
  public DockerSource(Settings settings, ContainerModel model, Ticker ticker, DockerStats stats) {
    this.stats = checkNotNull(stats, "stats");
    this.settings = checkNotNull(settings, "settings");
    this.model = checkNotNull(model, "model");
    this.ticker = checkNotNull(ticker, "ticker");
    DockerClientConfig config = DefaultDockerClientConfig.createDefaultConfigBuilder()
        .withDockerHost(settings.dockerHost().toString())
        .build();
    this.requests = DockerClientImpl.getInstance(config, new ZerodepDockerHttpClient.Builder()
        .dockerHost(config.getDockerHost())
        .sslConfig(config.getSSLConfig())
        .maxConnections(4)
        .connectionTimeout(settings.connectTimeout())
        .responseTimeout(settings.requestTimeout())
        .build());
    // The events stream is quiet for as long as nothing happens: its client has no response
    // timeout, and a client of its own so a long request never waits behind it for a connection.
    this.events = DockerClientImpl.getInstance(config, new ZerodepDockerHttpClient.Builder()
        .dockerHost(config.getDockerHost())
        .sslConfig(config.getSSLConfig())
        .maxConnections(2)
        .connectionTimeout(settings.connectTimeout())
        .build());
    this.executor = Executors.newSingleThreadScheduledExecutor(
        new ThreadFactoryBuilder().setNameFormat("dockhealth-docker").setDaemon(true).build());
    this.backoff = new Backoff(settings.initialBackoff(), settings.maxBackoff());
  }

  @Override
  protected void startUp() {
    executor.execute(guarded(this::connect));
    long interval = settings.resyncInterval().toMillis();
    executor.scheduleWithFixedDelay(guarded(this::periodicResync), interval, interval, TimeUnit.MILLISECONDS);
  }

  @Override
  protected void shutDown() throws Exception {
    stopping = true;
    try {
      executor.submit(this::closeStream).get(settings.connectTimeout().toMillis(), TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      logger.warn("closing the Docker events stream took over {}; stopping anyway", settings.connectTimeout());
    }
    executor.shutdownNow();
    requests.close();
    events.close();
  }

  private void connect() {
    reconnectScheduled = false;
    if (stopping) {
      return;
    }
    try {
      Version version = requests.versionCmd().exec();
      openStream();
      int count = resync();
      backoff.reset();
      logger.info("connected to Docker at {} (engine {}, API {}); {} containers{}",
          settings.dockerHost(), version.getVersion(), version.getApiVersion(), count,
          failedAttempts > 0 ? " after " + failedAttempts + " failed attempts" : "");
      failedAttempts = 0;
      if (everConnected) {
        stats.reconnected();
      }
      everConnected = true;
    } catch (Exception e) {
      lostConnection(e);
    }
  }

  private void openStream() throws Exception {
    closeStream();
    EventsCmd cmd = events.eventsCmd()
        .withEventTypeFilter("container")
        .withEventFilter(EventUpdates.ACTIONS.toArray(String[]::new));
    if (lastEventNanos > 0) {
      cmd.withSince(since(lastEventNanos));
    }
    EventStream next = new EventStream(++generation);
    stream = next;
    cmd.exec(next);
    try {
      // The engine sends the response head as soon as it subscribes us: from then on no event is
      // lost, so the resync that follows cannot miss a change.
      next.started.get(settings.connectTimeout().toMillis(), TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      throw new IOException("the events stream did not start within " + settings.connectTimeout(), e);
    }
  }

  private void closeStream() {
    steady = false;
    EventStream current = stream;
    stream = null;
    if (current != null) {
      current.close();
    }
  }

  /** Reads every container afresh and hands the complete set to the model. */
  private int resync() {
    steady = false;
    Stopwatch stopwatch = Stopwatch.createStarted(ticker);
    List<Container> listed = requests.listContainersCmd().withShowAll(true).exec();
    List<ContainerRecord> fresh = new ArrayList<>(listed.size());
    for (Container container : listed) {
      try {
        fresh.add(DockerMapping.fromInspect(requests.inspectContainerCmd(container.getId()).exec()));
      } catch (NotFoundException e) {
        // Removed between list and inspect: it is simply not part of the new set.
      } catch (DockerAnswerException e) {
        logger.warn("skipping a container Docker described badly: {}", e.getMessage());
        stats.error();
      }
    }
    model.replaceAll(fresh);
    stats.resynced();
    connected = true;
    steady = true;
    logger.info("resynced {} containers in {} ms", fresh.size(), stopwatch.elapsed(TimeUnit.MILLISECONDS));
    return fresh.size();
  }

  private void periodicResync() {
    if (!connected) {
      return;
    }
    try {
      resync();
    } catch (Exception e) {
      lostConnection(e);
    }
  }

  private void onEvent(long streamGeneration, Event event, boolean arrivedSteady) {
    if (stream == null || streamGeneration != generation) {
      return; // An event of a stream given up on: the resync after reconnecting covers it.
    }
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
    if (!recentEvents.firstTime(event, id)) {
      return;
    }
    logger.trace("event {} {}", action, id);
    if (action.equals("destroy")) {
      model.remove(id);
      return;
    }
    if (arrivedSteady) {
      try {
        applyFastPath(id, event);
      } catch (DockerAnswerException e) {
        logger.warn("ignoring what Docker's event said about container {}: {}", id, e.getMessage());
        stats.error();
      }
    }
    try {
      refresh(id);
    } catch (DockerAnswerException e) {
      logger.warn("ignoring what Docker said about container {}: {}", id, e.getMessage());
      stats.error();
    } catch (Exception e) {
      lostConnection(e);
    }
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
    model.get(id).flatMap(c -> EventUpdates.apply(c, event.getAction(), attributes, time)).ifPresent(model::put);
  }

  private void refresh(String id) {
    try {
      model.put(DockerMapping.fromInspect(requests.inspectContainerCmd(id).exec()));
    } catch (NotFoundException e) {
      model.remove(id);
    }
  }

  private void onStreamEnd(long streamGeneration, Throwable cause) {
    if (streamGeneration != generation || stream == null) {
      return; // We closed it ourselves.
    }
    lostConnection(cause != null ? cause : new IOException("Docker ended the events stream"));
  }

  private void lostConnection(Throwable cause) {
    closeStream();
    stats.error();
    boolean wasConnected = connected;
    connected = false;
    model.dockerDisconnected();
    if (stopping || reconnectScheduled) {
      return;
    }
    reconnectScheduled = true;
    Duration delay = backoff.next();
    failedAttempts++;
    if (wasConnected) {
      logger.warn("lost Docker at {} ({}); reconnecting in {} ms", settings.dockerHost(), describe(cause), delay.toMillis());
    } else if (failedAttempts == 1) {
      logger.warn("cannot reach Docker at {} ({}); retrying with backoff up to {} ms", settings.dockerHost(),
          describe(cause), settings.maxBackoff().toMillis());
    } else {
      // One warning per outage is enough to act on; the retries themselves are for debugging.
      logger.debug("still cannot reach Docker ({}); attempt {} in {} ms", describe(cause), failedAttempts + 1, delay.toMillis());
    }
    executor.schedule(guarded(this::connect), delay.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** A task that cannot kill the executor: whatever escapes is logged and treated as a lost connection. */
  private Runnable guarded(Runnable task) {
    return () -> {
      try {
        task.run();
      } catch (Throwable t) {
        logger.error("unexpected failure in the Docker source; reconnecting", t);
        try {
          lostConnection(t);
        } catch (Throwable again) {
          logger.error("could not schedule a reconnect", again);
        }
      }
    };
  }

  private static String describe(Throwable t) {
    String message = t.getMessage();
    return message == null || message.isEmpty() ? t.getClass().getSimpleName() : message;
  }

  /** Docker's {@code since} accepts seconds with a nanosecond fraction. */
  static String since(long epochNanos) {
    return String.format("%d.%09d", epochNanos / 1_000_000_000L, epochNanos % 1_000_000_000L);
  }

  /** One subscription to {@code /events}; its callbacks hop onto the executor thread. */
  private final class EventStream implements ResultCallback<Event> {
    final CompletableFuture<Void> started = new CompletableFuture<>();
    private final long streamGeneration;
    private volatile Closeable response;
    private volatile boolean closed;

    EventStream(long streamGeneration) {
      this.streamGeneration = streamGeneration;
    }

    @Override
    public void onStart(Closeable response) {
      this.response = response;
      if (closed) {
        close();
      }
      started.complete(null);
    }

    @Override
    public void onNext(Event event) {
      stats.eventReceived(EventUpdates.kind(event.getAction()));
      boolean arrivedSteady = steady;
      executor.execute(guarded(() -> onEvent(streamGeneration, event, arrivedSteady)));
    }

    @Override
    public void onError(Throwable cause) {
      ended(cause);
    }

    @Override
    public void onComplete() {
      ended(null);
    }

    private void ended(Throwable cause) {
      started.completeExceptionally(cause != null ? cause : new IOException("Docker ended the events stream"));
      // Closing a stream ourselves reports an error and then completion: not a lost connection.
      if (!closed && !executor.isShutdown()) {
        executor.execute(guarded(() -> onStreamEnd(streamGeneration, cause)));
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
