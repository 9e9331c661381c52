package io.dockhealth.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.SocketTimeoutException;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;

/**
 * One HTTP/1.1 GET over a unix socket, for the gateway listening on one (the JDK's HttpClient speaks
 * TCP only). The request asks the server to close the connection, and the answer is what it sent
 * until then, read within a deadline.
 */
public final class UnixHttp {
  private UnixHttp() {}

  /** An answer: the status code, and the body after the headers. */
  public record Response(int status, String head, String body) {}

  /**
   * GETs {@code target} (such as {@code /healthz}) from the server on {@code socket}.
   *
   * @throws IOException if the connection fails, or the answer does not come within {@code timeout}
   */
  public static Response get(Path socket, String target, Duration timeout) throws IOException {
    long deadline = System.nanoTime() + timeout.toNanos();
    try (SocketChannel channel = SocketChannel.open(UnixDomainSocketAddress.of(socket));
        Selector selector = Selector.open()) {
      ByteBuffer request = ByteBuffer.wrap(("GET " + target + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
          .getBytes(StandardCharsets.US_ASCII));
      while (request.hasRemaining()) {
        channel.write(request);
      }
      channel.configureBlocking(false);
      channel.register(selector, SelectionKey.OP_READ);
      ByteArrayOutputStream answer = new ByteArrayOutputStream();
      ByteBuffer buffer = ByteBuffer.allocate(8192);
      while (true) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          throw new SocketTimeoutException("no whole answer from " + socket + " within " + timeout + ": "
              + answer.toString(StandardCharsets.UTF_8));
        }
        selector.select(Math.max(1, left / 1_000_000));
        selector.selectedKeys().clear();
        int read = channel.read(buffer);
        if (read < 0) {
          break;
        }
        answer.write(buffer.array(), 0, buffer.position());
        buffer.clear();
      }
      String text = answer.toString(StandardCharsets.UTF_8);
      int end = text.indexOf("\r\n\r\n");
      if (!text.startsWith("HTTP/1.1 ") || end < 0) {
        throw new IOException("not an HTTP/1.1 answer from " + socket + ": " + text);
      }
      return new Response(Integer.parseInt(text.substring(9, 12)), text.substring(0, end), text.substring(end + 4));
    }
  }
}
