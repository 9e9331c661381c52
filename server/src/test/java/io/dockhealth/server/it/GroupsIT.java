package io.dockhealth.server.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.dockhealth.proto.health.v1.HealthCheckRequest;
import io.dockhealth.proto.health.v1.HealthGrpc;
import io.dockhealth.proto.health.v1.HealthListRequest;
import io.dockhealth.proto.v1.ContainerHealthGrpc;
import io.dockhealth.proto.v1.GetServiceRequest;
import io.dockhealth.proto.v1.GroupPolicy;
import io.dockhealth.proto.v1.ListContainersRequest;
import io.dockhealth.proto.v1.MembershipRule;
import io.dockhealth.proto.v1.Service;
import io.dockhealth.proto.v1.ServiceMember;
import io.dockhealth.server.Main;
import io.dockhealth.server.Sidecar;
import io.dockhealth.testing.DockerEngine;
import io.dockhealth.testing.HealthClient;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Service groups, failure semantics and Envoy-style naming against a real engine. */
class GroupsIT {
  private static final Duration WITHIN = Duration.ofSeconds(10);

  private DockerEngine engine;
  private final List<Sidecar> sidecars = new ArrayList<>();
  private final List<HealthClient> clients = new ArrayList<>();

  @BeforeEach
  void startEngine() {
    // --live-restore: containers keep running while the daemon is down, as on a host whose
    // Docker is being upgraded; only then does "Docker unreachable" leave live containers behind.
    engine = DockerEngine.start("groups-it", "--live-restore");
  }

  @AfterEach
  void stopAll() throws Exception {
    for (HealthClient client : clients) {
      client.close();
    }
    sidecars.forEach(Sidecar::stop);
    engine.close();
  }

  private HealthClient sidecar(String... flags) {
    List<String> args = new ArrayList<>(List.of("--grpc-address=127.0.0.1:0", "--http-address=127.0.0.1:0", "--docker-host=" + engine.host(),
        "--drain-period=0s"));
    args.addAll(List.of(flags));
    Sidecar sidecar = Sidecar.start(Main.parseConfig(args.toArray(String[]::new)));
    sidecars.add(sidecar);
    HealthClient client = new HealthClient(sidecar.grpcAddress());
    clients.add(client);
    await().atMost(WITHIN).until(() -> client.check("").equals("SERVING"));
    return client;
  }

  private String run(String name, String... options) {
    List<String> args = new ArrayList<>(List.of("run", "-d", "--name", name, "--network", "host"));
    args.addAll(List.of(options));
    args.addAll(List.of(DockerEngine.IMAGE, "sleep", "600"));
    return engine.docker(args.toArray(String[]::new));
  }

  private static String[] checked(String... labels) {
    List<String> args = new ArrayList<>(List.of("--health-cmd", "test -f /tmp/ok", "--health-interval", "1s",
        "--health-retries", "1"));
    for (String label : labels) {
      args.addAll(List.of("--label", label));
    }
    return args.toArray(String[]::new);
  }

  private void healthy(String container, boolean healthy) {
    if (healthy) {
      engine.docker("exec", container, "touch", "/tmp/ok");
    } else {
      engine.docker("exec", container, "rm", "-f", "/tmp/ok");
    }
  }

  private static Service service(HealthClient client, String name) {
    return ContainerHealthGrpc.newBlockingStub(client.channel()).withDeadlineAfter(5, TimeUnit.SECONDS)
        .getService(GetServiceRequest.newBuilder().setName(name).build());
  }

  private static List<String> members(Service service, MembershipRule rule) {
    return service.getMembersList().stream().filter(m -> m.getRule() == rule)
        .map(ServiceMember::getContainerName).sorted().toList();
  }

  @Test
  void labelsAndNames_formTheRightGroups_andAnyAndAllFollowTheMembers() {
    HealthClient client = sidecar();
    run("shop-web-1", checked("com.docker.compose.project=shop", "com.docker.compose.service=web"));
    run("shop-web-2", checked("com.docker.compose.project=shop", "com.docker.compose.service=web"));
    run("nginx.1.x7k2", "--label", "com.docker.swarm.service.name=nginx");
    run("api-blue", checked("dockhealth.service=api", "dockhealth.policy=all"));
    run("api-green", checked("dockhealth.service=api"));
    run("bk_iam-1709878117");
    await().atMost(WITHIN).until(() -> client.check("bk_iam").equals("SERVING"));

    assertThat(members(service(client, "web"), MembershipRule.MEMBERSHIP_RULE_COMPOSE_SERVICE))
        .containsExactly("shop-web-1", "shop-web-2");
    assertThat(members(service(client, "shop/web"), MembershipRule.MEMBERSHIP_RULE_COMPOSE_PROJECT_SERVICE))
        .containsExactly("shop-web-1", "shop-web-2");
    assertThat(members(service(client, "shop-web"), MembershipRule.MEMBERSHIP_RULE_NAME_PATTERN))
        .containsExactly("shop-web-1", "shop-web-2");
    assertThat(members(service(client, "nginx"), MembershipRule.MEMBERSHIP_RULE_SWARM_SERVICE))
        .containsExactly("nginx.1.x7k2");
    assertThat(members(service(client, "api"), MembershipRule.MEMBERSHIP_RULE_LABEL))
        .containsExactly("api-blue", "api-green");
    assertThat(members(service(client, "bk_iam"), MembershipRule.MEMBERSHIP_RULE_NAME_PATTERN))
        .containsExactly("bk_iam-1709878117");
    assertThat(service(client, "web").getPolicy()).isEqualTo(GroupPolicy.GROUP_POLICY_ANY);
    assertThat(service(client, "api").getPolicy()).isEqualTo(GroupPolicy.GROUP_POLICY_ALL);

    // any: one healthy member is enough.
    HealthClient.Watch web = client.watch("web");
    assertThat(client.check("web")).isEqualTo("NOT_SERVING");
    healthy("shop-web-1", true);
    await().atMost(WITHIN).until(() -> client.check("web").equals("SERVING"));
    healthy("shop-web-2", true);
    await().atMost(WITHIN).until(() -> service(client, "web").getMembersList().stream()
        .allMatch(m -> m.getServingStatus().name().equals("SERVING")));
    healthy("shop-web-1", false);
    await().atMost(WITHIN).until(() -> service(client, "web").getMembersList().stream()
        .anyMatch(m -> m.getServingStatus().name().equals("NOT_SERVING")));
    assertThat(client.check("web")).isEqualTo("SERVING");
    healthy("shop-web-2", false);
    await().atMost(WITHIN).until(() -> client.check("web").equals("NOT_SERVING"));
    // Watch messages travel apart from Check answers.
    await().atMost(WITHIN).untilAsserted(() ->
        assertThat(web.statuses()).containsExactly("NOT_SERVING", "SERVING", "NOT_SERVING"));

    // all (asked by api-blue's label): every member must be healthy.
    healthy("api-blue", true);
    await().atMost(WITHIN).until(() -> client.check("api-blue").equals("SERVING"));
    assertThat(client.check("api")).isEqualTo("NOT_SERVING");
    healthy("api-green", true);
    await().atMost(WITHIN).until(() -> client.check("api").equals("SERVING"));
    healthy("api-green", false);
    await().atMost(WITHIN).until(() -> client.check("api").equals("NOT_SERVING"));
  }

  @Test
  void redeploy_groupsOnlyContainerRemovedAndRecreated_neverNotFound() {
    HealthClient client = sidecar();
    run("bk_iam-1709878117");
    await().atMost(WITHIN).until(() -> client.check("bk_iam").equals("SERVING"));
    HealthClient.Watch watch = client.watch("bk_iam");

    engine.docker("rm", "-f", "bk_iam-1709878117");
    await().atMost(WITHIN).until(() -> client.check("bk_iam").equals("NOT_SERVING"));
    assertThat(client.container("bk_iam-1709878117").getRemoved()).isTrue();
    run("bk_iam-1709879999");
    await().atMost(WITHIN).until(() -> client.check("bk_iam").equals("SERVING"));

    await().atMost(WITHIN).untilAsserted(() ->
        assertThat(watch.statuses()).containsExactly("SERVING", "NOT_SERVING", "SERVING"));
  }

  @Test
  void dockerDown_shorterThanStaleGrace_keepsStatuses_longer_turnsThemNotServing() {
    HealthClient client = sidecar("--stale-grace=8s");
    run("web-1");
    await().atMost(WITHIN).until(() -> client.check("web-1").equals("SERVING"));
    HealthClient.Watch web = client.watch("web-1");
    HealthClient.Watch self = client.watch("");

    // Shorter: the daemon goes and comes back; web-1 never stops serving.
    engine.stop();
    await().atMost(WITHIN).until(() -> client.check("").equals("NOT_SERVING"));
    assertThat(client.check("web-1")).isEqualTo("SERVING");
    assertThat(client.container("web-1").getStale()).isTrue();
    engine.restart();
    await().atMost(WITHIN).until(() -> client.check("").equals("SERVING"));
    assertThat(client.container("web-1").getStale()).isFalse();
    assertThat(web.statuses()).containsExactly("SERVING");

    // Longer: after the grace, the last known status is no longer trusted.
    engine.stop();
    await().atMost(WITHIN).until(() -> client.check("").equals("NOT_SERVING"));
    assertThat(client.check("web-1")).isEqualTo("SERVING");
    await().atLeast(Duration.ofSeconds(4)).atMost(Duration.ofSeconds(20))
        .until(() -> client.check("web-1").equals("NOT_SERVING"));
    assertThat(client.container("web-1").getStale()).isTrue();
    engine.restart();
    await().atMost(WITHIN).until(() -> client.check("web-1").equals("SERVING"));
    // Watch messages travel apart from Check answers ("" may turn SERVING in a later snapshot).
    await().atMost(WITHIN).untilAsserted(() -> {
      assertThat(web.statuses()).containsExactly("SERVING", "NOT_SERVING", "SERVING");
      assertThat(self.statuses()).containsExactly("SERVING", "NOT_SERVING", "SERVING", "NOT_SERVING", "SERVING");
    });
  }

  @Test
  void exposeLabeled_hidesUnlabelledContainersOnEveryInterface() {
    HealthClient client = sidecar("--expose=labeled");
    String hiddenId = run("hidden-1", "--label", "dockhealth.service=secret");
    run("shown-1", "--label", "dockhealth.enable=true");
    await().atMost(WITHIN).until(() -> client.check("shown-1").equals("SERVING"));
    HealthClient.Watch watch = client.watch("hidden-1");

    for (String name : List.of("hidden-1", hiddenId, hiddenId.substring(0, 12), "secret", "hidden")) {
      assertThat(client.check(name)).as(name).isEqualTo("NOT_FOUND");
    }
    assertThat(HealthGrpc.newBlockingStub(client.channel()).withDeadlineAfter(5, TimeUnit.SECONDS)
        .list(HealthListRequest.getDefaultInstance()).getStatusesMap())
        .containsKeys("shown-1", "shown").doesNotContainKeys("hidden-1", "secret", "hidden");
    assertThat(ContainerHealthGrpc.newBlockingStub(client.channel()).withDeadlineAfter(5, TimeUnit.SECONDS)
        .listContainers(ListContainersRequest.getDefaultInstance()).toString())
        .contains("shown-1").doesNotContain("hidden").doesNotContain(hiddenId);
    assertThatNotFound(() -> client.container("hidden-1"));
    assertThatNotFound(() -> service(client, "secret"));
    engine.docker("stop", "hidden-1");
    engine.docker("stop", "shown-1");
    await().atMost(WITHIN).until(() -> client.check("shown-1").equals("NOT_SERVING"));
    assertThat(watch.statuses()).containsExactly("SERVICE_UNKNOWN");
  }

  private static void assertThatNotFound(Runnable call) {
    try {
      call.run();
      throw new AssertionError("expected NOT_FOUND");
    } catch (StatusRuntimeException e) {
      assertThat(e.getStatus().getCode().name()).isEqualTo("NOT_FOUND");
    }
  }

  @Test
  void serviceFromAuthority_emptyNameWithAServiceAuthority_answersForThatService() throws Exception {
    HealthClient client = sidecar("--service-from-authority");
    run("web-1", checked());
    await().atMost(WITHIN).until(() -> client.check("web-1").equals("NOT_SERVING"));
    ManagedChannel asWeb = NettyChannelBuilder.forAddress(sidecars.get(0).grpcAddress()).usePlaintext()
        .overrideAuthority("web:8080").build();
    ManagedChannel asUnknown = NettyChannelBuilder.forAddress(sidecars.get(0).grpcAddress()).usePlaintext()
        .overrideAuthority("app.example.com").build();
    try {
      // "" over the normal authority (127.0.0.1:port) is the sidecar, which is SERVING.
      assertThat(client.check("")).isEqualTo("SERVING");
      assertThat(checkEmpty(asWeb)).isEqualTo("NOT_SERVING"); // the group "web", as Envoy would ask
      assertThat(checkEmpty(asUnknown)).isEqualTo("SERVING"); // not a service: still the sidecar
      healthy("web-1", true);
      await().atMost(WITHIN).until(() -> checkEmpty(asWeb).equals("SERVING"));
      // A named service is never overridden by the authority.
      assertThat(HealthGrpc.newBlockingStub(asWeb).withDeadlineAfter(5, TimeUnit.SECONDS)
          .check(HealthCheckRequest.newBuilder().setService("web-1").build()).getStatus().name()).isEqualTo("SERVING");
    } finally {
      asWeb.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      asUnknown.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  private static String checkEmpty(ManagedChannel channel) {
    return HealthGrpc.newBlockingStub(channel).withDeadlineAfter(5, TimeUnit.SECONDS)
        .check(HealthCheckRequest.getDefaultInstance()).getStatus().name();
  }
}
