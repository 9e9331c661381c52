package io.dockhealth.server.http;

import static com.google.common.base.Preconditions.checkNotNull;

import com.google.common.util.concurrent.AbstractIdleService;
import com.google.common.annotations.VisibleForTesting;
import com.google.common.base.Ticker;
import io.dockhealth.server.api.Exposure;
import io.dockhealth.server.logging.ClientFaults;
import io.dockhealth.server.metrics.Metrics;
import io.dockhealth.server.model.Registry;
import io.dockhealth.server.net.ConnectionCap;
import io.dockhealth.server.net.ListenAddress;
import io.dockhealth.server.net.ListenerSpec;
import io.dockhealth.server.net.UnixSocketFile;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.ServerChannel;
import io.netty.channel.socket.nio.NioServerDomainSocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseEncoder;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.flow.FlowControlHandler;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The HTTP/1.1 gateway: the health of every name in proto3 JSON, container detail, the drop-in
 * routes of container-healthcheck, long-polls, {@code /metrics} and {@code /healthz}, on one
 * listener: TCP, with TLS (HTTPS) if configured, or a unix socket. It reads only the registry's
 * snapshots and is told of new ones as a {@link io.dockhealth.server.model.SnapshotListener}; no
 * request calls Docker or blocks an event loop.
 *
 * <pre>{@code
 * HttpFrontEnd http = new HttpFrontEnd(ListenerSpec.tcp(new InetSocketAddress("127.0.0.1", 4246)),
 *     "/container-healthcheck", HttpLimits.of(10_000), registry, Exposure.DEFAULT, metrics, Clock.systemUTC());
 * http.startAsync().awaitRunning();
 * // curl -i 127.0.0.1:4246/v1/health/web-1
 * }</pre>
 */
public final class HttpFrontEnd extends AbstractIdleService {
  private static final Logger logger = LoggerFactory.getLogger(HttpFrontEnd.class);

  /** The longest request line: paths are a service name (at most 512 characters, encoded) at most. */
  static final int MAX_INITIAL_LINE_BYTES = 4096;

  /** All headers of a request together; browsers and curl send well under 2 KiB. */
  static final int MAX_HEADER_BYTES = 8192;

  /** No route takes a body; a small one is read and ignored, a bigger one is 413. */
  private static final int MAX_BODY_BYTES = 8192;

  /**
   * A keep-alive connection idle this long is closed. Longer than nginx's default upstream
   * {@code keepalive_timeout} (60 s), so a pooled nginx connection is closed by nginx, never
   * under a request nginx is sending. A connection waiting in a long-poll is not idle.
   */
  static final Duration IDLE_TIMEOUT = Duration.ofSeconds(90);

  /**
   * Event loop threads. Every answer is computed from an in-memory snapshot in well under a
   * millisecond, and a waiting long-poll needs no thread, so two serve thousands of clients.
   */
  private static final int WORKER_THREADS = 2;

  private final ListenerSpec listener;
  private final UnixSocketFile socketFile; // null for TCP
  private final Registry registry;
  private final Metrics metrics;
  private final HttpLimits limits;
  private final Router router;
  private final Endpoints endpoints;
  private final LongPolls polls;
  private final ClientFaults faults;
  private final ConnectionCap cap;
  private final ByteBuf refusal;
  private final ChannelGroup channels = new DefaultChannelGroup("dockhealth-http", GlobalEventExecutor.INSTANCE);
  private EventLoopGroup boss;
  private EventLoopGroup workers;
  private volatile Channel server;
  private volatile HttpHandler.Shared shared;

  /**
   * @param compatPrefix where the drop-in routes live, such as {@code /container-healthcheck}, or
   *     empty; see {@link #compatPrefixProblem}
   * @param limits connections, request time and the Host names answered
   * @param exposure what the routes show beyond health
   */
  public HttpFrontEnd(ListenerSpec listener, String compatPrefix, HttpLimits limits, Registry registry,
      Exposure exposure, Metrics metrics, Clock clock) {
    this.listener = checkNotNull(listener, "listener");
    this.socketFile = listener.socketFile().orElse(null);
    this.limits = checkNotNull(limits, "limits");
    this.registry = checkNotNull(registry, "registry");
    this.metrics = checkNotNull(metrics, "metrics");
    this.router = new Router(compatPrefix);
    this.endpoints = new Endpoints(metrics, checkNotNull(clock, "clock"), checkNotNull(exposure, "exposure"));
    this.polls = new LongPolls(registry);
    this.faults = new ClientFaults(logger, Ticker.systemTicker());
    // A refused connection goes on to configure(), which answers it 503 without reading it.
    this.cap = ConnectionCap.forHandlers(limits.maxConnections(),
        connection -> connection.pipeline().fireUserEventTriggered(HttpHandler.RECLAIMED));
    this.refusal = Unpooled.unreleasableBuffer(Unpooled.copiedBuffer(refusalBytes()));
    this.shared = shared(listener.address());
    metrics.longPolls(polls::open);
    metrics.httpConnections(cap::open);
    metrics.connectionCap("http", cap::refused, cap::evicted);
  }

  /**
   * What is wrong with a compat prefix, phrased as what is expected; empty when it is fine. Main
   * checks {@code --compat-prefix} with it.
   */
  public static Optional<String> compatPrefixProblem(String prefix) {
    return Router.compatPrefixProblem(prefix);
  }

  private HttpHandler.Shared shared(ListenAddress listening) {
    return new HttpHandler.Shared(router, endpoints, polls, registry, metrics,
        HostAllowList.of(limits.allowedHosts(), listening), limits.requestTimeout(), faults);
  }

  /**
   * What is wrong with a name given to answer as {@code Host}, phrased as what is expected; empty
   * when it is fine. Main checks {@code --http-allowed-hosts} with it.
   */
  public static Optional<String> allowedHostProblem(String host) {
    return HostAllowList.problem(host);
  }

  @Override
  protected void startUp() throws Exception {
    boss = new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("dockhealth-http-accept", true),
        NioIoHandler.newFactory());
    workers = new MultiThreadIoEventLoopGroup(WORKER_THREADS, new DefaultThreadFactory("dockhealth-http", true),
        NioIoHandler.newFactory());
    registry.addHealthListener(polls);
    try {
      SslContext tls = listener.tls().isPresent() ? listener.tls().get().context(b -> b) : null;
      Class<? extends ServerChannel> type;
      SocketAddress bindAddress;
      if (socketFile != null) {
        socketFile.prepare();
        // NIO speaks unix sockets since JDK 16: no native transport, the same on every CPU.
        type = NioServerDomainSocketChannel.class;
        bindAddress = socketFile.bindAddress();
      } else {
        type = NioServerSocketChannel.class;
        bindAddress = ((ListenAddress.Tcp) listener.address()).address();
      }
      server = new ServerBootstrap()
          .group(boss, workers)
          .channel(type)
          // Ahead of Netty's acceptor: every connection takes a slot, or is refused, as it is accepted.
          .handler(cap.acceptor())
          // Requests are read one at a time, when the previous one is answered (see HttpHandler).
          .childOption(ChannelOption.AUTO_READ, false)
          .childHandler(new ChannelInitializer<Channel>() {
            @Override
            protected void initChannel(Channel channel) {
              if (tls != null && ConnectionCap.slotOf(channel).isPresent()) {
                // TLS first, and only TLS: a plaintext request fails the handshake and is closed.
                // The request timeout, armed at connect, bounds the handshake too; so does the
                // handler's own timeout, set to the same.
                SslHandler handshake = tls.newHandler(channel.alloc());
                handshake.setHandshakeTimeoutMillis(limits.requestTimeout().toMillis());
                channel.pipeline().addLast(handshake, new TlsFailures());
              } else if (tls != null) {
                // Refused: a 503 would wait behind a handshake that a flood never finishes.
                channel.close();
                return;
              }
              configure(channel);
            }
          })
          .bind(bindAddress)
          .sync()
          .channel();
      if (socketFile != null) {
        socketFile.publish();
      }
    } catch (Exception e) {
      registry.removeListener(polls);
      if (server != null) {
        server.close().syncUninterruptibly();
      }
      if (socketFile != null) {
        socketFile.remove();
      }
      shutDownGroups();
      throw e;
    }
    // The Host names answered include the address bound, now known.
    shared = shared(listenAddress());
    logger.info("HTTP listening on {}", listener.describe(listenAddress()));
  }

  /**
   * Sets up a new connection: a connection refused by the cap is answered 503 and closed, unread;
   * one with a slot gets the write deadline (an answer the client does not take within the request
   * timeout closes it), Netty's HTTP/1.1 decoder with our limits and strict rules (an over-long
   * request line or header block fails decoding and is answered 414 or 431), the aggregator, and
   * flow control so that requests are handled one at a time. Tests call it on an EmbeddedChannel
   * admitted by {@link #acceptor()}.
   */
  void configure(Channel channel) {
    channels.add(channel);
    ConnectionCap.Slot slot = ConnectionCap.slotOf(channel).orElse(null);
    if (slot == null) {
      channel.pipeline().addLast(new Refusal());
      return;
    }
    HttpHandler handler = new HttpHandler(shared, slot);
    channel.pipeline()
        .addLast(new WriteDeadline(limits.requestTimeout()))
        .addLast(new ChannelInboundHandlerAdapter() {
          @Override
          public void channelRead(ChannelHandlerContext ctx, Object msg) {
            handler.bytesArrived();
            ctx.fireChannelRead(msg);
          }
        })
        .addLast(new StrictRequestDecoder(new HttpDecoderConfig()
            .setMaxInitialLineLength(MAX_INITIAL_LINE_BYTES)
            .setMaxHeaderSize(MAX_HEADER_BYTES)
            .setStrictLineParsing(true)))
        .addLast(new HttpResponseEncoder())
        .addLast(new Aggregator())
        .addLast(new FlowControlHandler())
        .addLast(handler);
  }

  /** The cap's handler for the listening channel, for tests that admit EmbeddedChannels with it. */
  @VisibleForTesting
  ChannelHandler acceptor() {
    return cap.acceptor();
  }

  /** The registry listener that wakes long-polls; tests that call {@link #configure} add it themselves. */
  LongPolls longPolls() {
    return polls;
  }

  @Override
  protected void shutDown() throws Exception {
    registry.removeListener(polls);
    if (socketFile != null) {
      socketFile.remove();
    }
    Channel listening = server;
    if (listening != null) {
      listening.close().syncUninterruptibly();
    }
    // Each answer runs on its connection's event loop before the close queued there after it.
    polls.releaseAll();
    channels.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
    shutDownGroups();
  }

  private void shutDownGroups() {
    if (boss != null) {
      boss.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }
    if (workers != null) {
      workers.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
    }
  }

  /** Where the gateway listens; the real port when it was asked for port 0. */
  public ListenAddress listenAddress() {
    Channel listening = server;
    return listening == null || socketFile != null
        ? listener.address()
        : new ListenAddress.Tcp((InetSocketAddress) listening.localAddress());
  }

  /**
   * The TCP address the gateway listens on; the real port when it was asked for port 0.
   *
   * @throws IllegalStateException if it listens on a unix socket
   */
  public InetSocketAddress address() {
    if (listenAddress() instanceof ListenAddress.Tcp tcp) {
      return tcp.address();
    }
    throw new IllegalStateException("HTTP listens on " + listener.address() + ", not on TCP");
  }

  /** Requests parked in a long-poll now. */
  public int openLongPolls() {
    return polls.open();
  }

  /**
   * Answers a connection the cap refused, every slot being busy: one 503 written as soon as it is
   * registered, then closed, its request never read. The bytes are made once per gateway.
   */
  private final class Refusal extends ChannelInboundHandlerAdapter {
    @Override
    public void channelActive(ChannelHandlerContext ctx) {
      ctx.writeAndFlush(refusal.retainedDuplicate()).addListener(ChannelFutureListener.CLOSE);
    }
  }

  private byte[] refusalBytes() {
    Reply reply = Endpoints.error(HttpResponseStatus.SERVICE_UNAVAILABLE, "too many connections: every one of the "
        + limits.maxConnections() + " this server takes (--http-max-connections) is answering a request; retry"
        + " later", false);
    String head = "HTTP/1.1 503 Service Unavailable\r\n"
        + "content-type: " + reply.contentType() + "\r\n"
        + "content-length: " + reply.body().length + "\r\n"
        + "cache-control: no-store\r\n"
        + "connection: close\r\n\r\n";
    byte[] headBytes = head.getBytes(StandardCharsets.US_ASCII);
    byte[] bytes = new byte[headBytes.length + reply.body().length];
    System.arraycopy(headBytes, 0, bytes, 0, headBytes.length);
    System.arraycopy(reply.body(), 0, bytes, headBytes.length, reply.body().length);
    return bytes;
  }

  /** Netty's aggregator, with a 413 that says what was wrong, like every other error. */
  private final class Aggregator extends HttpObjectAggregator {
    Aggregator() {
      super(MAX_BODY_BYTES);
    }

    @Override
    protected void handleOversizedMessage(ChannelHandlerContext ctx, HttpMessage oversized) {
      Reply reply = Endpoints.error(HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE, "request body over "
          + MAX_BODY_BYTES + " bytes (expected: no body; every route is GET or HEAD)", false);
      FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, reply.status(),
          Unpooled.wrappedBuffer(reply.body()));
      response.headers()
          .set(HttpHeaderNames.CONTENT_TYPE, reply.contentType())
          .setInt(HttpHeaderNames.CONTENT_LENGTH, reply.body().length)
          .set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
      metrics.httpRequest(Router.MALFORMED, reply.status().code());
      ctx.writeAndFlush(response).addListener(ChannelFutureListener.CLOSE);
    }
  }

  /**
   * A TLS handshake that fails (plaintext sent to the TLS port, a client certificate from another
   * CA, no client certificate) is the client's fault: one line at debug, and the connection closed.
   */
  private static final class TlsFailures extends ChannelInboundHandlerAdapter {
    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      Throwable tls = cause instanceof DecoderException && cause.getCause() != null
          ? cause.getCause()
          : cause;
      if (tls instanceof SSLException) {
        logger.debug("HTTP TLS with {} failed: {}", ClientFaults.client(ctx.channel().remoteAddress()), tls.toString());
        ctx.close();
        return;
      }
      ctx.fireExceptionCaught(cause);
    }
  }
}
