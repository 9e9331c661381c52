package io.dockhealth.client;

import static com.google.common.base.Preconditions.checkNotNull;
import static com.google.common.base.Preconditions.checkState;

import com.google.common.base.Stopwatch;
import com.google.common.base.Ticker;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.SynchronizationContext;
import java.time.Duration;
import java.util.function.DoubleSupplier;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * A server-streaming call kept open across failures, following the client rules of gRFC A17 (the
 * health-checking client grpc-java's own load balancers use):
 *
 * <ul>
 *   <li>a stream that ends after the server sent at least one message is started again at once;
 *   <li>one that ends before any message is started again after an exponential backoff, less the
 *       time the failed stream already took; every received message starts the backoff over;
 *   <li>{@code UNIMPLEMENTED} ends it for good: the server does not have the service, and asking
 *       again would only repeat the answer.
 * </ul>
 *
 * <p>One message is requested at a time, so a slow handler holds the server back rather than
 * making this client buffer. All state changes and handler calls run in a {@link
 * SynchronizationContext}: one at a time, in order, and safe when gRPC calls back on the calling
 * thread.
 */
final class ReconnectingStream<ReqT, RespT> implements Watch {
  private static final Logger logger = Logger.getLogger(ReconnectingStream.class.getName());

  /** What the stream reports. Called in the synchronization context, never after close(). */
  interface Handler<RespT> {
    void onMessage(RespT message);

    /** The stream ended and will be started again. */
    void onBroken(Status status);

    /** The stream ended for good. */
    void onStopped(Status status);
  }

  private final Channel channel;
  private final MethodDescriptor<ReqT, RespT> method;
  private final ReqT request;
  private final CallOptions callOptions;
  private final Handler<RespT> handler;
  private final ReconnectBackoff backoff;
  private final Scheduler scheduler;
  private final Ticker ticker;
  private final DoubleSupplier random;
  private final SynchronizationContext syncContext = new SynchronizationContext((thread, e) ->
      logger.log(Level.SEVERE, "bug in the watch's reconnect logic", e));

  /**
   * Set first thing by close(), read before every handler call: once close() returns nothing more is
   * delivered (but a call already running finishes).
   */
  private volatile boolean closed;

  // Confined to syncContext.
  private Attempt active;
  private Scheduler.Handle retryTimer;
  private int failedAttempts; // since the last message: chooses the next backoff delay
  private boolean started;

  ReconnectingStream(Channel channel, MethodDescriptor<ReqT, RespT> method, ReqT request,
      CallOptions callOptions, Handler<RespT> handler, ReconnectBackoff backoff, Scheduler scheduler,
      Ticker ticker, DoubleSupplier random) {
    this.channel = checkNotNull(channel, "channel");
    this.method = checkNotNull(method, "method");
    this.request = checkNotNull(request, "request");
    this.callOptions = checkNotNull(callOptions, "callOptions");
    this.handler = checkNotNull(handler, "handler");
    this.backoff = checkNotNull(backoff, "backoff");
    this.scheduler = checkNotNull(scheduler, "scheduler");
    this.ticker = checkNotNull(ticker, "ticker");
    this.random = checkNotNull(random, "random");
  }

  /** Opens the first stream. Call once. */
  void start() {
    syncContext.execute(() -> {
      checkState(!started, "already started");
      started = true;
      if (!closed) {
        startAttempt();
      }
    });
  }

  @Override
  public void close() {
    closed = true;
    syncContext.execute(() -> {
      if (retryTimer != null) {
        retryTimer.cancel();
        retryTimer = null;
      }
      if (active != null) {
        Attempt attempt = active;
        active = null;
        attempt.call.cancel("watch closed by the client", null);
      }
    });
  }

  private void startAttempt() {
    syncContext.throwIfNotInThisSynchronizationContext();
    retryTimer = null;
    Attempt attempt = new Attempt();
    active = attempt;
    attempt.start();
  }

  private void attemptClosed(Attempt attempt, Status status) {
    if (active != attempt || closed) {
      return; // cancelled by close(), or a stale stream
    }
    active = null;
    if (status.getCode() == Status.Code.UNIMPLEMENTED) {
      deliver(() -> handler.onStopped(status));
      return;
    }
    deliver(() -> handler.onBroken(status));
    if (closed) {
      return; // the handler closed the watch
    }
    long delayNanos = 0;
    if (!attempt.responded) {
      delayNanos = backoff.delay(failedAttempts++, random.getAsDouble()).toNanos()
          - attempt.stopwatch.elapsed().toNanos();
    }
    if (delayNanos <= 0) {
      startAttempt();
    } else {
      retryTimer = scheduler.schedule(Duration.ofNanos(delayNanos), () -> syncContext.execute(() -> {
        if (!closed && active == null) {
          startAttempt();
        }
      }));
    }
  }

  /** A handler that throws must not end the watch: log it, and the stream carries on. */
  private static void deliver(Runnable call) {
    try {
      call.run();
    } catch (RuntimeException e) {
      logger.log(Level.WARNING, "a watch listener threw; the watch carries on", e);
    }
  }

  /** One stream: a call, and whether the server has sent anything on it. */
  private final class Attempt extends ClientCall.Listener<RespT> {
    final ClientCall<ReqT, RespT> call = channel.newCall(method, callOptions);
    final Stopwatch stopwatch = Stopwatch.createStarted(ticker);
    boolean responded;

    void start() {
      call.start(this, new Metadata());
      call.sendMessage(request);
      call.halfClose();
      call.request(1);
    }

    @Override
    public void onMessage(RespT message) {
      syncContext.execute(() -> {
        if (active != this || closed) {
          return;
        }
        responded = true;
        failedAttempts = 0;
        deliver(() -> handler.onMessage(message));
        call.request(1);
      });
    }

    @Override
    public void onClose(Status status, Metadata trailers) {
      syncContext.execute(() -> attemptClosed(this, status));
    }
  }
}
