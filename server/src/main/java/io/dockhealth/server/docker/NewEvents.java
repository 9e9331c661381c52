package io.dockhealth.server.docker;

import static com.google.common.base.Preconditions.checkArgument;
import static com.google.common.base.Preconditions.checkNotNull;

import com.github.dockerjava.api.model.Event;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Tells new events from the ones Docker sends again when the stream resumes ({@code since} is
 * inclusive, so the events at the resume time arrive twice), and counts each event once, when it
 * is first seen. Remembers the last {@code capacity} events, well over the 256 Docker replays at
 * most.
 */
final class NewEvents {
  private final DockerStats stats;
  private final Map<String, Boolean> seen;

  NewEvents(int capacity, DockerStats stats) {
    checkArgument(capacity > 0, "capacity: %s (expected: > 0)", capacity);
    this.stats = checkNotNull(stats, "stats");
    this.seen = new LinkedHashMap<>(capacity * 2, 0.75f, false) {
      private static final long serialVersionUID = 1L;

      @Override
      protected boolean removeEldestEntry(Map.Entry<String, Boolean> eldest) {
        return size() > capacity;
      }
    };
  }

  /** True, and counted, if this event about {@code containerId} was not seen before. */
  boolean admit(Event event, String containerId) {
    // Every engine since API 1.22 sends timeNano; without it, an event cannot be told from a repeat.
    if (event.getTimeNano() != null
        && seen.put(event.getTimeNano() + " " + containerId + " " + event.getAction(), Boolean.TRUE) != null) {
      return false;
    }
    stats.eventReceived(EventUpdates.kind(event.getAction()));
    return true;
  }
}
