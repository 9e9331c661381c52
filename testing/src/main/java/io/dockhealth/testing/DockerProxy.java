package io.dockhealth.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A TCP proxy on 127.0.0.1 in front of a Docker engine's unix socket, so a test can make Docker
 * unreachable while the daemon keeps running: {@link #cut()} drops every open connection and turns
 * new ones away (accepted, then closed at once) until {@link #restore()}.
 *
 * <p>Each connection is relayed byte for byte (half-closes included) by two daemon threads; hijacked
 * streams such as {@code /events} or {@code attach} pass through like anything else.
 */
public final class DockerProxy implements AutoCloseable {

  private final Path target;
  private final ServerSocketChannel server;
  private final int port;
  private final Thread acceptor;
  private final Object lock = new Object();
  private final Set<Connection> connections = ConcurrentHashMap.newKeySet(); // guarded by lock for adds
  private final AtomicInteger accepted = new AtomicInteger();
  private final AtomicInteger threadIds = new AtomicInteger();
  private boolean cut; // guarded by lock
  private boolean closed; // guarded by lock

  private DockerProxy(Path target, ServerSocketChannel server) throws IOException {
    this.target = target;
    this.server = server;
    this.port = ((InetSocketAddress) server.getLocalAddress()).getPort();
    this.acceptor = new Thread(this::acceptLoop, "docker-proxy-" + port + "-accept");
    acceptor.setDaemon(true);
  }

  /** Starts a proxy on 127.0.0.1 and an ephemeral port that forwards to {@code unixSocket}. */
  public static DockerProxy start(Path unixSocket) {
    try {
      ServerSocketChannel server = ServerSocketChannel.open();
      try {
        server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        DockerProxy proxy = new DockerProxy(unixSocket, server);
        proxy.acceptor.start();
        return proxy;
      } catch (IOException | RuntimeException e) {
        server.close();
        throw e;
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start a proxy to " + unixSocket, e);
    }
  }

  /** The proxy's address for a Docker client: {@code tcp://127.0.0.1:PORT}. */
  public String host() {
    return "tcp://127.0.0.1:" + port;
  }

  /** The proxy's TCP port on 127.0.0.1. */
  public int port() {
    return port;
  }

  /** Closes every open connection and, until {@link #restore()}, closes new ones as they come. */
  public void cut() {
    List<Connection> open;
    synchronized (lock) {
      cut = true;
      open = new ArrayList<>(connections);
    }
    open.forEach(Connection::close);
  }

  /** Forwards new connections again after {@link #cut()}. */
  public void restore() {
    synchronized (lock) {
      cut = false;
    }
  }

  /** How many client connections the proxy accepted, including those it turned away. */
  public int connectionsAccepted() {
    return accepted.get();
  }

  /** How many connections are being relayed right now. */
  public int openConnections() {
    return connections.size();
  }

  /** Stops listening, drops every connection and waits (briefly) for the proxy's threads to end. */
  @Override
  public void close() {
    List<Connection> open;
    synchronized (lock) {
      if (closed) {
        return;
      }
      closed = true;
      open = new ArrayList<>(connections);
    }
    try {
      server.close(); // wakes the acceptor with AsynchronousCloseException
    } catch (IOException ignored) {
      // closing anyway
    }
    open.forEach(Connection::close);
    join(acceptor);
    for (Connection connection : open) {
      connection.join();
    }
  }

  @Override
  public String toString() {
    return "DockerProxy[" + host() + " -> " + target + "]";
  }

  private void acceptLoop() {
    while (true) {
      SocketChannel client;
      try {
        client = server.accept();
      } catch (IOException e) {
        return; // closed
      }
      accepted.incrementAndGet();
      boolean refuse;
      synchronized (lock) {
        refuse = cut || closed;
      }
      if (refuse) {
        closeQuietly(client);
        continue;
      }
      SocketChannel upstream;
      try {
        upstream = SocketChannel.open(UnixDomainSocketAddress.of(target));
      } catch (IOException | RuntimeException e) {
        closeQuietly(client); // the daemon is down: the client sees the connection drop
        continue;
      }
      Connection connection = new Connection(client, upstream);
      synchronized (lock) {
        // cut() or close() may have come while we dialled the daemon.
        if (cut || closed) {
          refuse = true;
        } else {
          connections.add(connection);
        }
      }
      if (refuse) {
        connection.close();
      } else {
        connection.start();
      }
    }
  }

  /** One relayed connection: client to daemon and daemon to client, each on its own thread. */
  private final class Connection {
    private final SocketChannel client;
    private final SocketChannel upstream;
    private final Thread toUpstream;
    private final Thread toClient;
    private final AtomicInteger finished = new AtomicInteger();

    Connection(SocketChannel client, SocketChannel upstream) {
      this.client = client;
      this.upstream = upstream;
      int id = threadIds.incrementAndGet();
      this.toUpstream = new Thread(() -> pump(client, upstream), "docker-proxy-" + port + "-up-" + id);
      this.toClient = new Thread(() -> pump(upstream, client), "docker-proxy-" + port + "-down-" + id);
      toUpstream.setDaemon(true);
      toClient.setDaemon(true);
    }

    void start() {
      toUpstream.start();
      toClient.start();
    }

    private void pump(SocketChannel from, SocketChannel to) {
      ByteBuffer buffer = ByteBuffer.allocate(64 * 1024);
      try {
        while (from.read(buffer) >= 0) {
          buffer.flip();
          while (buffer.hasRemaining()) {
            to.write(buffer);
          }
          buffer.clear();
        }
        to.shutdownOutput(); // pass the half-close on
      } catch (ClosedChannelException e) {
        // cut(), close() or the other direction closed the connection
      } catch (IOException e) {
        close(); // reset or broken pipe: drop both sides
      }
      if (finished.incrementAndGet() == 2) {
        close();
      }
    }

    void close() {
      connections.remove(this);
      closeQuietly(client);
      closeQuietly(upstream);
    }

    void join() {
      DockerProxy.join(toUpstream);
      DockerProxy.join(toClient);
    }
  }

  private static void join(Thread thread) {
    if (thread.getState() == Thread.State.NEW) {
      return;
    }
    try {
      thread.join(5_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static void closeQuietly(SocketChannel channel) {
    try {
      channel.close();
    } catch (IOException ignored) {
      // nothing to do
    }
  }
}
