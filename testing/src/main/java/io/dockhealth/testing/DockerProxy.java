package io.dockhealth.testing;

import static java.nio.charset.StandardCharsets.ISO_8859_1;

import java.io.EOFException;
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
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Pattern;

/**
 * A fault-injecting TCP proxy on 127.0.0.1 in front of a Docker engine's unix socket, so a test can
 * make Docker misbehave while the daemon itself is fine:
 *
 * <ul>
 *   <li>{@link #cut()} drops every open connection and turns new ones away (accepted, then closed at
 *       once);
 *   <li>{@link #hang()} freezes every connection, open and new, in both directions: requests are
 *       read and never answered, as from a hung daemon;
 *   <li>{@link #answer500}, {@link #hangRequests}, {@link #delayRequests} and {@link #cutRequests}
 *       act on the requests whose method and path match, and only on those;
 *   <li>{@link #restore()} lifts every fault; frozen and delayed requests go on to the daemon.
 * </ul>
 *
 * <p>Answers travel from the daemon to the client byte for byte, never parsed, so the chunked
 * {@code /events} stream and hijacked streams pass as they are. Requests are parsed just enough to
 * see where each one starts on a keep-alive connection: the request head up to the blank line,
 * then a body framed by {@code Content-Length} or {@code Transfer-Encoding: chunked}, relayed byte
 * for byte too; after a {@code Connection: Upgrade} request the rest of the connection is raw.
 * Parsing requests (not answers) is the simplest way that is correct on keep-alive connections:
 * a request's path is all a fault needs, and Docker's answers (the endless /events stream among
 * them) need no framing of ours. An injected 500 is written between the daemon's answers, which is
 * right for clients that wait for an answer before sending the next request on a connection, as
 * docker-java and the Docker CLI do (neither pipelines).
 */
public final class DockerProxy implements AutoCloseable {
  private static final int MAX_HEAD = 64 * 1024;
  private static final String ERROR_BODY = "{\"message\":\"fault injected by DockerProxy\"}";
  private static final byte[] ANSWER_500 = (
      "HTTP/1.1 500 Internal Server Error\r\n"
      + "Content-Type: application/json\r\n"
      + "Content-Length: " + ERROR_BODY.length() + "\r\n"
      + "\r\n"
      + ERROR_BODY).getBytes(ISO_8859_1);

  private enum Action { ANSWER_500, HANG, DELAY, CUT }

  /** What to do to the requests whose method is {@code method} and whose path matches {@code path}. */
  private record Rule(String method, Pattern path, Action action, Duration delay) {
    boolean matches(String requestMethod, String requestPath) {
      return method.equalsIgnoreCase(requestMethod) && path.matcher(requestPath).matches();
    }
  }

  private final Path target;
  private final ServerSocketChannel server;
  private final int port;
  private final Thread acceptor;
  private final Object lock = new Object();
  private final Set<Connection> connections = ConcurrentHashMap.newKeySet(); // guarded by lock for adds
  private final AtomicInteger accepted = new AtomicInteger();
  private final AtomicInteger faultsInjected = new AtomicInteger();
  private final AtomicInteger threadIds = new AtomicInteger();
  private final List<Rule> rules = new ArrayList<>(); // guarded by lock
  private boolean cut; // guarded by lock
  private boolean hung; // guarded by lock
  private long restores; // guarded by lock: bumped by restore(), ends a per-request hang or delay
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

  /**
   * Until {@link #restore()}, relays nothing in either direction on any connection, open or new:
   * requests are read and never answered, the events stream falls silent. What a client sees of a
   * hung daemon.
   */
  public void hang() {
    synchronized (lock) {
      hung = true;
    }
  }

  /**
   * Until {@link #restore()}, answers requests such as {@code GET /containers/<id>/json} with HTTP
   * 500 and a Docker-style error body instead of passing them on.
   *
   * @param pathRegex matched against the whole path, query excluded
   */
  public void answer500(String method, String pathRegex) {
    addRule(method, pathRegex, Action.ANSWER_500, Duration.ZERO);
  }

  /** Until {@link #restore()}, holds matching requests (and their connections) without an answer. */
  public void hangRequests(String method, String pathRegex) {
    addRule(method, pathRegex, Action.HANG, Duration.ZERO);
  }

  /** Until {@link #restore()}, passes matching requests on only after {@code delay}. */
  public void delayRequests(String method, String pathRegex, Duration delay) {
    addRule(method, pathRegex, Action.DELAY, delay);
  }

  /** Until {@link #restore()}, closes the connection of each matching request instead of passing it on. */
  public void cutRequests(String method, String pathRegex) {
    addRule(method, pathRegex, Action.CUT, Duration.ZERO);
  }

  private void addRule(String method, String pathRegex, Action action, Duration delay) {
    synchronized (lock) {
      rules.add(new Rule(method, Pattern.compile(pathRegex), action, delay));
    }
  }

  /** Lifts every fault: new connections are forwarded, held requests go on, no request is matched. */
  public void restore() {
    synchronized (lock) {
      cut = false;
      hung = false;
      rules.clear();
      restores++;
      lock.notifyAll();
    }
  }

  /** How many requests a fault rule acted on (answered, held, delayed or cut). */
  public int faultsInjected() {
    return faultsInjected.get();
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
      lock.notifyAll();
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

  /**
   * One relayed connection: requests from the client to the daemon on one thread (parsed into
   * requests so that faults can match them), answers from the daemon to the client on another.
   */
  private final class Connection {
    private final SocketChannel client;
    private final SocketChannel upstream;
    private final ChannelReader fromClient;
    private final Thread toUpstream;
    private final Thread toClient;
    private final Object clientWrites = new Object();
    private final AtomicInteger finished = new AtomicInteger();
    private volatile boolean closed;

    Connection(SocketChannel client, SocketChannel upstream) {
      this.client = client;
      this.upstream = upstream;
      this.fromClient = new ChannelReader(client);
      int id = threadIds.incrementAndGet();
      this.toUpstream = new Thread(this::relayRequests, "docker-proxy-" + port + "-up-" + id);
      this.toClient = new Thread(this::relayAnswers, "docker-proxy-" + port + "-down-" + id);
      toUpstream.setDaemon(true);
      toClient.setDaemon(true);
    }

    void start() {
      toUpstream.start();
      toClient.start();
    }

    private void relayRequests() {
      try {
        while (true) {
          byte[] head = fromClient.readHead();
          if (head == null) {
            upstream.shutdownOutput(); // the client half-closed: pass it on
            break;
          }
          Request request = Request.parse(head);
          awaitNotHung();
          if (closed) {
            break;
          }
          Rule rule = request == null ? null : ruleFor(request);
          if (rule != null && !applyFault(rule, request)) {
            break; // the fault closed the connection
          }
          if (rule != null && rule.action() == Action.ANSWER_500) {
            continue; // answered here; the daemon never sees it
          }
          writeFully(upstream, ByteBuffer.wrap(head));
          if (request == null || request.upgrade()) {
            relayRaw(); // not HTTP we can frame, or a hijacked stream: bytes from here on
            break;
          }
          relayBody(request, upstream);
        }
      } catch (ClosedChannelException e) {
        // cut(), close() or the other direction closed the connection
      } catch (IOException e) {
        close(); // reset, broken pipe or a malformed request: drop both sides
      }
      ended();
    }

    /** Acts on a request a rule matched; false if the connection is closed as a result. */
    private boolean applyFault(Rule rule, Request request) throws IOException {
      faultsInjected.incrementAndGet();
      switch (rule.action()) {
        case CUT -> {
          close();
          return false;
        }
        case ANSWER_500 -> {
          relayBody(request, null);
          synchronized (clientWrites) {
            writeFully(client, ByteBuffer.wrap(ANSWER_500));
          }
          return true;
        }
        case HANG -> {
          awaitRestore(Long.MAX_VALUE);
          return !closed;
        }
        case DELAY -> {
          awaitRestore(System.nanoTime() + rule.delay().toNanos());
          return !closed;
        }
      }
      throw new AssertionError(rule.action());
    }

    /** Relays the body a request's head announces; with {@code to} null, reads and drops it. */
    private void relayBody(Request request, SocketChannel to) throws IOException {
      if (request.chunked()) {
        while (true) {
          String sizeLine = fromClient.readLine(to);
          int semicolon = sizeLine.indexOf(';');
          long size = Long.parseLong((semicolon < 0 ? sizeLine : sizeLine.substring(0, semicolon)).trim(), 16);
          if (size == 0) {
            while (!fromClient.readLine(to).isEmpty()) {
              // trailer fields, up to the blank line that ends the body
            }
            return;
          }
          fromClient.copy(size, to);
          fromClient.readLine(to); // the CRLF after the chunk's data
        }
      }
      fromClient.copy(request.contentLength(), to);
    }

    private void relayRaw() throws IOException {
      ByteBuffer pending = fromClient.takeBuffered();
      awaitNotHung();
      writeFully(upstream, pending);
      ByteBuffer buffer = ByteBuffer.allocate(64 * 1024);
      while (client.read(buffer) >= 0) {
        buffer.flip();
        awaitNotHung();
        writeFully(upstream, buffer);
        buffer.clear();
      }
      upstream.shutdownOutput();
    }

    private void relayAnswers() {
      ByteBuffer buffer = ByteBuffer.allocate(64 * 1024);
      try {
        while (upstream.read(buffer) >= 0) {
          buffer.flip();
          awaitNotHung();
          synchronized (clientWrites) {
            writeFully(client, buffer);
          }
          buffer.clear();
        }
        client.shutdownOutput(); // pass the half-close on
      } catch (ClosedChannelException e) {
        // cut(), close() or the other direction closed the connection
      } catch (IOException e) {
        close(); // reset or broken pipe: drop both sides
      }
      ended();
    }

    private void ended() {
      if (finished.incrementAndGet() == 2) {
        close();
      }
    }

    /** Waits while the whole proxy hangs; returns at once when not, or when this connection closes. */
    private void awaitNotHung() {
      synchronized (lock) {
        while (hung && !closed && !DockerProxy.this.closed) {
          waitOnLock(0);
        }
      }
    }

    /** Waits until {@link #restore()}, {@code deadlineNanos} or this connection's close. */
    private void awaitRestore(long deadlineNanos) {
      synchronized (lock) {
        long restoresAtStart = restores;
        while (restores == restoresAtStart && !closed && !DockerProxy.this.closed) {
          if (deadlineNanos == Long.MAX_VALUE) {
            waitOnLock(0);
            continue;
          }
          long left = deadlineNanos - System.nanoTime();
          if (left <= 0) {
            return;
          }
          waitOnLock(Math.max(1, left / 1_000_000));
        }
      }
    }

    void close() {
      closed = true;
      connections.remove(this);
      synchronized (lock) {
        lock.notifyAll(); // wake this connection's threads if they wait on a fault
      }
      closeQuietly(client);
      closeQuietly(upstream);
    }

    void join() {
      DockerProxy.join(toUpstream);
      DockerProxy.join(toClient);
    }
  }

  private Rule ruleFor(Request request) {
    synchronized (lock) {
      for (Rule rule : rules) {
        if (rule.matches(request.method(), request.path())) {
          return rule;
        }
      }
      return null;
    }
  }

  /** Waits on {@link #lock}, which the caller holds; 0 waits until notified. */
  private void waitOnLock(long millis) {
    try {
      lock.wait(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  /** What the proxy needs of a request head: the request line, and how the body is framed. */
  private record Request(String method, String path, long contentLength, boolean chunked, boolean upgrade) {
    /** The request in {@code head}, or null if it is not an HTTP/1.x request head. */
    static Request parse(byte[] head) {
      String[] lines = new String(head, ISO_8859_1).split("\r\n");
      String[] requestLine = lines[0].split(" ");
      if (requestLine.length != 3 || !requestLine[2].startsWith("HTTP/1.")) {
        return null;
      }
      String target = requestLine[1];
      int query = target.indexOf('?');
      String path = query < 0 ? target : target.substring(0, query);
      long contentLength = 0;
      boolean chunked = false;
      boolean upgrade = false;
      for (int i = 1; i < lines.length; i++) {
        int colon = lines[i].indexOf(':');
        if (colon <= 0) {
          continue;
        }
        String name = lines[i].substring(0, colon).trim().toLowerCase(Locale.ROOT);
        String value = lines[i].substring(colon + 1).trim().toLowerCase(Locale.ROOT);
        switch (name) {
          case "content-length" -> contentLength = Long.parseLong(value);
          case "transfer-encoding" -> chunked = value.endsWith("chunked");
          case "connection" -> upgrade = value.contains("upgrade");
          default -> { }
        }
      }
      return new Request(requestLine[0], path, contentLength, chunked, upgrade);
    }
  }

  /** Buffered reads from a channel, by HTTP's units: a head, a line, a number of bytes. */
  private static final class ChannelReader {
    private final SocketChannel channel;
    private final ByteBuffer buffer = ByteBuffer.allocate(MAX_HEAD).flip();

    ChannelReader(SocketChannel channel) {
      this.channel = channel;
    }

    /** The next request head, blank line included; null at a clean end of the stream. */
    byte[] readHead() throws IOException {
      int scanned = 0; // bytes after the buffer's position already searched for the blank line
      while (true) {
        for (int i = buffer.position() + Math.max(3, scanned); i < buffer.limit(); i++) {
          if (buffer.get(i) == '\n' && buffer.get(i - 1) == '\r' && buffer.get(i - 2) == '\n'
              && buffer.get(i - 3) == '\r') {
            byte[] head = new byte[i + 1 - buffer.position()];
            buffer.get(head);
            return head;
          }
        }
        scanned = buffer.remaining();
        if (!fill()) {
          if (buffer.hasRemaining()) {
            throw new EOFException("the client closed the connection inside a request head");
          }
          return null;
        }
      }
    }

    /** One CRLF-ended line without its CRLF, relayed with it to {@code to} unless null. */
    String readLine(SocketChannel to) throws IOException {
      StringBuilder line = new StringBuilder();
      while (true) {
        if (!buffer.hasRemaining() && !fill()) {
          throw new EOFException("the client closed the connection inside a chunked body");
        }
        byte b = buffer.get();
        if (to != null) {
          writeFully(to, ByteBuffer.wrap(new byte[] {b}));
        }
        if (b == '\n' && line.length() > 0 && line.charAt(line.length() - 1) == '\r') {
          return line.substring(0, line.length() - 1);
        }
        line.append((char) b);
      }
    }

    /** Relays exactly {@code count} bytes to {@code to}, or drops them if it is null. */
    void copy(long count, SocketChannel to) throws IOException {
      long left = count;
      while (left > 0) {
        if (!buffer.hasRemaining() && !fill()) {
          throw new EOFException("the client closed the connection inside a request body");
        }
        ByteBuffer slice = buffer.slice();
        int n = (int) Math.min(left, slice.remaining());
        slice.limit(n);
        if (to != null) {
          writeFully(to, slice);
        }
        buffer.position(buffer.position() + n);
        left -= n;
      }
    }

    /** Whatever was read but not yet consumed. */
    ByteBuffer takeBuffered() {
      return ByteBuffer.allocate(buffer.remaining()).put(buffer).flip();
    }

    /** Reads more into the buffer; false at the end of the stream. */
    private boolean fill() throws IOException {
      buffer.compact();
      if (!buffer.hasRemaining()) {
        buffer.flip();
        throw new IOException("a request head over " + MAX_HEAD + " bytes");
      }
      try {
        return channel.read(buffer) >= 0;
      } finally {
        buffer.flip();
      }
    }
  }

  private static void writeFully(SocketChannel channel, ByteBuffer data) throws IOException {
    while (data.hasRemaining()) {
      channel.write(data);
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
