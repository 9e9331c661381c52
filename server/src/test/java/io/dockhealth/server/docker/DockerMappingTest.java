package io.dockhealth.server.docker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.github.dockerjava.api.command.InspectContainerResponse;
import com.google.common.collect.ImmutableMap;
import io.dockhealth.server.model.ContainerRecord;
import io.dockhealth.server.model.ContainerState;
import io.dockhealth.server.model.HealthStatus;
import io.dockhealth.server.testing.ContainerFixtures;
import io.dockhealth.server.model.PortMapping;
import io.dockhealth.server.model.ProbeResult;
import java.io.IOException;
import java.io.InputStream;
import java.time.Instant;
import java.util.Map;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@link DockerMapping#fromInspect} on Docker 20.10 (API 1.41) {@code GET /containers/{id}/json}
 * answers, read by docker-java's own Jackson model from the fixtures in {@code docker/}.
 */
class DockerMappingTest {
  private static final ObjectMapper JSON =
      new ObjectMapper().configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);

  /** The value of the DATABASE_URL variable in running-healthy.json's Config.Env. */
  private static final String ENV_SECRET = "hunter2-secret";

  @Test
  void fromInspect_runningWithHealthcheck_mapsStateHealthAndProbes() throws IOException {
    ContainerRecord container = map(fixture("running-healthy.json"));

    assertThat(container.id()).isEqualTo("3f4e8b2a9c1d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f");
    assertThat(container.shortId()).isEqualTo("3f4e8b2a9c1d");
    assertThat(container.name()).isEqualTo("shop-web-1");
    assertThat(container.image()).isEqualTo("nginx:1.25");
    assertThat(container.command()).isEqualTo("/docker-entrypoint.sh nginx -g daemon off;");
    assertThat(container.created()).isEqualTo(Instant.parse("2024-03-08T06:08:31.402883265Z"));
    assertThat(container.state()).isEqualTo(ContainerState.RUNNING);
    assertThat(container.health()).isEqualTo(HealthStatus.HEALTHY);
    assertThat(container.hasHealthcheck()).isTrue();
    assertThat(container.failingStreak()).isZero();
    assertThat(container.probes()).containsExactly(
        new ProbeResult(Instant.parse("2024-03-08T06:09:07.613394152Z"),
            Instant.parse("2024-03-08T06:09:07.689227339Z"), 0, "  % Total    % Received % Xferd\nok\n"),
        // Docker writes probe times in the daemon's local zone; this one is +01:00.
        new ProbeResult(Instant.parse("2024-03-08T06:09:37.690771049Z"),
            Instant.parse("2024-03-08T06:09:37.760918457Z"), 0, "ok\n"));
    assertThat(container.exitCode()).isZero();
    assertThat(container.oomKilled()).isFalse();
    assertThat(container.startedAt()).contains(Instant.parse("2024-03-08T06:08:37.512044017Z"));
    assertThat(container.finishedAt()).as("Docker's zero time means never").isEmpty();
    assertThat(container.restartCount()).isZero();
    assertThat(container.ports()).containsExactly(new PortMapping(80, "tcp", "", 0));
  }

  @Test
  void fromInspect_failingHealthcheck_mapsUnhealthyStreakAndProbeOutput() throws IOException {
    ObjectNode json = fixture("running-healthy.json");
    ObjectNode health = (ObjectNode) json.at("/State/Health");
    health.put("Status", "unhealthy");
    health.put("FailingStreak", 3);
    ObjectNode lastProbe = (ObjectNode) health.withArray("Log").get(1);
    lastProbe.put("ExitCode", 7);
    lastProbe.put("Output", "curl: (7) Failed to connect to localhost port 80: Connection refused\n");

    ContainerRecord container = map(json);

    assertThat(container.health()).isEqualTo(HealthStatus.UNHEALTHY);
    assertThat(container.failingStreak()).isEqualTo(3);
    assertThat(container.probes()).hasSize(2);
    assertThat(container.probes().get(1).exitCode()).isEqualTo(7);
    assertThat(container.probes().get(1).output())
        .isEqualTo("curl: (7) Failed to connect to localhost port 80: Connection refused\n");
  }

  @Test
  void fromInspect_startingHealthcheckWithEmptyLog_isStartingWithoutProbes() throws IOException {
    ObjectNode json = fixture("running-healthy.json");
    ObjectNode health = (ObjectNode) json.at("/State/Health");
    health.put("Status", "starting");
    health.putArray("Log");

    ContainerRecord container = map(json);

    assertThat(container.health()).isEqualTo(HealthStatus.STARTING);
    assertThat(container.probes()).isEmpty();
  }

  @Test
  void fromInspect_withEnv_keepsLabelsOnlyInLabelsAndNeverTheEnv() throws IOException {
    ObjectNode json = fixture("running-healthy.json");
    assertThat(json.at("/Config/Env").toString()).as("the fixture carries a secret").contains(ENV_SECRET);

    ContainerRecord container = map(json);

    assertThat(container.labels()).isEqualTo(ImmutableMap.of(
        "com.docker.compose.config-hash", "0b5f5a3e8f0c7d1b2a4e6f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4",
        "com.docker.compose.container-number", "1",
        "com.docker.compose.oneoff", "False",
        "com.docker.compose.project", "shop",
        "com.docker.compose.service", "web",
        "com.docker.compose.version", "2.24.6",
        "maintainer", "NGINX Docker Maintainers <docker-maint@nginx.com>"));
    assertThat(container.toString()).doesNotContain(ENV_SECRET).doesNotContain("DATABASE_URL");
    // The same record without its labels shows no trace of them: no other field copied them.
    String withoutLabels = ContainerFixtures.withLabels(container, ImmutableMap.of()).toString();
    for (Map.Entry<String, String> label : container.labels().entrySet()) {
      assertThat(withoutLabels).doesNotContain(label.getKey());
    }
    assertThat(withoutLabels).doesNotContain("docker-maint@nginx.com").doesNotContain("0b5f5a3e8f0c");
  }

  @Test
  void fromInspect_withoutHealthcheckWithPorts_isNoneAndListsPublishedAndUnpublishedPorts() throws IOException {
    ContainerRecord container = map(fixture("running-ports.json"));

    assertThat(container.name()).isEqualTo("prometheus");
    assertThat(container.image()).isEqualTo("prom/prometheus:v2.50.1");
    assertThat(container.command())
        .isEqualTo("/bin/prometheus --config.file=/etc/prometheus/prometheus.yml --storage.tsdb.path=/prometheus");
    assertThat(container.state()).isEqualTo(ContainerState.RUNNING);
    assertThat(container.health()).isEqualTo(HealthStatus.NONE);
    assertThat(container.hasHealthcheck()).isFalse();
    assertThat(container.failingStreak()).isZero();
    assertThat(container.probes()).isEmpty();
    assertThat(container.ports()).containsExactly(
        new PortMapping(9090, "tcp", "127.0.0.1", 8080),
        new PortMapping(9091, "udp", "", 0));
    assertThat(container.labels()).containsOnlyKeys("maintainer", "org.opencontainers.image.source");
  }

  @Test
  void fromInspect_portPublishedOnIpv4AndIpv6_givesOneMappingPerBindingInOrder() throws IOException {
    ObjectNode json = fixture("running-ports.json");
    ArrayNode bindings = ((ObjectNode) json.at("/NetworkSettings/Ports")).putArray("9090/tcp");
    bindings.addObject().put("HostIp", "::").put("HostPort", "9090");
    bindings.addObject().put("HostIp", "0.0.0.0").put("HostPort", "9090");

    ContainerRecord container = map(json);

    assertThat(container.ports()).containsExactly(
        new PortMapping(9090, "tcp", "0.0.0.0", 9090),
        new PortMapping(9090, "tcp", "::", 9090),
        new PortMapping(9091, "udp", "", 0));
  }

  @Test
  void fromInspect_exitedOomKilled_mapsExitCodeOomAndFinishTime() throws IOException {
    ContainerRecord container = map(fixture("exited-oom.json"));

    assertThat(container.name()).isEqualTo("batch-worker");
    assertThat(container.image()).isEqualTo("registry.example.com/batch/worker:2024.03.1");
    assertThat(container.command()).isEqualTo("java -Xmx256m -jar /app/worker.jar");
    assertThat(container.state()).isEqualTo(ContainerState.EXITED);
    assertThat(container.health()).isEqualTo(HealthStatus.NONE);
    assertThat(container.exitCode()).isEqualTo(137);
    assertThat(container.oomKilled()).isTrue();
    assertThat(container.startedAt()).contains(Instant.parse("2024-03-08T05:59:58.237700952Z"));
    assertThat(container.finishedAt()).contains(Instant.parse("2024-03-08T06:02:14.990126443Z"));
    assertThat(container.restartCount()).isEqualTo(3);
    assertThat(container.ports()).isEmpty();
    assertThat(container.labels()).isEmpty();
  }

  @Test
  void fromInspect_createdNeverStarted_hasNoStartOrFinishTime() throws IOException {
    ContainerRecord container = map(fixture("created.json"));

    assertThat(container.name()).isEqualTo("cache");
    assertThat(container.command()).isEqualTo("docker-entrypoint.sh redis-server");
    assertThat(container.state()).isEqualTo(ContainerState.CREATED);
    assertThat(container.health()).isEqualTo(HealthStatus.NONE);
    assertThat(container.exitCode()).isZero();
    assertThat(container.oomKilled()).isFalse();
    assertThat(container.startedAt()).isEmpty();
    assertThat(container.finishedAt()).isEmpty();
    // Config.ExposedPorts is not NetworkSettings.Ports: a container that never ran has no ports yet.
    assertThat(container.ports()).isEmpty();
  }

  @Test
  void fromInspect_unknownStatus_isUnknownState() throws IOException {
    ObjectNode json = fixture("running-ports.json");
    ((ObjectNode) json.get("State")).put("Status", "weird");

    assertThat(map(json).state()).isEqualTo(ContainerState.UNKNOWN);
  }

  @Test
  void fromInspect_unknownHealthStatus_isUnknownHealth() throws IOException {
    ObjectNode json = fixture("running-healthy.json");
    ((ObjectNode) json.at("/State/Health")).put("Status", "dizzy");

    assertThat(map(json).health()).isEqualTo(HealthStatus.UNKNOWN);
  }

  @ParameterizedTest
  @ValueSource(strings = {
    "3f4e8b2a9c1d", // a short ID
    "3F4E8B2A9C1D7E6F5A4B3C2D1E0F9A8B7C6D5E4F3A2B1C0D9E8F7A6B5C4D3E2F", // upper case
    "3f4e8b2a9c1d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2g", // not hex
    "",
  })
  void fromInspect_badId_isRejectedNamingId(String id) throws IOException {
    assertRejected(json -> json.put("Id", id), "Id \"" + id + "\"", "expected");
  }

  @Test
  void fromInspect_missingId_isRejectedNamingId() throws IOException {
    assertRejected(json -> json.remove("Id"), "Id null", "expected");
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "/"})
  void fromInspect_emptyName_isRejectedNamingName(String name) throws IOException {
    assertRejected(json -> json.put("Name", name), "Name", "expected");
  }

  @Test
  void fromInspect_missingName_isRejectedNamingName() throws IOException {
    assertRejected(json -> json.remove("Name"), "Name", "expected");
  }

  @Test
  void fromInspect_missingState_isRejectedNamingState() throws IOException {
    assertRejected(json -> json.remove("State"), "shop-web-1", "State", "expected");
  }

  @Test
  void fromInspect_unparseableStartedAt_isRejectedNamingTheField() throws IOException {
    assertRejected(json -> ((ObjectNode) json.get("State")).put("StartedAt", "yesterday"),
        "shop-web-1", "State.StartedAt", "\"yesterday\"", "expected");
  }

  @Test
  void fromInspect_finishedAtWithoutZone_isRejectedNamingTheField() throws IOException {
    assertRejected(json -> ((ObjectNode) json.get("State")).put("FinishedAt", "2024-03-08 06:02:14"),
        "State.FinishedAt", "\"2024-03-08 06:02:14\"", "expected");
  }

  @Test
  void fromInspect_unparseableCreated_isRejectedNamingTheField() throws IOException {
    assertRejected(json -> json.put("Created", "1709878111"), "Created", "\"1709878111\"", "expected");
  }

  @Test
  void fromInspect_missingCreated_isRejectedNamingTheField() throws IOException {
    assertRejected(json -> json.remove("Created"), "Created", "missing", "expected");
  }

  @Test
  void fromInspect_unparseableProbeStart_isRejectedNamingTheField() throws IOException {
    assertRejected(json -> ((ObjectNode) json.at("/State/Health/Log/0")).put("Start", "soon"),
        "State.Health.Log.Start", "\"soon\"", "expected");
  }

  @Test
  void fromInspect_nonNumericHostPort_isRejectedNamingTheField() throws IOException {
    assertRejected(json -> ((ObjectNode) json.at("/NetworkSettings/Ports")).putArray("80/tcp")
            .addObject().put("HostIp", "127.0.0.1").put("HostPort", "http"),
        "HostPort", "\"http\"", "expected");
  }

  @Test
  void parseTime_nullEmptyOrDockerZeroTime_isEmpty() {
    assertThat(DockerMapping.parseTime(null, "c", "State.StartedAt")).isEmpty();
    assertThat(DockerMapping.parseTime("", "c", "State.StartedAt")).isEmpty();
    assertThat(DockerMapping.parseTime("0001-01-01T00:00:00Z", "c", "State.StartedAt")).isEmpty();
  }

  @Test
  void parseTime_rfc3339_keepsNanosecondsAndOffset() {
    assertThat(DockerMapping.parseTime("2024-03-08T06:08:37.512044017Z", "c", "f"))
        .contains(Instant.ofEpochSecond(1709878117L, 512_044_017));
    assertThat(DockerMapping.parseTime("2024-03-08T07:08:37.5+01:00", "c", "f"))
        .contains(Instant.parse("2024-03-08T06:08:37.500Z"));
    assertThat(DockerMapping.parseTime("2024-03-08T06:08:37Z", "c", "f"))
        .contains(Instant.parse("2024-03-08T06:08:37Z"));
  }

  @ParameterizedTest
  @ValueSource(strings = {"yesterday", "2024-03-08T06:08:37", "2024-03-08", "1709878117", "2024-13-08T06:08:37Z"})
  void parseTime_notRfc3339_throwsNamingContainerFieldAndValue(String timestamp) {
    assertThatThrownBy(() -> DockerMapping.parseTime(timestamp, "web", "State.FinishedAt"))
        .isInstanceOf(DockerAnswerException.class)
        .hasMessageContaining("container web")
        .hasMessageContaining("State.FinishedAt")
        .hasMessageContaining("\"" + timestamp + "\"")
        .hasMessageContaining("expected");
  }

  @Test
  void fromInspect_createdWithAHealthcheckNotYetRun_isStarting() throws IOException {
    // Docker makes State.Health only at the first start; the configuration says a check will run.
    ObjectNode json = fixture("created.json");
    ((ObjectNode) json.get("Config")).putObject("Healthcheck").putArray("Test").add("CMD-SHELL").add("test -f /tmp/ok");
    ObjectNode disabled = fixture("created.json");
    ((ObjectNode) disabled.get("Config")).putObject("Healthcheck").putArray("Test").add("NONE");

    ContainerRecord container = map(json);

    assertThat(container.health()).isEqualTo(HealthStatus.STARTING);
    assertThat(container.hasHealthcheck()).isTrue();
    assertThat(map(disabled).health()).isEqualTo(HealthStatus.NONE);
    // So the start event alone leads to "starting", never to a moment of SERVING.
    assertThat(EventUpdates.apply(container, "start", java.util.Map.of(), java.time.Instant.EPOCH).orElseThrow().health())
        .isEqualTo(HealthStatus.STARTING);
  }

  private static void assertRejected(Consumer<ObjectNode> breakIt, String... messageParts) throws IOException {
    ObjectNode json = fixture("running-healthy.json");
    breakIt.accept(json);
    InspectContainerResponse inspect = inspect(json);
    assertThatThrownBy(() -> DockerMapping.fromInspect(inspect))
        .isInstanceOf(DockerAnswerException.class)
        .satisfies(e -> assertThat(e.getMessage()).contains(messageParts));
  }

  private static ObjectNode fixture(String name) throws IOException {
    try (InputStream in = DockerMappingTest.class.getResourceAsStream("/docker/" + name)) {
      assertThat(in).as("test resource docker/%s", name).isNotNull();
      return (ObjectNode) JSON.readTree(in);
    }
  }

  private static InspectContainerResponse inspect(JsonNode json) throws IOException {
    return JSON.treeToValue(json, InspectContainerResponse.class);
  }

  private static ContainerRecord map(JsonNode json) throws IOException {
    return DockerMapping.fromInspect(inspect(json));
  }

}
