package io.dockhealth.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

/**
 * Reads a child process's stream to its end on a daemon thread of its own, so that a command
 * filling one pipe never blocks on it while its other stream is read.
 */
final class Drain extends Thread {
  private final InputStream in;
  private final ByteArrayOutputStream buffer = new ByteArrayOutputStream();

  Drain(InputStream in, String what) {
    super("dockhealth-drain-" + what);
    this.in = in;
    setDaemon(true);
    start();
  }

  @Override
  public void run() {
    try (in) {
      in.transferTo(buffer);
    } catch (IOException ignored) {
      // the process went away; keep what was read
    }
  }

  /** What was read, once the stream ended (or after 10 s, what was read by then). */
  String text() {
    try {
      join(TimeUnit.SECONDS.toMillis(10));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    return buffer.toString(StandardCharsets.UTF_8); // synchronized, like its writes
  }
}
