package io.dockhealth.server.testing;

import io.dockhealth.server.model.Timer;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/** A clock, and a timer on it, that move only when told to: {@link #advance} runs what falls due. */
public final class FakeClock extends Clock implements Timer {
  private record Task(Instant due, Runnable task) {}

  private final List<Task> tasks = new ArrayList<>();
  private Instant now;

  public FakeClock(Instant start) {
    this.now = start;
  }

  /** Moves time on, running each task that falls due on the way, in due order, at its due time. */
  public void advance(Duration duration) {
    Instant end;
    synchronized (this) {
      end = now.plus(duration);
    }
    while (true) {
      Task next;
      synchronized (this) {
        next = tasks.stream().filter(t -> !t.due().isAfter(end)).min(Comparator.comparing(Task::due)).orElse(null);
        if (next == null) {
          now = end;
          return;
        }
        tasks.remove(next);
        now = next.due().isAfter(now) ? next.due() : now;
      }
      next.task().run(); // outside the lock: the task may read the clock or schedule more
    }
  }

  @Override
  public synchronized void schedule(Duration delay, Runnable task) {
    tasks.add(new Task(now.plus(delay), task));
  }

  @Override
  public synchronized Instant instant() {
    return now;
  }

  @Override
  public ZoneId getZone() {
    return ZoneOffset.UTC;
  }

  @Override
  public Clock withZone(ZoneId zone) {
    if (!zone.equals(ZoneOffset.UTC)) {
      throw new IllegalArgumentException("zone: " + zone + " (expected: UTC, the fake clock's only zone)");
    }
    return this;
  }
}
