package io.dockhealth.server.docker;

import static com.google.common.base.Preconditions.checkNotNull;

import io.dockhealth.server.model.ContainerModel;
import io.dockhealth.server.model.ContainerRecord;
import java.time.Duration;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Inspects the containers the events stream speaks of, and retries the ones Docker erred about: at
 * most {@link DockerCalls#INSPECTS} at once and one at a time per container, so a burst of events
 * costs one inspect per container, and a slow inspect never holds up events about others.
 *
 * <p>Only the newest word on a container reaches the model: an answer is dropped, and the container
 * asked about again, when an event about it came while the answer was on its way (the answer may
 * predate the event, which the model already shows).
 *
 * <p>An error about one container (an error answer, an answer that cannot be used, or no answer
 * while Docker still answers a ping) makes only that container stale. The first failure is logged
 * as a warning, and the container is retried with backoff (1 s, doubling to 16 s) until Docker
 * describes it again; a 404 means it is gone.
 *
 * <p>Confined to the control thread; one instance per connection to Docker.
 */
final class Inspections {
  private static final Logger logger = LoggerFactory.getLogger(Inspections.class);
  private static final Duration FIRST_RETRY = Duration.ofSeconds(1);
  private static final Duration MAX_RETRY = Duration.ofSeconds(16);

  /** A container Docker errs about. */
  private static final class Failing {
    final Backoff backoff = new Backoff(FIRST_RETRY, MAX_RETRY);
    int failures;
    boolean retryScheduled;
  }

  private final DockerCalls calls;
  private final ControlThread control;
  private final Watchdog watchdog;
  private final ContainerModel model;
  private final DockerStats stats;

  private final Set<String> pending = new LinkedHashSet<>();
  /** Containers being inspected, each with whether an event about it came since it was asked. */
  private final Map<String, Boolean> inFlight = new HashMap<>();
  private final Map<String, Failing> failing = new HashMap<>();

  Inspections(DockerCalls calls, ControlThread control, Watchdog watchdog, ContainerModel model, DockerStats stats) {
    this.calls = checkNotNull(calls, "calls");
    this.control = checkNotNull(control, "control");
    this.watchdog = checkNotNull(watchdog, "watchdog");
    this.model = checkNotNull(model, "model");
    this.stats = checkNotNull(stats, "stats");
  }

  /** Something happened to the container: inspect it (again). */
  void request(String id) {
    if (inFlight.containsKey(id)) {
      inFlight.put(id, true);
    } else {
      pending.add(id);
    }
    pump();
  }

  /** The container was destroyed: no retries for it. An inspect in flight will find it gone. */
  void forget(String id) {
    pending.remove(id);
    failing.remove(id);
    inFlight.computeIfPresent(id, (k, outdated) -> true);
  }

  /** Whether Docker erred about the container the last time it was asked, and has not described it since. */
  boolean isFailing(String id) {
    return failing.containsKey(id);
  }

  /** A resync described the container: whatever failed before is over. */
  void described(String id) {
    Failing was = failing.remove(id);
    if (was != null) {
      logger.info("container {}: Docker describes it again, after {} failed inspects", who(id), was.failures);
    }
  }

  /** Keeps retries only for these containers, the ones Docker still has. */
  void retainOnly(Set<String> ids) {
    failing.keySet().retainAll(ids);
  }

  /**
   * Docker erred about the container (or did not answer about it while answering a ping): it goes
   * stale, and is retried with backoff. Logged as a warning the first time only.
   */
  void failed(String id, Throwable cause) {
    stats.error();
    Failing entry = failing.get(id);
    if (entry == null) {
      entry = new Failing();
      failing.put(id, entry);
      logger.warn("Docker erred about container {} ({}); it keeps its last known state, marked stale, and is"
          + " inspected again with backoff up to {} s", who(id), DockerCalls.describe(cause), MAX_RETRY.toSeconds());
    }
    entry.failures++;
    model.markStale(id);
    if (!entry.retryScheduled) {
      entry.retryScheduled = true;
      Duration delay = entry.backoff.next();
      if (entry.failures > 1) {
        logger.debug("container {}: inspect {} failed ({}); inspect {} in {} ms", who(id), entry.failures,
            DockerCalls.describe(cause), entry.failures + 1, delay.toMillis());
      }
      Failing retried = entry;
      control.schedule(delay, () -> {
        retried.retryScheduled = false;
        if (failing.get(id) == retried) {
          request(id);
        }
      });
    }
  }

  private void pump() {
    Iterator<String> next = pending.iterator();
    while (inFlight.size() < DockerCalls.INSPECTS && next.hasNext()) {
      String id = next.next();
      next.remove();
      inFlight.put(id, false);
      control.when(calls.inspect(id), record -> answered(id, record), cause -> notDescribed(id, cause));
    }
  }

  private void answered(String id, ContainerRecord container) {
    if (outdated(id)) {
      return;
    }
    described(id);
    model.put(container);
    pump();
  }

  private void notDescribed(String id, Throwable cause) {
    if (outdated(id)) {
      return;
    }
    switch (DockerCalls.classify(cause)) {
      case GONE -> {
        failing.remove(id);
        model.remove(id);
      }
      case ANSWER -> failed(id, cause);
      // No answer: about this container only if Docker still answers a ping; if not, the watchdog
      // reports Docker lost, and this instance is done with.
      case TRANSPORT -> control.when(watchdog.check(), ok -> failed(id, cause), lost -> { });
    }
    pump();
  }

  /** Ends an inspect; true if an event came meanwhile, so the container is asked about again instead. */
  private boolean outdated(String id) {
    if (Boolean.TRUE.equals(inFlight.remove(id))) {
      pending.add(id);
      pump();
      return true;
    }
    return false;
  }

  private String who(String id) {
    String shortId = id.substring(0, Math.min(id.length(), ContainerRecord.SHORT_ID_LENGTH));
    return model.get(id).map(c -> c.name() + " (" + shortId + ")").orElse(shortId);
  }
}
