package io.dockhealth.server.logging;

import static com.google.common.base.Preconditions.checkArgument;
import static com.google.common.base.Preconditions.checkNotNull;

import com.google.common.base.Ticker;
import com.google.errorprone.annotations.concurrent.GuardedBy;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

/**
 * How many lines of each kind may be logged per window: the first {@code perWindow} of a window
 * are, the rest are counted. The first line let through after some were held back learns how many,
 * so that the log says what it left out. Keys come from code (a kind of fault, a logger and its
 * message pattern), never from a client, so the map stays small.
 */
final class LogBudget {
  /** {@link #take} says: do not log this one. */
  static final long SKIP = -1;

  private final int perWindow;
  private final long windowNanos;
  private final Ticker ticker;

  @GuardedBy("this")
  private final Map<String, Window> windows = new HashMap<>();

  LogBudget(int perWindow, Duration window, Ticker ticker) {
    checkArgument(perWindow > 0, "perWindow: %s (expected: > 0)", perWindow);
    checkArgument(!window.isNegative() && !window.isZero(), "window: %s (expected: > 0)", window);
    this.perWindow = perWindow;
    this.windowNanos = window.toNanos();
    this.ticker = checkNotNull(ticker, "ticker");
  }

  /**
   * Asks to log one line of {@code key}.
   *
   * @return {@link #SKIP}, or the number of lines of this key held back since the last one logged
   */
  synchronized long take(String key) {
    long now = ticker.read();
    Window window = windows.computeIfAbsent(key, k -> new Window(now));
    if (now - window.start >= windowNanos) {
      window.start = now;
      window.logged = 0;
    }
    if (window.logged >= perWindow) {
      window.skipped++;
      return SKIP;
    }
    window.logged++;
    long skipped = window.skipped;
    window.skipped = 0;
    return skipped;
  }

  private static final class Window {
    long start;
    int logged;
    long skipped;

    Window(long start) {
      this.start = start;
    }
  }
}
