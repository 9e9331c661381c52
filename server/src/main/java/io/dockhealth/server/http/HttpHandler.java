package io.dockhealth.server.http;

import io.dockhealth.server.logging.ClientFaults;
import io.dockhealth.server.metrics.Metrics;
import io.dockhealth.server.model.Registry;
import io.dockhealth.server.net.ConnectionCap;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.PrematureChannelClosureException;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.netty.handler.timeout.WriteTimeoutException;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import io.prometheus.metrics.core.datapoints.CounterDataPoint;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import javax.annotation.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One connection's requests, one at a time. The channel reads only when asked: after a response
 * has been written, the next request is read (a {@code FlowControlHandler} holds requests a client
 * pipelined), so a client that sends without reading never makes the server queue answers, and a
 * long-poll holds its connection's later requests back until it is answered, keeping responses in
 * request order. While a long-poll waits, the channel still reads, so that a client that gives up
 * is noticed at once and its slot freed; a request it pipelined meanwhile is held until the poll is
 * answered, and reading stops there.
 *
 * <p>Time limits: a connection's first request head must arrive within the request timeout of
 * connecting, a later one within the request timeout of its first byte, however slowly its bytes
 * trickle in (slowloris); a keep-alive connection idle for {@link HttpFrontEnd#IDLE_TIMEOUT} is
 * closed; a waiting long-poll is neither. The connection tells its {@link ConnectionCap.Slot}
 * where it is, and when the cap gives the slot to a newer connection it closes (a waiting
 * long-poll is answered 304 first).
 *
 * <p>Everything here runs on the channel's event loop, long-poll answers included.
 */
final class HttpHandler extends ChannelInboundHandlerAdapter {
  private static final Logger logger = LoggerFactory.getLogger(HttpHandler.class);

  /** The user event that tells a connection its slot went to a newer connection. */
  static final Object RECLAIMED = new Object();

  /** What every connection of a gateway shares. */
  record Shared(Router router, Endpoints endpoints, LongPolls polls, Registry registry, Metrics metrics,
      HostAllowList hosts, Duration requestTimeout, ClientFaults faults) {}

  private enum Phase {
    /** Waiting for a request, or reading one. */
    WAITING,
    /** Answering a request, until the answer is written. */
    ANSWERING,
    /** A long-poll waits for a change. */
    PARKED,
  }

  private final Shared shared;
  private final ConnectionCap.Slot slot;
  private ChannelHandlerContext context;
  private Phase phase = Phase.WAITING;
  /** Whether a request has been answered on this connection. */
  private boolean served;
  /** Whether a byte of the awaited request has come. */
  private boolean headStarted;
  /** Whether the slot went to a newer connection: close after the answer in progress. */
  private boolean reclaimed;
  /** Whether the request being answered is a HEAD, and its route, for a reclaimed long-poll's 304. */
  private boolean answeringHead;
  private String answeringRoute = Router.MALFORMED;
  /**
   * The one deadline a waiting connection has, for its request head or for idling, on the event
   * loop's ticker. A keep-alive connection moves it twice a request, and a timer per move would
   * cost every request a schedule and a cancel: one timer runs at a time instead, and when it fires
   * before the deadline, which moved on meanwhile, it is set again for the rest.
   */
  private boolean armed;
  private boolean deadlineForHead;
  private long deadlineNanos;
  @Nullable private ScheduledFuture<?> timer;
  private long timerNanos;
  /** The last {@code Host} this connection sent that is allowed: a client sends the same one each time. */
  @Nullable private String allowedHost;
  /** The count of the last route and status answered: a client asks the same over and over. */
  @Nullable private String countedRoute;
  private int countedCode;
  @Nullable private CounterDataPoint counted;
  @Nullable private LongPolls.Poll pending;
  @Nullable private FullHttpRequest held;

  HttpHandler(Shared shared, ConnectionCap.Slot slot) {
    this.shared = shared;
    this.slot = slot;
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    context = ctx;
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) throws Exception {
    arm(shared.requestTimeout(), true);
    requestNext(ctx);
    super.channelActive(ctx);
  }

  /** Bytes came in (told by a handler before the decoder): the request head's time starts. */
  void bytesArrived() {
    if (phase == Phase.WAITING && !headStarted) {
      headStarted = true;
      if (served) {
        arm(shared.requestTimeout(), true); // a first request's time runs since connect
      }
    }
  }

  /** Asks for the next request; it arrives in channelRead. */
  private void requestNext(ChannelHandlerContext ctx) {
    ctx.read();
  }

  /**
   * A read ended without a whole request (a long request line or header block spans several
   * reads, or the client has sent nothing yet): ask again. FlowControlHandler counts a demand as
   * met by one read cycle whatever it brought, so a demand must be renewed until a request comes.
   * A parked long-poll keeps reading too, to see the client close, until a request is held.
   */
  @Override
  public void channelReadComplete(ChannelHandlerContext ctx) throws Exception {
    if (phase == Phase.WAITING || (phase == Phase.PARKED && held == null)) {
      ctx.read();
    }
    super.channelReadComplete(ctx);
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) throws Exception {
    cancelDeadline();
    if (timer != null) {
      timer.cancel(false);
      timer = null;
    }
    if (pending != null) {
      pending.cancel();
      pending = null;
    }
    if (held != null) {
      held.release();
      held = null;
    }
    super.channelInactive(ctx);
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (!(msg instanceof FullHttpRequest request)) {
      ReferenceCountUtil.release(msg);
      return;
    }
    if (phase != Phase.WAITING) {
      // Read while a poll waited: answered after it, in order. Reading stops once one is held.
      if (held == null) {
        held = request;
      } else {
        request.release(); // not asked for: nothing reads past a held request
        ctx.close();
      }
      return;
    }
    start(ctx, request);
  }

  private void start(ChannelHandlerContext ctx, FullHttpRequest request) {
    try {
      cancelDeadline();
      headStarted = false;
      if (!slot.enter(ConnectionCap.State.BUSY)) {
        ctx.close(); // the slot went to a newer connection a moment ago
        return;
      }
      phase = Phase.ANSWERING;
      handle(ctx, request);
    } finally {
      request.release();
    }
  }

  private void handle(ChannelHandlerContext ctx, FullHttpRequest request) {
    DecoderResult decoded = request.decoderResult();
    answeringHead = request.method().equals(HttpMethod.HEAD);
    answeringRoute = Router.MALFORMED;
    if (decoded.isFailure()) {
      shared.faults().report("malformed HTTP request", "HTTP client {} sent a malformed request: {}",
          ClientFaults.client(ctx.channel().remoteAddress()), decoded.cause().getMessage());
      // The decoder discards everything after a message it could not parse: answer and close.
      send(ctx, Router.MALFORMED, malformed(decoded.cause()), false, Exchange.CLOSE);
      return;
    }
    boolean head = answeringHead;
    Exchange exchange = new Exchange(request.protocolVersion(), HttpUtil.isKeepAlive(request));
    Router.Routed routed = shared.router().route(request.method(), request.uri());
    answeringRoute = routed.route();
    String host = request.headers().get(HttpHeaderNames.HOST);
    if (!allowed(host)) {
      shared.faults().report("Host not allowed", "HTTP client {} asked for Host \"{}\", not one this gateway answers",
          ClientFaults.client(ctx.channel().remoteAddress()), host);
      boolean compat = routed instanceof Router.Reject reject
          ? reject.endpoint().map(Router.Endpoint::compat).orElse(false)
          : ((Router.Match) routed).endpoint().compat();
      send(ctx, routed.route(), Endpoints.error(HttpResponseStatus.MISDIRECTED_REQUEST, "Host \"" + host
          + "\" is not a name this gateway answers, against DNS rebinding (expected: one of "
          + shared.hosts().describe() + "; --http-allowed-hosts adds names)", compat), head, exchange);
      return;
    }
    if (routed instanceof Router.Reject reject) {
      Reply reply = Endpoints.error(reject.status(), reject.message(),
          reject.endpoint().map(Router.Endpoint::compat).orElse(false));
      if (reject.status().equals(HttpResponseStatus.METHOD_NOT_ALLOWED)) {
        reply = reply.withHeader(HttpHeaderNames.ALLOW.toString(), Router.ALLOW);
      }
      send(ctx, reject.route(), reply, head, exchange);
      return;
    }
    Router.Match match = (Router.Match) routed;
    if (match.since() == null) {
      answer(ctx, match, head, exchange);
      return;
    }
    phase = Phase.PARKED;
    slot.enter(ConnectionCap.State.PARKED);
    pending = shared.polls().park(ctx.executor(), match.since(), match.maxWait(), changed -> {
      pending = null;
      if (!ctx.channel().isActive()) {
        return;
      }
      phase = Phase.ANSWERING;
      slot.enter(ConnectionCap.State.BUSY);
      if (changed) {
        answer(ctx, match, head, exchange);
      } else {
        send(ctx, match.route(), Reply.notModified(), head, exchange);
      }
    });
    if (phase == Phase.PARKED) {
      ctx.read(); // to see the client close while the poll waits
    }
  }

  /** Answers from the newest snapshot. */
  private void answer(ChannelHandlerContext ctx, Router.Match match, boolean head, Exchange exchange) {
    Reply reply;
    try {
      reply = shared.endpoints().answer(match, shared.registry().current());
    } catch (RuntimeException e) {
      // A bug, not bad input: say so, and start the connection afresh.
      logger.error("failed to answer {}", match, e);
      send(ctx, match.route(), Endpoints.error(HttpResponseStatus.INTERNAL_SERVER_ERROR,
          "internal error: " + e, false), head, Exchange.CLOSE);
      return;
    }
    send(ctx, match.route(), reply, head, exchange);
  }

  /** The answer to a request the decoder refused. */
  static Reply malformed(Throwable cause) {
    if (cause instanceof StrictRequestDecoder.Violation violation) {
      return Endpoints.error(violation.status(), violation.getMessage(), false);
    }
    if (cause instanceof TooLongHttpLineException) {
      return Endpoints.error(HttpResponseStatus.REQUEST_URI_TOO_LONG, "request line too long: " + cause.getMessage()
          + " (expected: at most " + HttpFrontEnd.MAX_INITIAL_LINE_BYTES + " bytes)", false);
    }
    if (cause instanceof TooLongHttpHeaderException) {
      return Endpoints.error(HttpResponseStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "headers too large: "
          + cause.getMessage() + " (expected: at most " + HttpFrontEnd.MAX_HEADER_BYTES + " bytes)", false);
    }
    return Endpoints.error(HttpResponseStatus.BAD_REQUEST, "malformed HTTP request: " + cause.getMessage()
        + " (expected: HTTP/1.1, such as GET /v1/health/web-1 HTTP/1.1)", false);
  }

  /** How the connection goes on after a response. */
  record Exchange(HttpVersion version, boolean keepAlive) {
    static final Exchange CLOSE = new Exchange(HttpVersion.HTTP_1_1, false);
  }

  /** Writes a reply (no body for HEAD or 304, same headers) and reads the next request or closes. */
  private void send(ChannelHandlerContext ctx, String route, Reply reply, boolean head, Exchange exchange) {
    boolean bodiless = head || reply.status().equals(HttpResponseStatus.NOT_MODIFIED);
    FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, reply.status(),
        bodiless ? Unpooled.EMPTY_BUFFER : Unpooled.wrappedBuffer(reply.body()));
    if (!reply.contentType().isEmpty()) {
      response.headers().set(HttpHeaderNames.CONTENT_TYPE, reply.contentType());
    }
    if (!reply.status().equals(HttpResponseStatus.NOT_MODIFIED)) {
      // HEAD tells the length a GET would get.
      response.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, reply.body().length);
    }
    // Health changes at any moment: no proxy or client may answer from a cache.
    response.headers().set(HttpHeaderNames.CACHE_CONTROL, HttpHeaderValues.NO_STORE);
    reply.headers().forEach(response.headers()::set);
    boolean keepAlive = exchange.keepAlive() && !reclaimed;
    HttpUtil.setKeepAlive(response.headers(), exchange.version(), keepAlive);
    count(route, reply.status().code());
    ctx.writeAndFlush(response).addListener((ChannelFutureListener) future -> {
      if (!future.isSuccess() || !keepAlive || reclaimed) {
        future.channel().close();
      } else {
        // Only now the next request: a client that does not read its answers is not sent more.
        // Asked for from a task of its own: the write may complete inside this very read, and
        // FlowControlHandler drops a demand made before the read's channelReadComplete.
        ctx.channel().eventLoop().execute(() -> next(ctx));
      }
    });
  }

  /** After an answer: wait for the next request, or answer the one held while a poll waited. */
  private void next(ChannelHandlerContext ctx) {
    served = true;
    phase = Phase.WAITING;
    if (!slot.enter(ConnectionCap.State.IDLE)) {
      ctx.close();
      return;
    }
    arm(HttpFrontEnd.IDLE_TIMEOUT, false);
    FullHttpRequest pipelined = held;
    held = null;
    if (pipelined != null) {
      start(ctx, pipelined);
    } else {
      requestNext(ctx);
    }
  }

  /** Whether the gateway answers this {@code Host} (null for none). */
  private boolean allowed(@Nullable String host) {
    if (host != null && host.equals(allowedHost)) {
      return true;
    }
    if (!shared.hosts().allows(host)) {
      return false;
    }
    allowedHost = host;
    return true;
  }

  private void count(String route, int code) {
    if (counted == null || code != countedCode || !route.equals(countedRoute)) {
      counted = shared.metrics().httpRequests(route, code);
      countedRoute = route;
      countedCode = code;
    }
    counted.inc();
  }

  /** Sets the one deadline a waiting connection has: for its request head, or for idling. */
  private void arm(Duration timeout, boolean forHead) {
    long now = context.executor().ticker().nanoTime();
    armed = true;
    deadlineForHead = forHead;
    deadlineNanos = now + timeout.toNanos();
    if (timer != null) {
      if (timerNanos - deadlineNanos <= 0) {
        return; // it fires first, and is set again for the rest
      }
      timer.cancel(false);
    }
    startTimer(now);
  }

  private void startTimer(long now) {
    timerNanos = deadlineNanos;
    timer = context.executor().schedule(this::timerFired, deadlineNanos - now, TimeUnit.NANOSECONDS);
  }

  /** The connection is not waiting: no deadline (a timer still running finds nothing to do). */
  private void cancelDeadline() {
    armed = false;
  }

  private void timerFired() {
    timer = null;
    if (!armed) {
      return;
    }
    long now = context.executor().ticker().nanoTime();
    if (now - deadlineNanos < 0) {
      startTimer(now);
      return;
    }
    armed = false;
    expired(deadlineForHead);
  }

  private void expired(boolean forHead) {
    if (phase != Phase.WAITING) {
      return;
    }
    String client = ClientFaults.client(context.channel().remoteAddress());
    long millis = shared.requestTimeout().toMillis();
    if (forHead && headStarted) {
      shared.faults().report("request head timeout",
          "HTTP client {} did not send a whole request head within {} ms; closing", client, millis);
      phase = Phase.ANSWERING;
      send(context, Router.MALFORMED, Endpoints.error(HttpResponseStatus.REQUEST_TIMEOUT, "request head not complete"
          + " within " + millis + " ms (expected: a request line and headers sent at once)", false), false, Exchange.CLOSE);
    } else {
      if (forHead) {
        shared.faults().report("silent connection", "HTTP client {} sent nothing within {} ms of connecting; closing",
            client, millis);
      }
      context.close();
    }
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object event) throws Exception {
    if (event != RECLAIMED) {
      super.userEventTriggered(ctx, event);
      return;
    }
    reclaimed = true;
    if (phase == Phase.PARKED && pending != null) {
      // Nothing has changed so far: the truth, and the poller asks again on a new connection.
      pending.cancel();
      pending = null;
      phase = Phase.ANSWERING;
      send(ctx, answeringRoute, Reply.notModified(), answeringHead, Exchange.CLOSE);
    } else if (phase == Phase.WAITING) {
      ctx.close();
    }
    // ANSWERING: send closes once the answer is written.
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    String client = ClientFaults.client(ctx.channel().remoteAddress());
    if (cause instanceof IOException) {
      logger.debug("HTTP connection {} failed: {}", client, cause.toString());
    } else if (cause instanceof PrematureChannelClosureException) {
      shared.faults().report("closed mid-request", "HTTP client {} closed the connection in the middle of a request",
          client);
    } else if (cause instanceof WriteTimeoutException) {
      shared.faults().report("answer not read", "HTTP client {} did not read its answer within {} ms; closing",
          client, shared.requestTimeout().toMillis());
    } else if (cause instanceof DecoderException) {
      shared.faults().report("malformed HTTP request", "HTTP client {} sent a malformed request: {}", client,
          cause.getMessage());
    } else {
      logger.warn("HTTP connection {} failed; closing it", client, cause);
    }
    ctx.close();
  }
}
