package io.dockhealth.server.docker;

import com.github.dockerjava.api.model.Event;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The last few events seen, to drop the ones Docker sends again when the stream resumes: {@code
 * since} is inclusive, so the events at the resume time arrive twice.
 */
final class RecentEvents {
  private final Map<String, Boolean> seen;

  RecentEvents(int capacity) {
    seen = new LinkedHashMap<>(capacity * 2, 0.75f, false) {
      private static final long serialVersionUID = 1L;

      @Override
      protected boolean removeEldestEntry(Map.Entry<String, Boolean> eldest) {
        return size() > capacity;
      }
    };
  }

  /** False if this event was seen already. */
  boolean firstTime(Event event, String containerId) {
    String key = event.getTimeNano() + " " + containerId + " " + event.getAction();
    return seen.put(key, Boolean.TRUE) == null;
  }
}
