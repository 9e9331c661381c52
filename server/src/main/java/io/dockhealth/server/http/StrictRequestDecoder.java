package io.dockhealth.server.http;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpRequestDecoder;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import java.util.List;

/**
 * Netty's request decoder with the rules of RFC 9112 it leaves lenient, so that the gateway and a
 * proxy in front of it never read one request two ways: only HTTP/1.0 and HTTP/1.1 (else 505); a
 * {@code Transfer-Encoding} other than exactly {@code chunked} is 400 (Netty itself refuses chunked
 * with {@code Content-Length}, and any in HTTP/1.0); header lines folded onto the next line
 * (obs-fold, which Netty joins) are 400; exactly one {@code Host} in HTTP/1.1 and at most one in
 * HTTP/1.0, else 400. A request that breaks a rule carries a failed decoder result, as a request
 * Netty cannot parse does, so it is answered and the connection closed.
 */
final class StrictRequestDecoder extends HttpRequestDecoder {
  /** Why a request was refused, and its status. */
  static final class Violation extends IllegalArgumentException {
    private final HttpResponseStatus status;

    Violation(HttpResponseStatus status, String message) {
      super(message);
      this.status = status;
    }

    HttpResponseStatus status() {
      return status;
    }
  }

  // Where the scan of the current request head is, across reads; Netty skips white space and
  // control characters before a request line, and a line that starts with a space or a tab after it
  // continues the line before.
  private boolean inHead = true;
  private boolean requestLineStarted;
  private boolean atLineStart;
  private boolean folded;

  StrictRequestDecoder(HttpDecoderConfig config) {
    super(config.clone().setUseRfc9112TransferEncoding(true));
  }

  @Override
  protected void decode(ChannelHandlerContext ctx, ByteBuf buffer, List<Object> out) throws Exception {
    int from = buffer.readerIndex();
    int before = out.size();
    super.decode(ctx, buffer, out);
    // Netty consumes a head whole lines at a time and returns once it is complete, so the bytes
    // consumed while in a head are head bytes; the scan stops at the blank line all the same.
    if (inHead) {
      scan(buffer, from, buffer.readerIndex());
    }
    for (int i = before; i < out.size(); i++) {
      Object message = out.get(i);
      if (message instanceof HttpRequest request) {
        if (request.decoderResult().isSuccess()) {
          check(request);
        }
        inHead = false;
      }
      if (message instanceof LastHttpContent) {
        inHead = true;
        requestLineStarted = false;
        atLineStart = false;
        folded = false;
      }
    }
  }

  private void scan(ByteBuf buffer, int from, int to) {
    int i = from;
    while (i < to && !requestLineStarted) {
      byte b = buffer.getByte(i++);
      requestLineStarted = !Character.isWhitespace(b) && !Character.isISOControl(b);
    }
    // Only the first byte of each line matters: from one to the next, skip to the line feed.
    while (i < to && inHead) {
      if (!atLineStart) {
        int lineFeed = buffer.indexOf(i, to, (byte) '\n');
        if (lineFeed < 0) {
          return;
        }
        atLineStart = true;
        i = lineFeed + 1;
        continue;
      }
      byte b = buffer.getByte(i++);
      if (b == ' ' || b == '\t') {
        folded = true;
      } else if (b == '\r' || b == '\n') {
        inHead = false; // the blank line: what follows is a body
      }
      atLineStart = b == '\n';
    }
  }

  private void check(HttpRequest request) {
    Violation violation = violation(request);
    if (violation != null) {
      request.setDecoderResult(DecoderResult.failure(violation));
    }
  }

  private Violation violation(HttpRequest request) {
    HttpVersion version = request.protocolVersion();
    if (!version.equals(HttpVersion.HTTP_1_1) && !version.equals(HttpVersion.HTTP_1_0)) {
      return new Violation(HttpResponseStatus.HTTP_VERSION_NOT_SUPPORTED, version.text()
          + " is not supported (expected: HTTP/1.1 or HTTP/1.0)");
    }
    if (folded) {
      return new Violation(HttpResponseStatus.BAD_REQUEST,
          "a header line folded onto the next line (expected: each header on one line, RFC 9112 section 5.2)");
    }
    List<String> encodings = request.headers().getAll(HttpHeaderNames.TRANSFER_ENCODING);
    if (!encodings.isEmpty() && (encodings.size() > 1 || !encodings.get(0).trim().equalsIgnoreCase("chunked"))) {
      return new Violation(HttpResponseStatus.BAD_REQUEST, "Transfer-Encoding: " + String.join(", ", encodings)
          + " (expected: chunked, or no Transfer-Encoding; no route takes a body)");
    }
    int hosts = request.headers().getAll(HttpHeaderNames.HOST).size();
    if (hosts > 1 || (hosts == 0 && version.equals(HttpVersion.HTTP_1_1))) {
      return new Violation(HttpResponseStatus.BAD_REQUEST, hosts + " Host headers (expected: exactly one in HTTP/1.1)");
    }
    return null;
  }
}
