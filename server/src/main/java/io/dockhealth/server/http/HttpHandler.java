package io.dockhealth.server.http;

import io.dockhealth.server.metrics.Metrics;
import io.dockhealth.server.model.Registry;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.DecoderResult;
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
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.ReferenceCountUtil;
import java.io.IOException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One connection's requests, one at a time. The channel reads only when asked: after a response
 * has been written, the next request is read (a {@code FlowControlHandler} holds requests a client
 * pipelined), so a client that sends without reading never makes the server queue answers, and a
 * long-poll holds its connection's later requests back until it is answered, keeping responses in
 * request order.
 *
 * <p>Everything here runs on the channel's event loop, long-poll answers included.
 */
final class HttpHandler extends ChannelInboundHandlerAdapter {
  private static final Logger logger = LoggerFactory.getLogger(HttpHandler.class);

  private final Router router;
  private final Endpoints endpoints;
  private final LongPolls polls;
  private final Registry registry;
  private final Metrics metrics;
  private final int refusedOver;

  /** The long-poll this connection waits on; touched only on the event loop. */
  private LongPolls.Poll pending;

  /** Whether the next request has been asked for and has not come yet; event loop only. */
  private boolean awaitingRequest;

  /**
   * @param refusedOver when positive, the connection is over the cap of that many: every request
   *     is answered 503 and the connection closed
   */
  HttpHandler(Router router, Endpoints endpoints, LongPolls polls, Registry registry, Metrics metrics,
      int refusedOver) {
    this.router = router;
    this.endpoints = endpoints;
    this.polls = polls;
    this.registry = registry;
    this.metrics = metrics;
    this.refusedOver = refusedOver;
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) throws Exception {
    requestNext(ctx);
    super.channelActive(ctx);
  }

  /** Asks for the next request; it arrives in channelRead. */
  private void requestNext(ChannelHandlerContext ctx) {
    awaitingRequest = true;
    ctx.read();
  }

  /**
   * A read ended without a whole request (a long request line or header block spans several
   * reads, or the client has sent nothing yet): ask again. FlowControlHandler counts a demand as
   * met by one read cycle whatever it brought, so a demand must be renewed until a request comes.
   */
  @Override
  public void channelReadComplete(ChannelHandlerContext ctx) throws Exception {
    if (awaitingRequest) {
      ctx.read();
    }
    super.channelReadComplete(ctx);
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) throws Exception {
    if (pending != null) {
      pending.cancel();
      pending = null;
    }
    super.channelInactive(ctx);
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (!(msg instanceof FullHttpRequest request)) {
      ReferenceCountUtil.release(msg);
      return;
    }
    awaitingRequest = false;
    try {
      handle(ctx, request);
    } finally {
      request.release();
    }
  }

  private void handle(ChannelHandlerContext ctx, FullHttpRequest request) {
    DecoderResult decoded = request.decoderResult();
    if (decoded.isFailure()) {
      // The decoder discards everything after a message it could not parse: answer and close.
      send(ctx, Router.MALFORMED, malformed(decoded.cause()), false, Exchange.CLOSE);
      return;
    }
    boolean head = request.method().equals(HttpMethod.HEAD);
    Exchange exchange = new Exchange(request.protocolVersion(), HttpUtil.isKeepAlive(request));
    Router.Routed routed = router.route(request.method(), request.uri());
    if (refusedOver > 0) {
      send(ctx, routed.route(), Endpoints.error(HttpResponseStatus.SERVICE_UNAVAILABLE, "too many connections: "
          + refusedOver + " are open, the most this server takes (--http-max-connections); retry later",
          false), head, Exchange.CLOSE);
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
    pending = polls.park(ctx.executor(), match.since(), match.maxWait(), changed -> {
      pending = null;
      if (!ctx.channel().isActive()) {
        return;
      }
      if (changed) {
        answer(ctx, match, head, exchange);
      } else {
        send(ctx, match.route(), Reply.notModified(), head, exchange);
      }
    });
  }

  /** Answers from the newest snapshot. */
  private void answer(ChannelHandlerContext ctx, Router.Match match, boolean head, Exchange exchange) {
    Reply reply;
    try {
      reply = endpoints.answer(match, registry.current());
    } catch (RuntimeException e) {
      // A bug, not bad input: say so, and start the connection afresh.
      logger.error("failed to answer {}", match, e);
      send(ctx, match.route(), Endpoints.error(HttpResponseStatus.INTERNAL_SERVER_ERROR,
          "internal error: " + e, false), head, Exchange.CLOSE);
      return;
    }
    send(ctx, match.route(), reply, head, exchange);
  }

  /** The answer to a request Netty's decoder refused. */
  static Reply malformed(Throwable cause) {
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
    HttpUtil.setKeepAlive(response.headers(), exchange.version(), exchange.keepAlive());
    metrics.httpRequest(route, reply.status().code());
    ctx.writeAndFlush(response).addListener((ChannelFutureListener) future -> {
      if (!future.isSuccess() || !exchange.keepAlive()) {
        future.channel().close();
      } else {
        // Only now the next request: a client that does not read its answers is not sent more.
        // Asked for from a task of its own: the write may complete inside this very read, and
        // FlowControlHandler drops a demand made before the read's channelReadComplete.
        ctx.channel().eventLoop().execute(() -> requestNext(ctx));
      }
    });
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object event) throws Exception {
    // An idle connection is closed, unless it waits in a long-poll, which has its own timeout.
    if (event instanceof IdleStateEvent && pending == null) {
      ctx.close();
      return;
    }
    super.userEventTriggered(ctx, event);
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    if (cause instanceof IOException) {
      logger.debug("HTTP connection {} failed: {}", ctx.channel().remoteAddress(), cause.toString());
    } else {
      logger.warn("HTTP connection {} failed; closing it", ctx.channel().remoteAddress(), cause);
    }
    ctx.close();
  }
}
