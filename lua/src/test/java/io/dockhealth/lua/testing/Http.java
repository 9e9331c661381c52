package io.dockhealth.lua.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;

/** Plain HTTP/1.1 GETs to 127.0.0.1, each with a timeout, over one pooled client. */
public final class Http {
  private static final Duration TIMEOUT = Duration.ofSeconds(10);
  private static final HttpClient CLIENT = HttpClient.newBuilder()
      .version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(TIMEOUT)
      .build();

  private Http() {}

  /**
   * One answer.
   *
   * @param upstreams the peers nginx tried, in order, from the X-Upstream header the test confs add
   *     ({@code $upstream_addr}); empty when nginx answered itself
   * @param sentAt when the request was sent, in milliseconds since the epoch
   * @param receivedAt when the answer came: nginx picked the peer between the two
   */
  public record Answer(int status, String body, String retryAfter, List<String> upstreams, long sentAt,
      long receivedAt) {
    /** The body without surrounding white space: a backend's name. */
    public String who() {
      return status == 200 ? body.trim() : Integer.toString(status);
    }
  }

  /** GET http://127.0.0.1:port + path. */
  public static Answer get(int port, String path) {
    HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
        .timeout(TIMEOUT)
        .GET()
        .build();
    long sentAt = System.currentTimeMillis();
    HttpResponse<String> response;
    try {
      response = CLIENT.send(request, HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new UncheckedIOException("GET " + request.uri() + " failed", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
    List<String> upstreams = response.headers().firstValue("X-Upstream")
        .filter(v -> !v.isBlank())
        .map(v -> Arrays.asList(v.split(",\\s*")))
        .orElse(List.of());
    return new Answer(response.statusCode(), response.body(),
        response.headers().firstValue("Retry-After").orElse(null), upstreams, sentAt, System.currentTimeMillis());
  }
}
