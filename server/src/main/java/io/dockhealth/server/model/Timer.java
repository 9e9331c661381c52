package io.dockhealth.server.model;

import java.time.Duration;

/** Runs a task later. Injected so tests move time by hand. */
@FunctionalInterface
public interface Timer {
  void schedule(Duration delay, Runnable task);
}
