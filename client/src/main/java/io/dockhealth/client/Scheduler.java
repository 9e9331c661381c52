package io.dockhealth.client;

import static com.google.common.base.Preconditions.checkNotNull;

import java.time.Duration;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/** Runs a task later. The seam where tests put a fake clock under the reconnect logic. */
interface Scheduler {

  /** A scheduled task that may still be cancelled. */
  interface Handle {
    void cancel();
  }

  Handle schedule(Duration delay, Runnable task);

  static Scheduler of(ScheduledExecutorService executor) {
    checkNotNull(executor, "executor");
    return (delay, task) -> {
      ScheduledFuture<?> future = executor.schedule(task, delay.toNanos(), TimeUnit.NANOSECONDS);
      return () -> future.cancel(false);
    };
  }
}
