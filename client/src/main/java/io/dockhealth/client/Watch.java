package io.dockhealth.client;

/** A running watch. Closing it ends the stream and any pending reconnect; nothing is delivered after. */
public interface Watch extends AutoCloseable {
  @Override
  void close();
}
