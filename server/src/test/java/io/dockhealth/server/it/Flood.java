package io.dockhealth.server.it;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Many connections (TCP or unix socket) a test holds open against a server, as a misbehaving client does: silent
 * (connect and send nothing) or slowloris (send a request head one byte per tick, never ending it).
 * Every tick it drains what the server sent and notes the connections the server has closed; it
 * never reconnects them.
 */
final class Flood implements AutoCloseable {
  /** A head that never ends: after it, one more header byte per tick. */
  private static final byte[] HEAD = "GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: ".getBytes(StandardCharsets.US_ASCII);

  private final List<SocketChannel> open = new ArrayList<>(); // touched only by the ticker after start
  private final boolean trickle;
  private final ScheduledExecutorService ticker = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread thread = new Thread(r, "flood");
    thread.setDaemon(true);
    return thread;
  });
  private volatile int stillOpen;
  private long sent;

  private Flood(SocketAddress target, int connections, boolean trickle, Duration tick) {
    this.trickle = trickle;
    try {
      for (int i = 0; i < connections; i++) {
        SocketChannel channel = SocketChannel.open(target);
        channel.configureBlocking(false);
        open.add(channel);
      }
    } catch (IOException e) {
      close();
      throw new UncheckedIOException("flood: connection " + (open.size() + 1) + " of " + connections, e);
    }
    stillOpen = open.size();
    ticker.scheduleWithFixedDelay(this::tick, 0, tick.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** {@code connections} connections that send nothing. */
  static Flood silent(SocketAddress target, int connections) {
    return new Flood(target, connections, false, Duration.ofMillis(200));
  }

  /** {@code connections} connections that each send a request head one byte every {@code tick}. */
  static Flood slowloris(SocketAddress target, int connections, Duration tick) {
    return new Flood(target, connections, true, tick);
  }

  /** Connections the server had not closed at the last tick. */
  int stillOpen() {
    return stillOpen;
  }

  private void tick() {
    ByteBuffer sink = ByteBuffer.allocate(16 * 1024);
    byte next = sent < HEAD.length ? HEAD[(int) sent] : (byte) 'a';
    open.removeIf(channel -> {
      try {
        for (int n = channel.read(sink.clear()); n != 0; n = channel.read(sink.clear())) {
          if (n < 0) {
            channel.close();
            return true;
          }
        }
        if (trickle) {
          channel.write(ByteBuffer.wrap(new byte[] {next}));
        }
        return false;
      } catch (IOException e) {
        closeQuietly(channel);
        return true;
      }
    });
    sent++;
    stillOpen = open.size();
  }

  @Override
  public void close() {
    ticker.shutdownNow();
    try {
      ticker.awaitTermination(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    open.forEach(Flood::closeQuietly);
    open.clear();
  }

  private static void closeQuietly(SocketChannel channel) {
    try {
      channel.close();
    } catch (IOException ignored) {
      // closing a connection the test no longer needs
    }
  }
}
