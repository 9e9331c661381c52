package io.dockhealth.server.docker;

import static com.google.common.base.Preconditions.checkNotNull;

import com.google.common.base.Ticker;
import com.google.common.util.concurrent.ListenableFuture;
import java.time.Duration;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;

/**
 * Notices a hung Docker. A daemon that keeps its connections open but answers nothing looks, on the
 * events stream, just like one with nothing to say; so while connected, whenever nothing has been
 * heard from Docker for {@code quiet} (no event, no answer to any call), the watchdog pings it
 * ({@code GET /_ping}). A ping that fails, or gets no answer within the call deadline, means Docker is lost.
 *
 * <p>A hang is noticed at worst {@code quiet} + one {@link #TICK} + the deadline after Docker last
 * answered: 2 s + 1 s + 5 s by default, inside the 10 s the contract allows.
 *
 * <p>Confined to the control thread.
 */
final class Watchdog {
  /** How often the watchdog looks at the time since Docker last answered. */
  static final Duration TICK = Duration.ofSeconds(1);

  private final DockerCalls calls;
  private final ControlThread control;
  private final Ticker ticker;
  private final long quietNanos;
  private final Consumer<Throwable> onLost;

  private boolean watching;
  private long lastEventNanos;
  private @Nullable ListenableFuture<Void> ping;

  /** @param onLost told, on the control thread, when a ping fails */
  Watchdog(DockerCalls calls, ControlThread control, Ticker ticker, Duration quiet, Consumer<Throwable> onLost) {
    this.calls = checkNotNull(calls, "calls");
    this.control = checkNotNull(control, "control");
    this.ticker = checkNotNull(ticker, "ticker");
    this.quietNanos = quiet.toNanos();
    this.onLost = checkNotNull(onLost, "onLost");
  }

  /** Connected: watch from now on. */
  void start() {
    watching = true;
    heard();
  }

  /** Not connected (or stopping): nothing to watch; a ping in flight no longer matters. */
  void stop() {
    watching = false;
    ping = null;
  }

  /** An event arrived: a sign of life (answers to calls count by themselves). */
  void heard() {
    lastEventNanos = ticker.read();
  }

  /** Called every {@link #TICK}: pings if Docker has been quiet for too long. */
  void tick() {
    long now = ticker.read();
    boolean quiet = now - lastEventNanos >= quietNanos && now - calls.lastAnswerNanos() >= quietNanos;
    if (watching && ping == null && quiet) {
      check();
    }
  }

  /**
   * Pings Docker now, or joins the ping in flight. An answer counts as a sign of life; a failure is
   * reported as a lost Docker. Callers that need to know whether Docker as a whole answers (after
   * one call got no answer) wait on the returned future.
   */
  ListenableFuture<Void> check() {
    ListenableFuture<Void> current = ping;
    if (current == null) {
      current = calls.ping();
      ping = current;
      control.when(current, ok -> ping = null, cause -> {
        ping = null;
        onLost.accept(cause);
      });
    }
    return current;
  }
}
