package io.dockhealth.server.docker;

import static com.google.common.base.Preconditions.checkArgument;
import static com.google.common.base.Preconditions.checkNotNull;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.async.ResultCallback;
import com.github.dockerjava.api.command.EventsCmd;
import com.github.dockerjava.api.exception.DockerException;
import com.github.dockerjava.api.exception.NotFoundException;
import com.github.dockerjava.api.model.Container;
import com.github.dockerjava.api.model.Event;
import com.github.dockerjava.api.model.Version;
import com.github.dockerjava.core.DefaultDockerClientConfig;
import com.github.dockerjava.core.DockerClientConfig;
import com.github.dockerjava.core.DockerClientImpl;
import com.github.dockerjava.zerodep.ZerodepDockerHttpClient;
import com.google.common.base.Ticker;
import com.google.common.base.Throwables;
import com.google.common.util.concurrent.Futures;
import com.google.common.util.concurrent.ListenableFuture;
import com.google.common.util.concurrent.ListeningExecutorService;
import com.google.common.util.concurrent.MoreExecutors;
import com.google.common.util.concurrent.ThreadFactoryBuilder;
import com.google.common.util.concurrent.UncheckedExecutionException;
import io.dockhealth.server.model.ContainerRecord;
import java.io.IOException;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;

/**
 * Docker's read-only endpoints as asynchronous calls, each bounded by a deadline, whatever the
 * transport.
 *
 * <p>Two deadlines. Liveness calls ({@code /_ping}, and {@code /version} and the events
 * subscription on connecting) get the short {@code timeout}: a Docker that does not answer them in
 * time is hung. Listing and inspecting may be slow on a busy host without Docker being hung, so
 * they get {@link #SLOW_CALLS} (or {@code timeout}, if longer); while one runs, the watchdog's
 * pings still tell whether Docker is alive. Pings have a client, connection and thread of their
 * own, so a ping never waits behind slow calls.
 *
 * <p>Why a deadline of our own: docker-java's {@code responseTimeout} becomes the socket read
 * timeout, which works on {@code tcp://}, but its unix socket is a blocking {@code SocketChannel}
 * that ignores {@code SO_TIMEOUT}, so a hung daemon would block a call for as long as it hangs.
 * Each call runs on a small pool and is cancelled with an interrupt when its deadline passes; an
 * interrupted channel read closes the channel ({@code ClosedByInterruptException}), which is also
 * how docker-java ends its own {@code /events} streams, and the connection is discarded. On
 * {@code tcp://} a blocked socket read does not heed interrupts, but the read timeout, set to the
 * same value, ends it at the same time.
 *
 * <p>Each pool has as many threads as its client has connections, and the source keeps no more
 * calls in flight than that (one ping; the list or {@link Resync#PARALLEL} inspects of a resync, and
 * {@link #INSPECTS} inspects for events), so a call never waits in a queue while its deadline runs.
 */
final class DockerCalls implements AutoCloseable {
  /** How many inspects the source may have in flight for events, besides those of a resync. */
  static final int INSPECTS = 2;
  /** Calls on the request client at most: a resync's and the events' inspects. */
  private static final int REQUESTS = Resync.PARALLEL + INSPECTS;
  /** The least time a list or an inspect may take. */
  static final Duration SLOW_CALLS = Duration.ofSeconds(30);
  private static final int MAX_DESCRIPTION = 200;

  /** What a failed call says about Docker. */
  enum Failure {
    /** Docker answered 404: the container no longer exists. */
    GONE,
    /**
     * Docker answered, with an error or with something unusable: a problem with what was asked
     * about (one container), not with Docker as a whole.
     */
    ANSWER,
    /** No answer: a refused or broken connection, or none within the deadline. */
    TRANSPORT
  }

  private final DockerClient liveness;
  private final DockerClient requests;
  private final DockerClient events;
  private final ListeningExecutorService livenessPool;
  private final ListeningExecutorService requestPool;
  private final ScheduledExecutorService deadlines;
  private final Duration timeout;
  private final Duration slowTimeout;
  private final Ticker ticker;
  private final Set<ListenableFuture<?>> inFlight = ConcurrentHashMap.newKeySet();
  /** When Docker last answered a call, error answers included: a sign of life for the watchdog. */
  private volatile long lastAnswerNanos;

  /**
   * @param timeout the deadline of liveness calls (ping, version, the events stream's start), and
   *     of connecting
   * @param deadlines where deadlines are scheduled (cheap tasks only)
   */
  DockerCalls(URI dockerHost, Duration timeout, ScheduledExecutorService deadlines, Ticker ticker) {
    checkArgument(timeout.compareTo(Duration.ZERO) > 0, "timeout: %s (expected: > 0)", timeout);
    this.timeout = timeout;
    this.slowTimeout = timeout.compareTo(SLOW_CALLS) > 0 ? timeout : SLOW_CALLS;
    this.deadlines = checkNotNull(deadlines, "deadlines");
    this.ticker = checkNotNull(ticker, "ticker");
    this.lastAnswerNanos = ticker.read();
    DockerClientConfig config = DefaultDockerClientConfig.createDefaultConfigBuilder()
        .withDockerHost(dockerHost.toString())
        .build();
    this.liveness = client(config, 1, timeout);
    this.requests = client(config, REQUESTS, slowTimeout);
    // The events stream is quiet for as long as nothing happens: its client has no response
    // timeout (the watchdog notices a hung daemon instead), and a client of its own so a call never
    // waits behind it for a connection. A subscription that never starts holds one of its two
    // connections until the daemon answers or the source stops.
    this.events = client(config, 2, null);
    this.livenessPool = pool("dockhealth-docker-ping-%d", 1);
    this.requestPool = pool("dockhealth-docker-call-%d", REQUESTS);
  }

  private DockerClient client(DockerClientConfig config, int connections, Duration responseTimeout) {
    return DockerClientImpl.getInstance(config, new ZerodepDockerHttpClient.Builder()
        .dockerHost(config.getDockerHost())
        .sslConfig(config.getSSLConfig())
        .maxConnections(connections)
        .connectionTimeout(timeout)
        .responseTimeout(responseTimeout)
        .build());
  }

  private static ListeningExecutorService pool(String nameFormat, int threads) {
    return MoreExecutors.listeningDecorator(Executors.newFixedThreadPool(threads,
        new ThreadFactoryBuilder().setNameFormat(nameFormat).setDaemon(true).build()));
  }

  /** The ticker's reading when Docker last answered a call, with an error answer or not. */
  long lastAnswerNanos() {
    return lastAnswerNanos;
  }

  /** {@code GET /version}, a liveness call. */
  ListenableFuture<Version> version() {
    return call(livenessPool, timeout, () -> liveness.versionCmd().exec());
  }

  /** {@code GET /_ping}, a liveness call. */
  ListenableFuture<Void> ping() {
    return call(livenessPool, timeout, () -> liveness.pingCmd().exec());
  }

  /** {@code GET /containers/json?all=1}. */
  ListenableFuture<List<Container>> list() {
    return call(requestPool, slowTimeout, () -> requests.listContainersCmd().withShowAll(true).exec());
  }

  /** {@code GET /containers/{id}/json}, as a model record; an unusable answer fails with {@link DockerAnswerException}. */
  ListenableFuture<ContainerRecord> inspect(String id) {
    return call(requestPool, slowTimeout, () -> DockerMapping.fromInspect(requests.inspectContainerCmd(id).exec()));
  }

  /**
   * Subscribes to {@code GET /events} on the stream's own client; {@code callback} hears on a
   * thread of docker-java's.
   */
  void subscribe(Function<EventsCmd, EventsCmd> filters, ResultCallback<Event> callback) {
    filters.apply(events.eventsCmd()).exec(callback);
  }

  /**
   * A future that fails with a {@link TimeoutException} ("no answer within ...") if {@code future}
   * is not done within the liveness timeout, and then cancels it.
   */
  <T> ListenableFuture<T> withDeadline(ListenableFuture<T> future) {
    return withDeadline(future, timeout);
  }

  private <T> ListenableFuture<T> withDeadline(ListenableFuture<T> future, Duration deadline) {
    return Futures.catchingAsync(
        Futures.withTimeout(future, deadline.toNanos(), TimeUnit.NANOSECONDS, deadlines),
        TimeoutException.class,
        timedOut -> Futures.immediateFailedFuture(new TimeoutException("no answer within " + deadline.toMillis() + " ms")),
        MoreExecutors.directExecutor());
  }

  /** Cancels every call in flight (Docker was lost: their answers no longer matter). */
  void cancelAll() {
    for (ListenableFuture<?> call : inFlight) {
      call.cancel(true);
    }
  }

  @Override
  public void close() throws IOException {
    cancelAll();
    livenessPool.shutdownNow();
    requestPool.shutdownNow();
    liveness.close();
    requests.close();
    events.close();
  }

  private <T> ListenableFuture<T> call(ListeningExecutorService pool, Duration deadline, Callable<T> request) {
    ListenableFuture<T> call = withDeadline(pool.submit(() -> {
      try {
        T result = request.call();
        lastAnswerNanos = ticker.read();
        return result;
      } catch (DockerException e) {
        lastAnswerNanos = ticker.read();
        throw e;
      }
    }), deadline);
    inFlight.add(call);
    call.addListener(() -> inFlight.remove(call), MoreExecutors.directExecutor());
    return call;
  }

  /** What a call's failure says about Docker. */
  static Failure classify(Throwable failure) {
    Throwable cause = unwrap(failure);
    if (cause instanceof NotFoundException) {
      return Failure.GONE;
    }
    if (cause instanceof DockerException || cause instanceof DockerAnswerException
        || Throwables.getCausalChain(cause).stream().anyMatch(c -> c instanceof JsonProcessingException)) {
      return Failure.ANSWER;
    }
    return Failure.TRANSPORT;
  }

  /** A failure in a few words for a log line: "Status 500: {...}", "no answer within 5000 ms", the cause's message. */
  static String describe(Throwable failure) {
    Throwable cause = unwrap(failure);
    String text;
    if (cause instanceof DockerException) {
      text = String.valueOf(cause.getMessage()); // "Status 500: " and Docker's error body
    } else {
      Throwable root = Throwables.getRootCause(cause);
      text = root.getMessage() == null || root.getMessage().isEmpty() ? root.getClass().getSimpleName() : root.getMessage();
    }
    text = text.replaceAll("\\s+", " ").trim();
    return text.length() > MAX_DESCRIPTION ? text.substring(0, MAX_DESCRIPTION) + "..." : text;
  }

  /** The failure itself, out of the wrappers futures and docker-java put around it. */
  private static Throwable unwrap(Throwable failure) {
    Throwable cause = failure;
    while ((cause instanceof ExecutionException || cause instanceof UncheckedExecutionException)
        && cause.getCause() != null) {
      cause = cause.getCause();
    }
    return cause;
  }
}
