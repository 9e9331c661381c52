package io.dockhealth.server.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.dockhealth.proto.v1.Container;
import io.dockhealth.proto.v1.ContainerHealthGrpc;
import io.dockhealth.proto.v1.GetContainerRequest;
import io.dockhealth.proto.v1.ListContainersRequest;
import io.dockhealth.proto.v1.ListServicesRequest;
import io.dockhealth.proto.v1.WatchContainersRequest;
import io.dockhealth.proto.v1.WatchContainersResponse;
import io.dockhealth.proto.health.v1.HealthGrpc;
import io.dockhealth.proto.health.v1.HealthListRequest;
import io.dockhealth.server.Main;
import io.dockhealth.server.Sidecar;
import io.dockhealth.testing.DockerEngine;
import io.dockhealth.testing.HealthClient;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.reflection.v1.ServerReflectionRequest;
import io.grpc.reflection.v1.ServerReflectionResponse;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * What clients see beyond health, on sidecars watching a real container whose HEALTHCHECK prints a
 * token: probe output hidden by default and shown when asked, and with --details=health no container
 * detail anywhere (dockhealth.v1, reflection, /v1/containers, the drop-in routes' command line).
 */
class ExposureIT {
  private static final String TOKEN = "s3cret-token"; // nothing proto3 JSON escapes, such as =
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

  private static DockerEngine engine;
  private static Sidecar byDefault;
  private static Sidecar showing;
  private static Sidecar healthOnly;

  @BeforeAll
  static void start() {
    engine = DockerEngine.start("exposure-it");
    engine.docker("run", "-d", "--name", "web", "--network", "host", "--health-cmd", "echo " + TOKEN,
        "--health-interval", "1s", DockerEngine.IMAGE, "sleep", "600");
    byDefault = sidecar();
    showing = sidecar("--probe-output=show");
    healthOnly = sidecar("--details=health");
    try (HealthClient client = new HealthClient(byDefault.grpcAddress())) {
      // A probe has run and the container is healthy: there is output to hide.
      await().atMost(Duration.ofSeconds(30)).ignoreExceptions()
          .until(() -> client.check("web").equals("SERVING") && client.container("web").getProbesCount() > 0);
    } catch (InterruptedException e) {
      throw new IllegalStateException(e);
    }
  }

  private static Sidecar sidecar(String... flags) {
    List<String> args = new java.util.ArrayList<>(List.of("--grpc-address=127.0.0.1:0", "--http-address=127.0.0.1:0",
        "--docker-host=" + engine.host(), "--drain-period=0s"));
    args.addAll(List.of(flags));
    return Sidecar.start(Main.parseConfig(args.toArray(String[]::new)));
  }

  @AfterAll
  static void stop() {
    for (Sidecar sidecar : new Sidecar[] {byDefault, showing, healthOnly}) {
      if (sidecar != null) {
        sidecar.stop();
      }
    }
    if (engine != null) {
      engine.close();
    }
  }

  private static HttpResponse<String> get(Sidecar sidecar, String path) throws Exception {
    return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + sidecar.httpAddress().getPort() + path))
        .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
  }

  private static ManagedChannel channel(Sidecar sidecar) {
    return NettyChannelBuilder.forAddress(sidecar.grpcAddress()).usePlaintext().build();
  }

  private static ContainerHealthGrpc.ContainerHealthBlockingStub containers(ManagedChannel channel) {
    return ContainerHealthGrpc.newBlockingStub(channel).withDeadlineAfter(5, TimeUnit.SECONDS);
  }

  private static WatchContainersResponse firstWatchMessage(ManagedChannel channel) {
    Iterator<WatchContainersResponse> stream = ContainerHealthGrpc.newBlockingStub(channel)
        .withDeadlineAfter(5, TimeUnit.SECONDS).watchContainers(WatchContainersRequest.getDefaultInstance());
    return stream.next();
  }

  @Test
  void byDefault_probeOutputIsEmpty_inBothTransports_theRestOfTheDetailIsShown() throws Exception {
    ManagedChannel channel = channel(byDefault);
    try {
      Container container = containers(channel).getContainer(GetContainerRequest.newBuilder().setName("web").build());
      assertThat(container.getProbesList()).isNotEmpty()
          .allSatisfy(probe -> assertThat(probe.getOutput()).isEmpty());
      assertThat(container.getCommand()).isEqualTo("sleep 600");
      assertThat(containers(channel).listContainers(ListContainersRequest.getDefaultInstance()).toString())
          .doesNotContain(TOKEN);
      assertThat(firstWatchMessage(channel).toString()).doesNotContain(TOKEN);
    } finally {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    HttpResponse<String> web = get(byDefault, "/v1/containers/web");
    assertThat(web.statusCode()).isEqualTo(200);
    assertThat(JSON.readTree(web.body()).get("probes")).isNotEmpty()
        .allSatisfy(probe -> assertThat(probe.get("output").asText()).isEmpty());
    assertThat(get(byDefault, "/v1/containers").body()).doesNotContain(TOKEN).contains("sleep 600");
  }

  @Test
  void probeOutputShow_showsIt_inBothTransports() throws Exception {
    ManagedChannel channel = channel(showing);
    try {
      await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(
          containers(channel).getContainer(GetContainerRequest.newBuilder().setName("web").build()).getProbesList())
          .anySatisfy(probe -> assertThat(probe.getOutput()).isEqualTo(TOKEN + "\n")));
    } finally {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    assertThat(get(showing, "/v1/containers/web").body()).contains(TOKEN);
  }

  @Test
  void detailsHealth_grpc_servesHealthOnly_dockhealthV1IsUnimplementedNamingTheFlag() throws Exception {
    ManagedChannel channel = channel(healthOnly);
    try (HealthClient client = new HealthClient(channel)) {
      assertThat(client.check("web")).isEqualTo("SERVING");
      assertThat(HealthGrpc.newBlockingStub(channel).withDeadlineAfter(5, TimeUnit.SECONDS)
          .list(HealthListRequest.getDefaultInstance()).getStatusesMap()).containsKey("web");
      for (Runnable call : List.<Runnable>of(
          () -> containers(channel).getContainer(GetContainerRequest.newBuilder().setName("web").build()),
          () -> containers(channel).listContainers(ListContainersRequest.getDefaultInstance()),
          () -> containers(channel).listServices(ListServicesRequest.getDefaultInstance()),
          () -> firstWatchMessage(channel))) {
        assertThatThrownBy(call::run).isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
          assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNIMPLEMENTED);
          assertThat(e.getStatus().getDescription()).contains("--details=health").contains("--details=full");
        });
      }
    }
  }

  @Test
  void detailsHealth_reflection_listsOnlyWhatIsServed() throws Exception {
    ManagedChannel channel = channel(healthOnly);
    try {
      assertThat(Reflection.services(channel)).containsExactlyInAnyOrder("grpc.health.v1.Health",
          "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection");
      ServerReflectionResponse symbol = Reflection.ask(channel,
          ServerReflectionRequest.newBuilder().setFileContainingSymbol("dockhealth.v1.ContainerHealth").build());
      assertThat(symbol.getErrorResponse().getErrorCode()).isEqualTo(Status.Code.NOT_FOUND.value());
    } finally {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  @Test
  void detailsHealth_http_healthRoutesAnswer_containerRoutesAre404_compatWithoutCommandLine() throws Exception {
    assertThat(get(healthOnly, "/v1/health/web").statusCode()).isEqualTo(200);
    assertThat(get(healthOnly, "/v1/health").statusCode()).isEqualTo(200);
    assertThat(get(healthOnly, "/healthz").statusCode()).isEqualTo(200);
    assertThat(get(healthOnly, "/metrics").statusCode()).isEqualTo(200);
    for (String path : List.of("/v1/containers", "/v1/containers/web")) {
      HttpResponse<String> refused = get(healthOnly, path);
      assertThat(refused.statusCode()).as(path).isEqualTo(404);
      assertThat(JSON.readTree(refused.body()).get("message").asText()).contains("--details=health");
    }
    HttpResponse<String> compat = get(healthOnly, "/container-healthcheck/apps/health/web");
    assertThat(compat.statusCode()).isEqualTo(200);
    JsonNode message = JSON.readTree(compat.body()).get("message");
    assertThat(message.get("command").asText()).isEmpty();
    assertThat(message.get("names").asText()).isEqualTo("web");
    for (String path : List.of("/v1/health/web", "/v1/health", "/container-healthcheck/apps/health/web")) {
      assertThat(get(healthOnly, path).body()).as(path).doesNotContain(TOKEN).doesNotContain("sleep 600");
    }
  }
}
