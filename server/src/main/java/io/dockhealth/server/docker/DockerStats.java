package io.dockhealth.server.docker;

/**
 * What the Docker side reports about its own work, for metrics. Called on Docker's threads, so an
 * implementation must be cheap and must not block; it only counts, it never reads the model.
 */
public interface DockerStats {
  /** Reports nothing. */
  DockerStats NONE = new DockerStats() {};

  /**
   * A new event arrived on the {@code /events} stream. Each event is reported once: the ones Docker
   * sends again when the stream resumes are not.
   *
   * @param action the event's kind, such as {@code start} or {@code health_status}: one of the
   *     actions dockhealth subscribes to, or {@code other}
   */
  default void eventReceived(String action) {}

  /** Every container was read afresh and handed to the model. */
  default void resynced() {}

  /** Docker was reached again after the connection had been lost. */
  default void reconnected() {}

  /**
   * The connection was lost or could not be made, Docker erred about a container, or Docker gave an
   * answer that could not be used.
   */
  default void error() {}
}
