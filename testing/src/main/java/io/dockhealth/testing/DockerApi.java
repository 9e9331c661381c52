package io.dockhealth.testing;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;

/**
 * Docker's Engine API over a unix socket, plain HTTP/1.1 on one keep-alive connection: for tests
 * and benchmarks that change containers faster than a CLI process each could (a {@code docker
 * pause} costs a process start; a request here, a round trip). The sidecar itself never calls a
 * mutating endpoint; only tests do, to make the changes it must follow.
 *
 * <pre>{@code
 * try (DockerApi api = new DockerApi(engine.socketPath())) {
 *   api.pause("web");
 *   api.unpause("web");
 * }
 * }</pre>
 *
 * <p>Not thread-safe: one connection, one request at a time. A read blocks until Docker answers;
 * callers bound it with their test's timeout.
 */
public final class DockerApi implements AutoCloseable {
  private final SocketChannel channel;
  private final InputStream in;
  private final OutputStream out;

  public DockerApi(Path socket) {
    try {
      channel = SocketChannel.open(StandardProtocolFamily.UNIX);
      channel.connect(UnixDomainSocketAddress.of(socket));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot connect to " + socket, e);
    }
    in = new BufferedInputStream(Channels.newInputStream(channel));
    out = Channels.newOutputStream(channel);
  }

  /**
   * How long a pause or unpause is retried while Docker has not yet recorded the one before: dockerd
   * answers 204 before it marks the container (un)paused, which it does on containerd's event, so a
   * request right after the other may be refused as "not paused" or "already paused".
   */
  private static final Duration STATE_RACE = Duration.ofSeconds(10);

  /** {@code POST /containers/{name}/pause}; fails unless Docker answers 204. */
  public void pause(String container) {
    postRetryingStateRace("/containers/" + container + "/pause", "is already paused", "pause " + container);
  }

  /** {@code POST /containers/{name}/unpause}; fails unless Docker answers 204. */
  public void unpause(String container) {
    postRetryingStateRace("/containers/" + container + "/unpause", "is not paused", "unpause " + container);
  }

  private void postRetryingStateRace(String path, String raceMessage, String what) {
    long deadline = System.nanoTime() + STATE_RACE.toNanos();
    Answer answer = post(path);
    while (answer.status() != 204 && answer.body().contains(raceMessage) && System.nanoTime() < deadline) {
      answer = post(path);
    }
    expectNoContent(answer, what);
  }

  /** {@code POST /containers/{name}/restart?t=0}: killed and started again at once; fails unless 204. */
  public void restart(String container) {
    expectNoContent(post("/containers/" + container + "/restart?t=0"), "restart " + container);
  }

  /** An answer: the status code and the body as text. */
  public record Answer(int status, String body) {}

  /** A POST without a body to {@code path} (such as {@code /containers/web/pause}); returns the answer. */
  public Answer post(String path) {
    return send("POST " + path + " HTTP/1.1\r\nHost: docker\r\nContent-Length: 0\r\n\r\n", "POST " + path);
  }

  private Answer send(String request, String what) {
    try {
      out.write(request.getBytes(StandardCharsets.US_ASCII));
      out.flush();
      return readAnswer();
    } catch (IOException e) {
      throw new UncheckedIOException(what, e);
    }
  }

  /** A GET of {@code path} (such as {@code /containers/json?all=1}); returns the answer. */
  public Answer get(String path) {
    return send("GET " + path + " HTTP/1.1\r\nHost: docker\r\n\r\n", "GET " + path);
  }

  private static void expectNoContent(Answer answer, String what) {
    if (answer.status() != 204) {
      throw new IllegalStateException(what + ": Docker answered " + answer.status() + " " + answer.body().trim());
    }
  }

  private Answer readAnswer() throws IOException {
    String statusLine = line();
    String[] parts = statusLine.split(" ", 3);
    if (parts.length < 2 || !parts[0].startsWith("HTTP/1.")) {
      throw new IOException("not an HTTP answer: " + statusLine);
    }
    int status = Integer.parseInt(parts[1]);
    long length = -1;
    boolean chunked = false;
    for (String header = line(); !header.isEmpty(); header = line()) {
      int colon = header.indexOf(':');
      String name = header.substring(0, Math.max(colon, 0)).trim().toLowerCase(Locale.ROOT);
      String value = header.substring(colon + 1).trim();
      if (name.equals("content-length")) {
        length = Long.parseLong(value);
      } else if (name.equals("transfer-encoding") && value.equalsIgnoreCase("chunked")) {
        chunked = true;
      }
    }
    ByteArrayOutputStream body = new ByteArrayOutputStream();
    if (chunked) {
      for (int size = Integer.parseInt(line().split(";")[0].trim(), 16); size > 0;
          size = Integer.parseInt(line().split(";")[0].trim(), 16)) {
        body.write(in.readNBytes(size));
        line();
      }
      line();
    } else if (length > 0) {
      body.write(in.readNBytes((int) length));
    }
    return new Answer(status, body.toString(StandardCharsets.UTF_8));
  }

  private String line() throws IOException {
    StringBuilder line = new StringBuilder();
    for (int c = in.read(); c != '\n'; c = in.read()) {
      if (c < 0) {
        throw new EOFException("Docker closed the connection");
      }
      if (c != '\r') {
        line.append((char) c);
      }
    }
    return line.toString();
  }

  @Override
  public void close() {
    try {
      channel.close();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
