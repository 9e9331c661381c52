package io.dockhealth.server.http;

import static io.dockhealth.server.testing.ContainerFixtures.container;
import static io.dockhealth.server.testing.ContainerFixtures.running;
import static io.dockhealth.server.testing.ContainerFixtures.with;
import static io.dockhealth.server.testing.ContainerFixtures.withLabels;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.common.collect.ImmutableList;
import com.google.common.collect.ImmutableMap;
import com.google.protobuf.util.JsonFormat;
import io.dockhealth.proto.v1.ListServicesResponse;
import io.dockhealth.proto.v1.Service;
import io.dockhealth.server.api.Exposure;
import io.dockhealth.server.metrics.Metrics;
import io.dockhealth.server.model.ContainerRecord;
import io.dockhealth.server.model.ContainerState;
import io.dockhealth.server.model.HealthStatus;
import io.dockhealth.server.model.PortMapping;
import io.dockhealth.server.model.Registry;
import io.dockhealth.server.model.ServiceRules;
import io.dockhealth.server.net.ConnectionCap;
import io.dockhealth.server.net.ListenerSpec;
import io.dockhealth.server.testing.FakeClock;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.io.ByteArrayOutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The gateway's whole pipeline (Netty's codec, our limits, flow control, handler) on an
 * EmbeddedChannel: raw bytes in, raw bytes out, the event loop's clock under the test's control.
 */
class HttpChannelTest {
  /** Five days after the fixtures' containers started. */
  private final FakeClock clock = new FakeClock(Instant.parse("2026-01-06T00:00:01Z"));
  private final Registry registry = new Registry(ServiceRules.defaults(), Duration.ofSeconds(30),
      Duration.ofSeconds(60), clock, clock);
  private final Metrics metrics = new Metrics();
  private final HttpFrontEnd front = frontEnd(Exposure.DEFAULT, metrics, List.of("sidecar.internal"));
  /** Stand in for the listening channels: connections are admitted by each gateway's cap on its own. */
  private final Map<HttpFrontEnd, EmbeddedChannel> listeners = new HashMap<>();
  private final List<EmbeddedChannel> channels = new ArrayList<>();

  HttpChannelTest() {
    registry.addHealthListener(front.longPolls());
  }

  /**
   * A gateway on the test's registry, with room for 3 connections; each registers its gauges with
   * {@code metrics}, so one per Metrics.
   */
  private HttpFrontEnd frontEnd(Exposure exposure, Metrics metrics, List<String> allowedHosts) {
    return new HttpFrontEnd(ListenerSpec.tcp(new InetSocketAddress("127.0.0.1", 4246)), "/container-healthcheck",
        new HttpLimits(3, Duration.ofSeconds(10), allowedHosts), registry, exposure, metrics, clock);
  }

  @AfterEach
  void closeChannels() {
    channels.forEach(EmbeddedChannel::finishAndReleaseAll);
    listeners.values().forEach(EmbeddedChannel::finishAndReleaseAll);
  }

  private EmbeddedChannel connect() throws Exception {
    return connect(front);
  }

  private EmbeddedChannel connect(HttpFrontEnd front) throws Exception {
    EmbeddedChannel channel = new EmbeddedChannel(false, false);
    channel.config().setAutoRead(false);
    EmbeddedChannel listener = listeners.computeIfAbsent(front, f -> new EmbeddedChannel(f.acceptor()));
    listener.writeInbound(channel);
    assertThat((Object) listener.readInbound()).as("handed on by the acceptor").isSameAs(channel);
    front.configure(channel);
    channel.register();
    channel.freezeTime();
    channels.add(channel);
    return channel;
  }

  /** A response as it went over the wire. */
  record Response(int status, Map<String, String> headers, String body) {
    String header(String name) {
      return headers.get(name.toLowerCase(Locale.ROOT));
    }

    JsonNode json() throws Exception {
      return new ObjectMapper().readTree(body);
    }
  }

  private static void send(EmbeddedChannel channel, String raw) {
    channel.writeInbound(Unpooled.copiedBuffer(raw, StandardCharsets.ISO_8859_1));
    channel.runPendingTasks();
  }

  private static String get(String target) {
    return "GET " + target + " HTTP/1.1\r\nHost: localhost\r\n\r\n";
  }

  /** Everything the server wrote so far, parsed into responses; HEAD answers are read without a body. */
  private static List<Response> responses(EmbeddedChannel channel, boolean head) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (ByteBuf buf = channel.readOutbound(); buf != null; buf = channel.readOutbound()) {
      byte[] bytes = new byte[buf.readableBytes()];
      buf.readBytes(bytes);
      buf.release();
      out.writeBytes(bytes);
    }
    String wire = out.toString(StandardCharsets.UTF_8);
    List<Response> responses = new ArrayList<>();
    while (!wire.isEmpty()) {
      int end = wire.indexOf("\r\n\r\n");
      assertThat(end).as("end of headers in %s", wire).isPositive();
      String[] lines = wire.substring(0, end).split("\r\n");
      assertThat(lines[0]).startsWith("HTTP/1.1 ");
      int status = Integer.parseInt(lines[0].split(" ")[1]);
      Map<String, String> headers = new LinkedHashMap<>();
      for (int i = 1; i < lines.length; i++) {
        String[] header = lines[i].split(": ", 2);
        headers.put(header[0].toLowerCase(Locale.ROOT), header[1]);
      }
      int length = head || status == 304 ? 0 : Integer.parseInt(headers.getOrDefault("content-length", "0"));
      byte[] rest = wire.substring(end + 4).getBytes(StandardCharsets.UTF_8);
      String body = new String(rest, 0, length, StandardCharsets.UTF_8);
      responses.add(new Response(status, headers, body));
      wire = new String(rest, length, rest.length - length, StandardCharsets.UTF_8);
    }
    return responses;
  }

  private Response exchange(String raw) throws Exception {
    return exchange(front, raw);
  }

  private Response exchange(HttpFrontEnd front, String raw) throws Exception {
    EmbeddedChannel channel = connect(front);
    send(channel, raw);
    List<Response> responses = responses(channel, raw.startsWith("HEAD "));
    assertThat(responses).as("responses to %s", raw).hasSize(1);
    channel.finishAndReleaseAll(); // below the connection cap for the next
    return responses.get(0);
  }

  private Response getResponse(String target) throws Exception {
    return exchange(get(target));
  }

  private static ContainerRecord bkIam() {
    // The container of container-healthcheck's README: ID 037dbe46cd..., created 1709878119.
    return new ContainerRecord("037dbe46cd" + "0".repeat(54), "bk_iam-1709878117", "python36e:1.1",
        "sh /build/builder", Instant.ofEpochSecond(1709878119), ContainerState.RUNNING, HealthStatus.NONE, 0,
        ImmutableList.of(), 0, false, Optional.of(Instant.parse("2026-01-01T00:00:01Z")), Optional.empty(), 0,
        ImmutableList.of(), ImmutableMap.of());
  }

  @Test
  void compatApp_servingContainer_answersContainerHealthchecksExampleByteForByte() throws Exception {
    registry.replaceAll(List.of(bkIam()));

    Response response = getResponse("/container-healthcheck/apps/health/bk_iam");

    assertThat(response.status()).isEqualTo(200);
    assertThat(response.header("content-type")).isEqualTo("application/json; charset=utf-8");
    assertThat(response.body()).isEqualTo("{\"code\":0,\"status\":\"ok\",\"message\":{"
        + "\"command\":\"sh /build/builder\",\"container_id\":\"037dbe46cd\",\"created\":1709878119,"
        + "\"image\":\"python36e:1.1\",\"names\":\"bk_iam-1709878117\",\"port\":[],\"state\":\"running\","
        + "\"status\":\"Up 5 days\"}}");
    // The container's own name answers the same.
    assertThat(getResponse("/container-healthcheck/apps/health/bk_iam-1709878117").body())
        .isEqualTo(response.body());
  }

  @Test
  void detailsHealth_containerRoutesAre404NamingTheFlag_compatAppWithoutCommandLine_healthAsEver() throws Exception {
    HttpFrontEnd healthOnly = frontEnd(new Exposure(Exposure.Details.HEALTH, false), new Metrics(), List.of());
    registry.replaceAll(List.of(bkIam()));

    for (String target : List.of("/v1/containers", "/v1/containers/bk_iam-1709878117")) {
      Response refused = exchange(healthOnly, get(target));
      assertThat(refused.status()).as(target).isEqualTo(404);
      assertThat(refused.json().get("code").asInt()).isEqualTo(5);
      assertThat(refused.json().get("message").asText()).contains("--details=health").contains("--details=full");
      assertThat(refused.body()).doesNotContain("bk_iam");
    }
    JsonNode compat = exchange(healthOnly, get("/container-healthcheck/apps/health/bk_iam")).json();
    assertThat(compat.get("message").get("command").asText()).isEmpty();
    assertThat(compat.get("message").get("names").asText()).isEqualTo("bk_iam-1709878117");
    assertThat(exchange(healthOnly, get("/v1/health/bk_iam")).status()).isEqualTo(200);
    assertThat(exchange(healthOnly, get("/healthz")).status()).isEqualTo(200);
    assertThat(exchange(healthOnly, get("/metrics")).status()).isEqualTo(200);
  }

  @Test
  void probeOutput_hiddenByDefault_shownWhenAsked() throws Exception {
    ContainerRecord base = running("web");
    registry.replaceAll(List.of(new ContainerRecord(base.id(), base.name(), base.image(), base.command(),
        base.created(), base.state(), HealthStatus.HEALTHY, 0,
        ImmutableList.of(new io.dockhealth.server.model.ProbeResult(Instant.parse("2026-01-01T00:00:02Z"),
            Instant.parse("2026-01-01T00:00:03Z"), 0, "token=s3cret\n")),
        0, false, base.startedAt(), Optional.empty(), 0, ImmutableList.of(), ImmutableMap.of())));

    JsonNode hidden = getResponse("/v1/containers/web").json().get("probes").get(0);
    assertThat(hidden.get("output").asText()).isEmpty();
    assertThat(hidden.get("exitCode").asInt()).isZero();
    assertThat(getResponse("/v1/containers").body()).doesNotContain("s3cret");
    HttpFrontEnd showing = frontEnd(new Exposure(Exposure.Details.FULL, true), new Metrics(), List.of());
    assertThat(exchange(showing, get("/v1/containers/web")).json().get("probes").get(0).get("output").asText())
        .isEqualTo("token=s3cret\n");
  }

  @Test
  void compatApp_ports_lookLikeDockersListApi() throws Exception {
    registry.replaceAll(List.of(with(running("web"), Map.of(),
        List.of(new PortMapping(80, "tcp", "127.0.0.1", 8080), new PortMapping(53, "udp", "", 0)))));

    JsonNode ports = getResponse("/container-healthcheck/apps/health/web").json().get("message").get("port");

    assertThat(ports.toString()).isEqualTo(
        "[{\"IP\":\"127.0.0.1\",\"PrivatePort\":80,\"PublicPort\":8080,\"Type\":\"tcp\"},"
            + "{\"PrivatePort\":53,\"Type\":\"udp\"}]");
  }

  @Test
  void compatApp_matchesExactlyNeverBySubstring() throws Exception {
    registry.replaceAll(List.of(bkIam()));

    for (String app : List.of("bk", "iam", "bk_ia", "bk_iam-17", "BK_IAM", ".*")) {
      Response response = getResponse("/container-healthcheck/apps/health/" + app);
      assertThat(response.status()).as(app).isEqualTo(404);
      assertThat(response.json().get("code").asInt()).isEqualTo(12);
      assertThat(response.json().get("status").asText()).isEqualTo("error");
      assertThat(response.json().get("message").asText()).contains("no container answers to \"" + app + "\"");
    }
  }

  @Test
  void compatApp_severalMembers_answersTheNewestServingOne_or503ListingWhy() throws Exception {
    ContainerRecord old = running("shop-100");
    ContainerRecord newer = withCreated(running("shop-200"), old.created().plusSeconds(60));
    ContainerRecord newestSick = withCreated(container("shop-300", ContainerState.RUNNING, HealthStatus.UNHEALTHY),
        old.created().plusSeconds(120));
    registry.replaceAll(List.of(old, newer, newestSick));

    Response response = getResponse("/container-healthcheck/apps/health/shop");
    assertThat(response.status()).isEqualTo(200);
    assertThat(response.json().get("message").get("names").asText()).isEqualTo("shop-200");

    registry.replaceAll(List.of(newestSick, container("shop-100", ContainerState.EXITED, HealthStatus.NONE)));
    Response down = getResponse("/container-healthcheck/apps/health/shop");
    assertThat(down.status()).isEqualTo(503);
    assertThat(down.json().get("code").asInt()).isEqualTo(12);
    assertThat(down.json().get("message").asText())
        .startsWith("\"shop\" is NOT_SERVING: ")
        .contains("shop-300 (Up 5 days (unhealthy))")
        .contains("shop-100 (Exited (0))");
  }

  private static ContainerRecord withCreated(ContainerRecord c, Instant created) {
    return new ContainerRecord(c.id(), c.name(), c.image(), c.command(), created, c.state(), c.health(),
        c.failingStreak(), c.probes(), c.exitCode(), c.oomKilled(), c.startedAt(), c.finishedAt(), c.restartCount(),
        c.ports(), c.labels());
  }

  @Test
  void compatHealth_saysImHealthyWhileInSync_else503WithCode10() throws Exception {
    Response before = getResponse("/container-healthcheck/health");
    assertThat(before.status()).isEqualTo(503);
    assertThat(before.json().get("code").asInt()).isEqualTo(10);

    registry.replaceAll(List.of());
    Response after = getResponse("/container-healthcheck/health");
    assertThat(after.status()).isEqualTo(200);
    assertThat(after.body()).isEqualTo("{\"code\":0,\"status\":\"ok\",\"message\":\"i'm healthy\"}");
  }

  @Test
  void health_statusInTheCode_andTheServiceMessageAsProto3Json() throws Exception {
    registry.replaceAll(List.of(running("web"), container("sick", ContainerState.RUNNING, HealthStatus.UNHEALTHY)));

    Response web = getResponse("/v1/health/web");
    assertThat(web.status()).isEqualTo(200);
    assertThat(web.header("content-type")).isEqualTo("application/json");
    assertThat(web.header("cache-control")).isEqualTo("no-store");
    Service.Builder service = Service.newBuilder();
    JsonFormat.parser().merge(web.body(), service);
    assertThat(service.getName()).isEqualTo("web");
    assertThat(service.getStatus().name()).isEqualTo("SERVING");
    assertThat(service.getMembers(0).getContainerName()).isEqualTo("web");
    assertThat(web.json().has("stale")).as("defaults are printed too").isTrue();

    assertThat(getResponse("/v1/health/sick").status()).isEqualTo(503);
    Response unknown = getResponse("/v1/health/nope");
    assertThat(unknown.status()).isEqualTo(404);
    assertThat(unknown.json().get("code").asInt()).as("gRPC NOT_FOUND").isEqualTo(5);
    assertThat(unknown.json().get("message").asText()).startsWith("unknown service \"nope\"");

    assertThat(getResponse("/healthz").status()).isEqualTo(200);
    assertThat(getResponse("/v1/health/").status()).as("\"\" is the sidecar").isEqualTo(200);
  }

  @Test
  void health_askedAgainAfterAChange_answersTheNewSnapshot() throws Exception {
    registry.replaceAll(List.of(running("web")));
    assertThat(getResponse("/v1/health/web").status()).isEqualTo(200);
    assertThat(getResponse("/v1/health/web").json().get("stale").asBoolean()).isFalse();

    registry.put(container("web", ContainerState.PAUSED, HealthStatus.NONE));
    assertThat(getResponse("/v1/health/web").status()).isEqualTo(503);
    registry.dockerDisconnected();
    assertThat(getResponse("/v1/health/web").json().get("stale").asBoolean()).isTrue();
    registry.replaceAll(List.of(running("web")));
    Response again = getResponse("/v1/health/web");
    assertThat(again.status()).isEqualTo(200);
    assertThat(again.json().get("stale").asBoolean()).isFalse();
  }

  @Test
  void containers_listAndOne_asTheDockhealthV1Messages_withoutLabels() throws Exception {
    ContainerRecord web = withLabels(running("web"), Map.of("secret.label", "hunter2"));
    registry.replaceAll(List.of(web));

    Response list = getResponse("/v1/containers");
    assertThat(list.status()).isEqualTo(200);
    assertThat(list.json().get("containers").get(0).get("id").asText()).isEqualTo(web.id());
    assertThat(list.body()).doesNotContain("hunter2").doesNotContain("secret.label");

    Response one = getResponse("/v1/containers/" + web.shortId());
    assertThat(one.status()).isEqualTo(200);
    assertThat(one.json().get("names").get(0).asText()).isEqualTo("web");
    assertThat(one.json().get("servingStatus").asText()).isEqualTo("SERVING");
    assertThat(getResponse("/v1/containers/nope").status()).isEqualTo(404);
  }

  @Test
  void head_hasTheHeadersOfGet_andNoBody() throws Exception {
    registry.replaceAll(List.of(running("web")));
    for (String target : List.of("/v1/health/web", "/v1/health", "/v1/containers", "/metrics", "/healthz",
        "/container-healthcheck/health", "/container-healthcheck/apps/health/web", "/v1/health/nope")) {
      Response get = getResponse(target);
      EmbeddedChannel channel = connect();
      send(channel, "HEAD " + target + " HTTP/1.1\r\nHost: localhost\r\n\r\n");
      ByteBuf all = Unpooled.buffer();
      for (ByteBuf buf = channel.readOutbound(); buf != null; buf = channel.readOutbound()) {
        all.writeBytes(buf);
        buf.release();
      }
      String wire = all.toString(StandardCharsets.UTF_8);
      all.release();
      channel.finishAndReleaseAll();
      assertThat(wire).as(target).endsWith("\r\n\r\n").startsWith("HTTP/1.1 " + get.status() + " ");
      if (!target.equals("/metrics")) {
        assertThat(wire.toLowerCase(Locale.ROOT)).contains("content-length: " + get.body().length());
      }
    }
  }

  @Test
  void keepAlive_pipelinedRequests_answeredInOrderOnOneConnection() throws Exception {
    registry.replaceAll(List.of(running("web")));
    EmbeddedChannel channel = connect();

    send(channel, get("/v1/health/web") + get("/v1/health/nope") + get("/healthz"));

    List<Response> responses = responses(channel, false);
    assertThat(responses).extracting(Response::status).containsExactly(200, 404, 200);
    assertThat(channel.isOpen()).isTrue();
  }

  @Test
  void keepAlive_requestsOneAfterAnother_eachAnsweredOnOneConnection() throws Exception {
    EmbeddedChannel channel = connect();
    for (int i = 0; i < 3; i++) {
      send(channel, get("/v1/containers"));
      assertThat(responses(channel, false)).as("answer %s", i).extracting(Response::status).containsExactly(200);
    }
  }

  @Test
  void request_splitAcrossReads_isAnswered() throws Exception {
    EmbeddedChannel channel = connect();
    // Each writeInbound is one read cycle; the request is whole only after the last.
    send(channel, "GET /v1/cont");
    send(channel, "ainers HTTP/1.1\r\nHo");
    assertThat(responses(channel, false)).isEmpty();
    send(channel, "st: localhost\r\n\r\n");
    assertThat(responses(channel, false)).extracting(Response::status).containsExactly(200);

    EmbeddedChannel tooLong = connect();
    send(tooLong, "GET /v1/health/" + "a".repeat(3000));
    send(tooLong, "a".repeat(3000) + " HTTP/1.1\r\n\r\n");
    assertThat(responses(tooLong, false)).extracting(Response::status).containsExactly(414);
  }

  @Test
  void connectionClose_isHonoured() throws Exception {
    EmbeddedChannel channel = connect();
    send(channel, "GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    assertThat(responses(channel, false).get(0).header("connection")).isEqualTo("close");
    assertThat(channel.isOpen()).isFalse();
  }

  @Test
  void longPoll_answersWhenTheVersionPasses_andTheNewestSnapshot() throws Exception {
    registry.replaceAll(List.of(running("web")));
    long version = registry.current().version();
    EmbeddedChannel channel = connect();

    send(channel, get("/v1/health?since=" + version + "&wait=30s"));
    assertThat(responses(channel, false)).isEmpty();
    assertThat(front.openLongPolls()).isEqualTo(1);

    registry.replaceAll(List.of(container("web", ContainerState.EXITED, HealthStatus.NONE)));
    channel.runPendingTasks();

    List<Response> responses = responses(channel, false);
    assertThat(responses).hasSize(1);
    ListServicesResponse.Builder list = ListServicesResponse.newBuilder();
    JsonFormat.parser().merge(responses.get(0).body(), list);
    assertThat(list.getVersion()).isGreaterThan(version);
    assertThat(list.getServicesList()).anySatisfy(s -> {
      assertThat(s.getName()).isEqualTo("web");
      assertThat(s.getStatus().name()).isEqualTo("NOT_SERVING");
    });
    assertThat(front.openLongPolls()).isZero();
  }

  @Test
  void longPoll_aContainersDetailAlone_doesNotWakeIt_aStatusChangeDoes() throws Exception {
    ContainerRecord web = container("web", ContainerState.RUNNING, HealthStatus.HEALTHY);
    registry.replaceAll(List.of(web));
    long version = registry.current().version();
    EmbeddedChannel channel = connect();
    send(channel, get("/v1/health?since=" + version + "&wait=30s"));

    // A new probe result: a new snapshot, the same answer.
    registry.put(new ContainerRecord(web.id(), web.name(), web.image(), web.command(), web.created(), web.state(),
        web.health(), 1, web.probes(), web.exitCode(), web.oomKilled(), web.startedAt(), web.finishedAt(),
        web.restartCount(), web.ports(), web.labels()));
    channel.runPendingTasks();
    assertThat(registry.current().version()).isGreaterThan(version);
    assertThat(responses(channel, false)).isEmpty();

    registry.put(web.withState(ContainerState.RUNNING, HealthStatus.UNHEALTHY));
    channel.runPendingTasks();
    assertThat(responses(channel, false)).extracting(Response::status).containsExactly(200);
  }

  @Test
  void longPoll_aContainerGoingStale_wakesIt_forItsNamesAnswerStale() throws Exception {
    ContainerRecord web = running("web");
    registry.replaceAll(List.of(web));
    EmbeddedChannel channel = connect();
    send(channel, get("/v1/health?since=" + registry.current().version() + "&wait=30s"));

    registry.markStale(web.id());
    channel.runPendingTasks();

    List<Response> responses = responses(channel, false);
    assertThat(responses).extracting(Response::status).containsExactly(200);
    ListServicesResponse.Builder list = ListServicesResponse.newBuilder();
    JsonFormat.parser().merge(responses.get(0).body(), list);
    assertThat(list.getServicesList()).filteredOn(s -> s.getName().equals("web")).singleElement()
        .satisfies(s -> assertThat(s.getStale()).isTrue());
  }

  @Test
  void longPoll_nothingChanges_304AfterTheWait_thenTheConnectionServesOn() throws Exception {
    registry.replaceAll(List.of(running("web")));
    EmbeddedChannel channel = connect();

    send(channel, get("/v1/health?since=" + registry.current().version() + "&wait=10s")
        + get("/v1/health/web"));
    channel.advanceTimeBy(9, TimeUnit.SECONDS);
    channel.runScheduledPendingTasks();
    assertThat(responses(channel, false)).as("the pipelined request waits its turn").isEmpty();

    channel.advanceTimeBy(1, TimeUnit.SECONDS);
    channel.runScheduledPendingTasks();
    channel.runPendingTasks();
    List<Response> responses = responses(channel, false);
    assertThat(responses).extracting(Response::status).containsExactly(304, 200);
    assertThat(responses.get(0).body()).isEmpty();
    assertThat(responses.get(0).header("content-length")).isNull();
  }

  @Test
  void longPoll_versionAlreadyPast_orFromAnEarlierRun_answersAtOnce() throws Exception {
    registry.replaceAll(List.of(running("web")));
    long version = registry.current().version();
    assertThat(getResponse("/v1/health?since=" + (version - 1)).status()).isEqualTo(200);
    assertThat(getResponse("/v1/health?since=" + (version + 1000)).status()).isEqualTo(200);
  }

  @Test
  void longPoll_releasedAsTheServerStops_is304NotACutConnection() throws Exception {
    registry.replaceAll(List.of(running("web")));
    EmbeddedChannel channel = connect();
    send(channel, get("/v1/health?since=" + registry.current().version() + "&wait=2m"));
    assertThat(front.openLongPolls()).isEqualTo(1);

    front.longPolls().releaseAll();
    channel.runPendingTasks();

    assertThat(responses(channel, false)).extracting(Response::status).containsExactly(304);
    assertThat(front.openLongPolls()).isZero();
  }

  @Test
  void longPoll_connectionClosed_forgetsThePoll() throws Exception {
    EmbeddedChannel channel = connect();
    send(channel, get("/v1/health?since=" + registry.current().version()));
    assertThat(front.openLongPolls()).isEqualTo(1);
    channel.close();
    assertThat(front.openLongPolls()).isZero();
  }

  @Test
  void longPoll_isNotClosedAsIdle_butAnIdleConnectionIs() throws Exception {
    EmbeddedChannel polling = connect();
    send(polling, get("/v1/health?since=" + registry.current().version() + "&wait=2m"));
    EmbeddedChannel idle = connect();
    send(idle, get("/healthz"));
    assertThat(responses(idle, false)).hasSize(1);

    for (EmbeddedChannel channel : List.of(polling, idle)) {
      channel.advanceTimeBy(HttpFrontEnd.IDLE_TIMEOUT.toSeconds() - 1, TimeUnit.SECONDS);
      channel.runScheduledPendingTasks();
    }
    assertThat(idle.isOpen()).as("idle, but not for long enough").isTrue();
    for (EmbeddedChannel channel : List.of(polling, idle)) {
      channel.advanceTimeBy(2, TimeUnit.SECONDS);
      channel.runScheduledPendingTasks();
    }

    assertThat(polling.isOpen()).isTrue();
    assertThat(idle.isOpen()).isFalse();
  }

  @Test
  void longPoll_aRequestPipelinedWhileItWaits_isHeldAndAnsweredAfterIt() throws Exception {
    registry.replaceAll(List.of(running("web")));
    EmbeddedChannel channel = connect();
    send(channel, get("/v1/health?since=" + registry.current().version() + "&wait=10s"));
    send(channel, get("/v1/health/web"));
    assertThat(responses(channel, false)).isEmpty();

    channel.advanceTimeBy(10, TimeUnit.SECONDS);
    channel.runScheduledPendingTasks();
    channel.runPendingTasks();

    assertThat(responses(channel, false)).extracting(Response::status).containsExactly(304, 200);
    assertThat(channel.isOpen()).isTrue();
  }

  // ---------------------------------------------------------------------------------------------
  // Time limits: request heads, however they trickle in.

  @Test
  void silentConnection_closedAfterTheRequestTimeout() throws Exception {
    EmbeddedChannel channel = connect();
    channel.advanceTimeBy(9, TimeUnit.SECONDS);
    channel.runScheduledPendingTasks();
    assertThat(channel.isOpen()).isTrue();

    channel.advanceTimeBy(1, TimeUnit.SECONDS);
    channel.runScheduledPendingTasks();
    assertThat(channel.isOpen()).isFalse();
    assertThat(responses(channel, false)).isEmpty();
  }

  @Test
  void slowloris_aHeadTricklingIn_getsA408WhenTheTimeoutPasses_whateverItSendsMeanwhile() throws Exception {
    EmbeddedChannel channel = connect();
    String request = get("/healthz");
    for (int second = 0; second < 10; second++) {
      send(channel, request.substring(second, second + 1));
      channel.advanceTimeBy(1, TimeUnit.SECONDS);
      channel.runScheduledPendingTasks();
    }

    List<Response> responses = responses(channel, false);
    assertThat(responses).extracting(Response::status).containsExactly(408);
    assertThat(responses.get(0).json().get("message").asText()).contains("expected");
    assertThat(channel.isOpen()).isFalse();
  }

  @Test
  void keepAlive_theNextHeadHasTheRequestTimeoutFromItsFirstByte() throws Exception {
    EmbeddedChannel channel = connect();
    send(channel, get("/healthz"));
    assertThat(responses(channel, false)).hasSize(1);
    channel.advanceTimeBy(60, TimeUnit.SECONDS); // idle, under the idle timeout
    channel.runScheduledPendingTasks();
    send(channel, "GET /hea");
    channel.advanceTimeBy(9, TimeUnit.SECONDS);
    channel.runScheduledPendingTasks();
    assertThat(channel.isOpen()).isTrue();

    channel.advanceTimeBy(1, TimeUnit.SECONDS);
    channel.runScheduledPendingTasks();
    assertThat(responses(channel, false)).extracting(Response::status).containsExactly(408);
    assertThat(channel.isOpen()).isFalse();
  }

  @Test
  void badRequestLine_400_andTheConnectionCloses() throws Exception {
    EmbeddedChannel channel = connect();
    send(channel, "GET\r\n\r\n");
    Response response = responses(channel, false).get(0);
    assertThat(response.status()).isEqualTo(400);
    assertThat(response.json().get("message").asText()).contains("malformed HTTP request").contains("expected");
    assertThat(channel.isOpen()).isFalse();
  }

  @Test
  void tooLongRequestLine_414() throws Exception {
    Response response = getResponse("/v1/health/" + "a".repeat(HttpFrontEnd.MAX_INITIAL_LINE_BYTES));
    assertThat(response.status()).isEqualTo(414);
    assertThat(response.json().get("message").asText()).contains("request line too long").contains("at most 4096");
  }

  @Test
  void tooLargeHeaders_431() throws Exception {
    Response response = exchange("GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Big: "
        + "b".repeat(HttpFrontEnd.MAX_HEADER_BYTES) + "\r\n\r\n");
    assertThat(response.status()).isEqualTo(431);
    assertThat(response.json().get("message").asText()).contains("headers too large");
  }

  @Test
  void body_tooLarge_413() throws Exception {
    Response response = exchange("POST /v1/health HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100000\r\n\r\n"
        + "x".repeat(9000));
    assertThat(response.status()).isEqualTo(413);
    assertThat(response.json().get("message").asText()).contains("expected: no body");
  }

  @Test
  void wrongMethod_405WithAllow() throws Exception {
    Response response = exchange("DELETE /v1/health/web HTTP/1.1\r\nHost: localhost\r\n\r\n");
    assertThat(response.status()).isEqualTo(405);
    assertThat(response.header("allow")).isEqualTo("GET, HEAD");
    Response compat = exchange("POST /container-healthcheck/health HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n");
    assertThat(compat.status()).isEqualTo(405);
    assertThat(compat.json().get("status").asText()).as("the compat error shape").isEqualTo("error");
  }

  // ---------------------------------------------------------------------------------------------
  // The connection cap (3 here).

  @Test
  void overTheCap_theOldestSilentConnectionMakesRoom_andTheNewcomerIsAnswered() throws Exception {
    EmbeddedChannel silent = connect();
    EmbeddedChannel idle = connect();
    send(idle, get("/healthz"));
    responses(idle, false);
    EmbeddedChannel polling = connect();
    send(polling, get("/v1/health?since=" + registry.current().version() + "&wait=2m"));

    EmbeddedChannel newcomer = connect();
    silent.runPendingTasks();
    assertThat(silent.isOpen()).as("never sent a request").isFalse();
    send(newcomer, get("/v1/containers"));
    assertThat(responses(newcomer, false)).extracting(Response::status).containsExactly(200);

    EmbeddedChannel second = connect();
    idle.runPendingTasks();
    assertThat(idle.isOpen()).as("idle keep-alive, next in line").isFalse();

    // With the others answering requests, only the long-poll is left to give way.
    List.of(newcomer, second).forEach(c -> ConnectionCap.slotOf(c).orElseThrow().enter(ConnectionCap.State.BUSY));
    connect();
    polling.runPendingTasks();
    List<Response> answered = responses(polling, false);
    assertThat(answered).extracting(Response::status).as("a long-poll, last: answered first").containsExactly(304);
    assertThat(answered.get(0).header("connection")).isEqualTo("close");
    assertThat(polling.isOpen()).isFalse();
    assertThat(second.isOpen()).isTrue();
    assertThat(metrics()).contains("dockhealth_connections_reclaimed_total{listener=\"http\"} 3.0");
  }

  @Test
  void overTheCap_everySlotBusy_503AndClosedUnread() throws Exception {
    List<EmbeddedChannel> busy = List.of(connect(), connect(), connect());
    busy.forEach(channel -> ConnectionCap.slotOf(channel).orElseThrow().enter(ConnectionCap.State.BUSY));

    EmbeddedChannel over = connect();

    Response response = responses(over, false).get(0);
    assertThat(response.status()).isEqualTo(503);
    assertThat(response.json().get("message").asText()).contains("too many connections").contains("--http-max-connections");
    assertThat(over.isOpen()).isFalse();
    assertThat(busy).allMatch(EmbeddedChannel::isOpen);
    assertThat(metrics()).contains("dockhealth_connections_refused_total{listener=\"http\"} 1.0");
  }

  private String metrics() {
    return new String(metrics.scrape(), StandardCharsets.UTF_8);
  }

  // ---------------------------------------------------------------------------------------------
  // Strict HTTP/1.1 and the Host names answered.

  @Test
  void strictParsing_whatRfc9112Refuses_isRefusedAndTheConnectionClosed() throws Exception {
    Map<String, Integer> cases = new LinkedHashMap<>();
    cases.put("GET /healthz HTTP/9.9\r\nHost: localhost\r\n\r\n", 505);
    cases.put("GET /healthz HTTP/2.0\r\nHost: localhost\r\n\r\n", 505);
    cases.put("GET /healthz HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: xchunked\r\n\r\n", 400);
    cases.put("GET /healthz HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 400);
    cases.put("GET /healthz HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", 400);
    cases.put("GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-A: a\r\n b\r\n\r\n", 400);
    cases.put("GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-A: a\r\n\tb\r\n\r\n", 400);
    cases.put("GET /healthz HTTP/1.1\r\nHost: localhost\r\nHost: localhost\r\n\r\n", 400);
    cases.put("GET /healthz HTTP/1.1\r\n\r\n", 400);
    for (Map.Entry<String, Integer> c : cases.entrySet()) {
      EmbeddedChannel channel = connect();
      send(channel, c.getKey());
      List<Response> responses = responses(channel, false);
      assertThat(responses).as(c.getKey()).extracting(Response::status).containsExactly(c.getValue());
      assertThat(responses.get(0).json().get("message").asText()).as(c.getKey()).contains("expected");
      assertThat(channel.isOpen()).as(c.getKey()).isFalse();
      channel.finishAndReleaseAll();
    }
  }

  @Test
  void strictParsing_whatItAllows_isAnswered() throws Exception {
    for (String request : List.of(
        "GET /healthz HTTP/1.0\r\n\r\n",
        "\r\nGET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n",
        "POST /healthz HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: Chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
        "GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-A: a b\r\n\r\n")) {
      EmbeddedChannel channel = connect();
      send(channel, request);
      assertThat(responses(channel, false)).as(request).extracting(Response::status).doesNotContain(400, 505);
      channel.finishAndReleaseAll();
    }
  }

  @Test
  void host_notAllowed_421SayingWhichAre_andAllowedOnesAnswered() throws Exception {
    for (String host : List.of("localhost", "LOCALHOST:4246", "127.0.0.1:80", "[::1]:4246", "[0:0:0:0:0:0:0:1]",
        "sidecar.internal", "sidecar.internal.:4246")) {
      Response response = exchange("GET /healthz HTTP/1.1\r\nHost: " + host + "\r\n\r\n");
      assertThat(response.status()).as(host).isNotEqualTo(421);
    }
    for (String host : List.of("evil.example", "evil.example:4246", "127.0.0.2", "localhost.evil.example", "")) {
      Response response = exchange("GET /healthz HTTP/1.1\r\nHost: " + host + "\r\n\r\n");
      assertThat(response.status()).as(host).isEqualTo(421);
      assertThat(response.json().get("message").asText()).as(host)
          .contains("expected: one of localhost, 127.0.0.1, [::1]").contains("sidecar.internal")
          .contains("--http-allowed-hosts");
    }
    Response compat = exchange("GET /container-healthcheck/health HTTP/1.1\r\nHost: evil.example\r\n\r\n");
    assertThat(compat.status()).isEqualTo(421);
    assertThat(compat.json().get("status").asText()).as("the compat error shape").isEqualTo("error");
  }

  @Test
  void host_star_allowsAny() throws Exception {
    HttpFrontEnd any = frontEnd(Exposure.DEFAULT, new Metrics(), List.of("*"));

    Response response = exchange(any, "GET /healthz HTTP/1.1\r\nHost: evil.example\r\n\r\n");

    assertThat(response.status()).isNotEqualTo(421);
  }

  @Test
  void metrics_countRequestsByRouteTemplateAndCode() throws Exception {
    getResponse("/v1/health/a");
    getResponse("/v1/health/b");
    getResponse("/nope");

    String text = getResponse("/metrics").body();

    assertThat(text).contains("dockhealth_http_requests_total{code=\"404\",route=\"/v1/health/{service}\"} 2.0");
    assertThat(text).contains("dockhealth_http_requests_total{code=\"404\",route=\"unmatched\"} 1.0");
    assertThat(text).doesNotContain("/v1/health/a");
  }
}
