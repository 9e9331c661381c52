package io.dockhealth.client;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** A scheduler that only records: tests see each delay asked for and run the task when they like. */
final class FakeScheduler implements Scheduler {
  /** One scheduled task. */
  static final class Task implements Handle {
    final Duration delay;
    final Runnable task;
    boolean cancelled;

    Task(Duration delay, Runnable task) {
      this.delay = delay;
      this.task = task;
    }

    @Override
    public void cancel() {
      cancelled = true;
    }
  }

  private final List<Task> tasks = new ArrayList<>();

  @Override
  public synchronized Handle schedule(Duration delay, Runnable task) {
    Task scheduled = new Task(delay, task);
    tasks.add(scheduled);
    return scheduled;
  }

  /** Every delay asked for so far, cancelled or not, in order. */
  synchronized List<Duration> delays() {
    return tasks.stream().map(t -> t.delay).toList();
  }

  /** Tasks neither run nor cancelled. */
  synchronized List<Task> pending() {
    return tasks.stream().filter(t -> !t.cancelled).toList();
  }

  /** Runs the oldest pending task (as if its delay had passed). */
  void runNext() {
    Task next;
    synchronized (this) {
      next = tasks.stream().filter(t -> !t.cancelled).findFirst().orElseThrow();
      next.cancelled = true; // ran: no longer pending
    }
    next.task.run();
  }
}
