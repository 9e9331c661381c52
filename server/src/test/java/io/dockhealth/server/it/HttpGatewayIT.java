package io.dockhealth.server.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.dockhealth.server.Main;
import io.dockhealth.server.Sidecar;
import io.dockhealth.testing.DockerEngine;
import io.dockhealth.testing.HealthClient;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The HTTP gateway of a sidecar watching a real Docker engine, asked over real TCP: by the JDK's
 * HTTP client where a well-formed request does, by a raw socket where the test needs the bytes (HEAD
 * bodies, malformed requests), and its /metrics read by the official Prometheus parser (Python).
 * The connection cap and the time limits have sidecars of their own, in {@link LimitsIT}.
 */
class HttpGatewayIT {
  private static final Duration EVENT_DEADLINE = Duration.ofSeconds(5);
  private static final Path PROMETHEUS_PARSER = Path.of("src/test/resources/prometheus_parse.py");
  private static final ObjectMapper JSON = new ObjectMapper();

  private static DockerEngine engine;
  private static Sidecar sidecar;
  private static HttpClient http;
  private static String base;

  private final List<String> containers = new ArrayList<>();

  @BeforeAll
  static void start() {
    engine = DockerEngine.start("http-it");
    // forget-after 0s: a removed container leaves at once, so no timer wakes a long-poll later.
    sidecar = Sidecar.start(Main.parseConfig("--grpc-address=127.0.0.1:0", "--http-address=127.0.0.1:0",
        "--docker-host=" + engine.host(), "--drain-period=0s", "--forget-after=0s"));
    InetSocketAddress address = sidecar.httpAddress();
    base = "http://" + address.getHostString() + ":" + address.getPort();
    http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    await().atMost(Duration.ofSeconds(30)).until(() -> get("/healthz").statusCode() == 200);
  }

  @AfterAll
  static void stop() {
    if (sidecar != null) {
      sidecar.stop();
    }
    if (engine != null) {
      engine.close();
    }
  }

  @AfterEach
  void removeContainers() {
    if (!containers.isEmpty()) {
      List<String> rm = new ArrayList<>(List.of("rm", "-f"));
      rm.addAll(containers);
      engine.docker(rm.toArray(String[]::new));
    }
  }

  private String run(String name, String... options) {
    List<String> args = new ArrayList<>(List.of("run", "-d", "--name", name, "--network", "host"));
    args.addAll(List.of(options));
    args.addAll(List.of(DockerEngine.IMAGE, "sleep", "600"));
    containers.add(name);
    return engine.docker(args.toArray(String[]::new));
  }

  private static HttpResponse<String> get(String path) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(10)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private static JsonNode json(HttpResponse<String> response) throws Exception {
    return JSON.readTree(response.body());
  }

  private static void awaitStatus(String path, int status) {
    await().atMost(EVENT_DEADLINE).untilAsserted(() -> assertThat(get(path).statusCode()).as(path).isEqualTo(status));
  }

  // ---------------------------------------------------------------------------------------------
  // Every route and status code.

  @Test
  void everyRoute_answersItsStatusCodes_forRealContainers() throws Exception {
    String webId = run("web");
    run("sick", "--health-cmd", "test -f /tmp/ok", "--health-interval", "1s", "--health-retries", "1");
    awaitStatus("/v1/health/web", 200);
    awaitStatus("/v1/health/sick", 503);

    HttpResponse<String> web = get("/v1/health/web");
    assertThat(web.headers().firstValue("content-type")).contains("application/json");
    assertThat(json(web).get("status").asText()).isEqualTo("SERVING");
    assertThat(json(web).get("members").get(0).get("containerId").asText()).isEqualTo(webId);
    assertThat(get("/v1/health/" + webId.substring(0, 12)).statusCode()).isEqualTo(200);
    assertThat(json(get("/v1/health/sick")).get("status").asText()).isEqualTo("NOT_SERVING");
    assertThat(get("/v1/health/nope").statusCode()).isEqualTo(404);

    HttpResponse<String> list = get("/v1/health");
    assertThat(list.statusCode()).isEqualTo(200);
    assertThat(json(list).get("version").asLong()).isPositive();
    assertThat(json(list).get("services").findValuesAsText("name")).contains("", "web", "sick", webId);

    HttpResponse<String> all = get("/v1/containers");
    assertThat(all.statusCode()).isEqualTo(200);
    assertThat(json(all).get("containers").findValuesAsText("id")).contains(webId);
    HttpResponse<String> one = get("/v1/containers/web");
    assertThat(one.statusCode()).isEqualTo(200);
    assertThat(json(one).get("id").asText()).isEqualTo(webId);
    assertThat(json(one).get("state").asText()).isEqualTo("STATE_RUNNING");
    assertThat(get("/v1/containers/nope").statusCode()).isEqualTo(404);

    assertThat(get("/healthz").statusCode()).isEqualTo(200);
    HttpResponse<String> metrics = get("/metrics");
    assertThat(metrics.statusCode()).isEqualTo(200);
    assertThat(metrics.headers().firstValue("content-type")).contains("text/plain; version=0.0.4; charset=utf-8");

    HttpResponse<String> compatHealth = get("/container-healthcheck/health");
    assertThat(compatHealth.statusCode()).isEqualTo(200);
    assertThat(compatHealth.body()).isEqualTo("{\"code\":0,\"status\":\"ok\",\"message\":\"i'm healthy\"}");
    assertThat(get("/container-healthcheck/apps/health/web").statusCode()).isEqualTo(200);
    HttpResponse<String> sick = get("/container-healthcheck/apps/health/sick");
    assertThat(sick.statusCode()).isEqualTo(503);
    assertThat(json(sick).get("code").asInt()).isEqualTo(12);
    assertThat(get("/container-healthcheck/apps/health/nope").statusCode()).isEqualTo(404);
    assertThat(get("/container-healthcheck/apps/health/we").statusCode()).as("never by substring").isEqualTo(404);

    engine.docker("stop", "web");
    awaitStatus("/v1/health/web", 503);
    assertThat(get("/container-healthcheck/apps/health/web").statusCode()).isEqualTo(503);
  }

  @Test
  void head_everyRoute_sendsTheHeadersOfGetAndNoBody() throws Exception {
    run("web");
    awaitStatus("/v1/health/web", 200);
    for (String path : List.of("/v1/health", "/v1/health/web", "/v1/health/nope", "/v1/containers",
        "/v1/containers/web", "/healthz", "/metrics", "/container-healthcheck/health",
        "/container-healthcheck/apps/health/web", "/container-healthcheck/apps/health/nope")) {
      int getStatus = get(path).statusCode();
      // HEAD, then a GET on the same connection: any byte of a HEAD body would sit between the two.
      String wire = raw("HEAD " + path + " HTTP/1.1\r\nHost: localhost\r\n\r\n"
          + "GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
      int headEnd = wire.indexOf("\r\n\r\n") + 4;
      assertThat(wire).as(path).startsWith("HTTP/1.1 " + getStatus + " ");
      assertThat(wire.substring(0, headEnd).toLowerCase(Locale.ROOT)).as(path).contains("content-length: ");
      assertThat(wire.substring(headEnd)).as("right after HEAD %s's headers", path).startsWith("HTTP/1.1 200 OK");
    }
  }

  // ---------------------------------------------------------------------------------------------
  // The drop-in routes.

  @Test
  void dropIn_realContainer_answersContainerHealthchecksFieldNamesAndTypes() throws Exception {
    // Named like the README's example, bk_iam-1709878117: the app is the name before the timestamp.
    String id = run("bk_iam-1709878117");
    awaitStatus("/container-healthcheck/apps/health/bk_iam", 200);

    HttpResponse<String> response = get("/container-healthcheck/apps/health/bk_iam");
    assertThat(response.headers().firstValue("content-type")).contains("application/json; charset=utf-8");
    JsonNode body = json(response);
    assertThat(fieldNames(body)).containsExactly("code", "status", "message");
    assertThat(body.get("code").isInt()).isTrue();
    assertThat(body.get("code").asInt()).isZero();
    assertThat(body.get("status").asText()).isEqualTo("ok");

    JsonNode message = body.get("message");
    assertThat(fieldNames(message))
        .containsExactly("command", "container_id", "created", "image", "names", "port", "state", "status");
    assertThat(message.get("command").isTextual()).isTrue();
    assertThat(message.get("command").asText()).isEqualTo("sleep 600");
    assertThat(message.get("container_id").asText()).isEqualTo(id.substring(0, 10));
    assertThat(message.get("created").isIntegralNumber()).isTrue();
    long created = OffsetDateTime.parse(engine.docker("inspect", "-f", "{{.Created}}", id)).toEpochSecond();
    assertThat(message.get("created").asLong()).isEqualTo(created);
    assertThat(message.get("image").asText()).isEqualTo(DockerEngine.IMAGE);
    assertThat(message.get("names").isTextual()).isTrue();
    assertThat(message.get("names").asText()).isEqualTo("bk_iam-1709878117");
    assertThat(message.get("port").isArray()).isTrue();
    assertThat(message.get("port")).isEmpty(); // host network: nothing published, as in the README
    assertThat(message.get("state").asText()).isEqualTo("running");
    assertThat(message.get("status").asText()).startsWith("Up ");
    // The STATUS column of docker ps, written by dockhealth itself; retried across a second boundary.
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(
        json(get("/container-healthcheck/apps/health/bk_iam")).get("message").get("status").asText())
        .isEqualTo(engine.docker("ps", "--filter", "id=" + id, "--format", "{{.Status}}")));

    engine.docker("pause", "bk_iam-1709878117");
    awaitStatus("/container-healthcheck/apps/health/bk_iam", 503);
    JsonNode down = json(get("/container-healthcheck/apps/health/bk_iam"));
    assertThat(down.get("code").asInt()).isEqualTo(12);
    assertThat(down.get("status").asText()).isEqualTo("error");
    assertThat(down.get("message").asText()).contains("bk_iam-1709878117 (Up").contains("(Paused)");
  }

  @Test
  void dropIn_redeploy_answersTheServingContainer() throws Exception {
    run("shop-1700000000");
    run("shop-1800000000", "--health-cmd", "test -f /tmp/ok", "--health-interval", "1s", "--health-retries", "1");
    // The new one still starting: the old one serves and is the answer.
    await().atMost(EVENT_DEADLINE).untilAsserted(() -> assertThat(
        json(get("/container-healthcheck/apps/health/shop")).get("message").get("names").asText())
        .isEqualTo("shop-1700000000"));

    engine.docker("exec", "shop-1800000000", "touch", "/tmp/ok");
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(
        json(get("/container-healthcheck/apps/health/shop")).get("message").get("names").asText())
        .isEqualTo("shop-1800000000"));
  }

  private static List<String> fieldNames(JsonNode node) {
    List<String> names = new ArrayList<>();
    node.fieldNames().forEachRemaining(names::add);
    return names;
  }

  // ---------------------------------------------------------------------------------------------
  // Long-poll.

  @Test
  void longPoll_304AfterTheWait_andAnswersWithinASecondOfAHealthChange() throws Exception {
    run("quiet");
    awaitStatus("/v1/health/quiet", 200);

    // Nothing changes: 304 once the wait has passed, no body. Retried in case the model was still
    // settling from earlier tests when the version was read.
    await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
      long version = json(get("/v1/health")).get("version").asLong();
      Instant asked = Instant.now();
      HttpResponse<String> unchanged = get("/v1/health?since=" + version + "&wait=1s");
      assertThat(unchanged.statusCode()).isEqualTo(304);
      assertThat(unchanged.body()).isEmpty();
      assertThat(Duration.between(asked, Instant.now())).isGreaterThanOrEqualTo(Duration.ofMillis(900));
    });

    long version = json(get("/v1/health")).get("version").asLong();
    CompletableFuture<HttpResponse<String>> poll = http.sendAsync(
        HttpRequest.newBuilder(URI.create(base + "/v1/health?since=" + version + "&wait=30s"))
            .timeout(Duration.ofSeconds(40)).build(),
        HttpResponse.BodyHandlers.ofString());
    await().atMost(Duration.ofSeconds(5)).until(() -> metric("dockhealth_http_long_polls", Map.of()) >= 1);
    assertThat(poll).isNotDone();

    engine.docker("pause", "quiet");
    Instant changed = Instant.now();
    HttpResponse<String> answer = poll.get(5, TimeUnit.SECONDS);
    assertThat(Duration.between(changed, Instant.now())).isLessThan(Duration.ofSeconds(1));
    assertThat(answer.statusCode()).isEqualTo(200);
    JsonNode body = json(answer);
    assertThat(body.get("version").asLong()).isGreaterThan(version);
    JsonNode quiet = null;
    for (JsonNode service : body.get("services")) {
      if (service.get("name").asText().equals("quiet")) {
        quiet = service;
      }
    }
    assertThat(quiet).isNotNull();
    assertThat(quiet.get("status").asText()).isEqualTo("NOT_SERVING");
  }

  // ---------------------------------------------------------------------------------------------
  // Bad input.

  @Test
  void badInput_eachGetsItsCodeAndAJsonReason_andTheServerKeepsServing() throws Exception {
    // Requests the server would answer and keep the connection open for say Connection: close, so
    // that reading until the server closes ends; the others close it themselves.
    String close = "Host: localhost\r\nConnection: close\r\n\r\n";
    Map<String, Integer> cases = new LinkedHashMap<>();
    cases.put("GET /v1/health/%zz HTTP/1.1\r\n" + close, 400);
    cases.put("GET /v1/health/%ff%fe HTTP/1.1\r\n" + close, 400);
    cases.put("GET /v1/health/a%00b HTTP/1.1\r\n" + close, 400);
    cases.put("GET /v1/health?since=yesterday HTTP/1.1\r\n" + close, 400);
    cases.put("GET /container-healthcheck/apps/health/%c3 HTTP/1.1\r\n" + close, 400);
    cases.put("GARBAGE\r\n\r\n", 400);
    cases.put("GET /nope HTTP/1.1\r\n" + close, 404);
    cases.put("DELETE /v1/health/web HTTP/1.1\r\n" + close, 405);
    cases.put("GET /v1/health/" + "a".repeat(5000) + " HTTP/1.1\r\nHost: localhost\r\n\r\n", 414);
    cases.put("GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Big: " + "b".repeat(10_000) + "\r\n\r\n", 431);
    // The length alone is refused; no body is sent, so none is left unread when the server closes.
    cases.put("POST /v1/health HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100000\r\n\r\n", 413);
    // Strict HTTP/1.1, and the Host names answered (DNS rebinding).
    cases.put("GET /healthz HTTP/9.9\r\n" + close, 505);
    cases.put("GET /healthz HTTP/1.1\r\nTransfer-Encoding: xchunked\r\n" + close, 400);
    cases.put("GET /healthz HTTP/1.1\r\nX-Folded: a\r\n b\r\n" + close, 400);
    cases.put("GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n", 400);
    cases.put("GET /healthz HTTP/1.1\r\nHost: rebound.example\r\nConnection: close\r\n\r\n", 421);

    for (Map.Entry<String, Integer> c : cases.entrySet()) {
      String request = c.getKey().length() > 60 ? c.getKey().substring(0, 60) + "..." : c.getKey();
      String wire = raw(c.getKey());
      assertThat(wire).as(request).startsWith("HTTP/1.1 " + c.getValue() + " ");
      String head = wire.substring(0, wire.indexOf("\r\n\r\n")).toLowerCase(Locale.ROOT);
      assertThat(head).as(request).contains("content-type: application/json");
      if (c.getValue() == 405) {
        assertThat(head).contains("allow: get, head");
      }
      JsonNode body = JSON.readTree(wire.substring(wire.indexOf("\r\n\r\n") + 4));
      assertThat(body.get("message").asText()).as(request).contains("expected");
      assertThat(get("/healthz").statusCode()).as("still serving after %s", request).isEqualTo(200);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Metrics.

  @Test
  void metrics_parseWithThePrometheusParser_andCountersMoveWhenContainersChange() throws Exception {
    double events = metricSum("dockhealth_docker_events_total");
    double transitions = metricSum("dockhealth_status_transitions_total");
    double grpcChecks = metric("dockhealth_grpc_requests_total",
        Map.of("method", "grpc.health.v1.Health/Check", "code", "OK"));

    run("counted");
    engine.docker("stop", "counted");
    try (HealthClient grpc = new HealthClient(sidecar.grpcAddress())) {
      assertThat(grpc.check("")).isEqualTo("SERVING");
    }

    await().atMost(EVENT_DEADLINE).untilAsserted(() -> {
      assertThat(metricSum("dockhealth_docker_events_total")).isGreaterThanOrEqualTo(events + 3); // create, start, die...
      assertThat(metricSum("dockhealth_status_transitions_total")).isGreaterThan(transitions);
      assertThat(metric("dockhealth_status_transitions_total", Map.of("from", "SERVING", "to", "NOT_SERVING")))
          .isPositive();
      assertThat(metric("dockhealth_grpc_requests_total",
          Map.of("method", "grpc.health.v1.Health/Check", "code", "OK"))).isEqualTo(grpcChecks + 1);
    });
    assertThat(metric("dockhealth_docker_resyncs_total", Map.of())).isGreaterThanOrEqualTo(1);
    assertThat(metric("dockhealth_in_sync", Map.of())).isEqualTo(1);
    assertThat(metric("dockhealth_services", Map.of("status", "NOT_SERVING"))).isGreaterThanOrEqualTo(3);
    assertThat(metric("dockhealth_http_requests_total", Map.of("route", "/metrics", "code", "200"))).isPositive();
    assertThat(metric("dockhealth_grpc_watch_streams", Map.of())).isZero();
  }

  /** Every sample of /metrics, as the Prometheus parser reads them. */
  private static JsonNode samples() throws Exception {
    HttpResponse<String> response = get("/metrics");
    assertThat(response.statusCode()).isEqualTo(200);
    Process parser = new ProcessBuilder("/usr/bin/python3", PROMETHEUS_PARSER.toString()).start();
    try (OutputStream in = parser.getOutputStream()) {
      in.write(response.body().getBytes(StandardCharsets.UTF_8));
    }
    byte[] out = parser.getInputStream().readAllBytes();
    String err = new String(parser.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(parser.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(parser.exitValue()).as("the Prometheus parser on /metrics: %s", err).isZero();
    return JSON.readTree(out);
  }

  private static double metricSum(String name) throws Exception {
    double sum = 0;
    for (JsonNode sample : samples()) {
      if (sample.get("name").asText().equals(name)) {
        sum += sample.get("value").asDouble();
      }
    }
    return sum;
  }

  /** The sample with this name whose labels include these, or 0 when there is none yet. */
  private static double metric(String name, Map<String, String> labels) throws Exception {
    for (JsonNode sample : samples()) {
      if (sample.get("name").asText().equals(name) && labels.entrySet().stream().allMatch(label ->
          label.getValue().equals(sample.get("labels").path(label.getKey()).asText(null)))) {
        return sample.get("value").asDouble();
      }
    }
    return 0;
  }

  // ---------------------------------------------------------------------------------------------

  private static Socket connect() throws IOException {
    InetSocketAddress address = sidecar.httpAddress();
    Socket socket = new Socket(address.getAddress(), address.getPort());
    socket.setSoTimeout(10_000);
    return socket;
  }

  /** Sends bytes as they are and returns everything the server sends until it closes. */
  private static String raw(String request) throws IOException {
    try (Socket socket = connect()) {
      socket.getOutputStream().write(request.getBytes(StandardCharsets.ISO_8859_1));
      socket.getOutputStream().flush();
      return new String(readAll(socket.getInputStream()), StandardCharsets.UTF_8);
    }
  }

  private static byte[] readAll(InputStream in) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    byte[] buffer = new byte[8192];
    try {
      for (int n = in.read(buffer); n >= 0; n = in.read(buffer)) {
        out.write(buffer, 0, n);
      }
    } catch (java.net.SocketException e) {
      // A reset after the server closed with our unread bytes in its buffer: what came is complete.
    }
    return out.toByteArray();
  }
}
