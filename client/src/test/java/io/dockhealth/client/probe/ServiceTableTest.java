package io.dockhealth.client.probe;

import static org.assertj.core.api.Assertions.assertThat;

import io.dockhealth.proto.health.v1.HealthCheckResponse.ServingStatus;
import io.dockhealth.proto.v1.Container;
import io.dockhealth.proto.v1.HealthStatus;
import io.dockhealth.proto.v1.ListContainersResponse;
import io.dockhealth.proto.v1.ListServicesResponse;
import io.dockhealth.proto.v1.MembershipRule;
import io.dockhealth.proto.v1.ProbeResult;
import io.dockhealth.proto.v1.Service;
import io.dockhealth.proto.v1.ServiceMember;
import io.dockhealth.proto.v1.State;
import org.junit.jupiter.api.Test;

class ServiceTableTest {
  private static final String ID1 = "1".repeat(64);
  private static final String ID2 = "2".repeat(64);

  private static final ListContainersResponse CONTAINERS = ListContainersResponse.newBuilder()
      .addContainers(Container.newBuilder().setId(ID1).addNames("shop-1").setState(State.STATE_RUNNING)
          .setHealth(HealthStatus.HEALTH_HEALTHY)
          .addProbes(ProbeResult.newBuilder().setOutput("old"))
          .addProbes(ProbeResult.newBuilder().setOutput("  ok\n")))
      .addContainers(Container.newBuilder().setId(ID2).addNames("shop-2").setState(State.STATE_EXITED)
          .setHealth(HealthStatus.HEALTH_UNHEALTHY).setFailingStreak(3)
          .addProbes(ProbeResult.newBuilder().setOutput("curl: (7) Failed to connect\nto localhost port 80: "
              + "Connection refused after a long while of trying hard")))
      .build();

  private static Service service(String name, ServingStatus status, String id, String container, MembershipRule rule) {
    return Service.newBuilder().setName(name).setStatus(status)
        .addMembers(ServiceMember.newBuilder().setContainerId(id).setContainerName(container).setRule(rule))
        .build();
  }

  private static final ListServicesResponse SERVICES = ListServicesResponse.newBuilder()
      .addServices(Service.newBuilder().setName("").setStatus(ServingStatus.SERVING))
      .addServices(service("111111111111", ServingStatus.SERVING, ID1, "shop-1", MembershipRule.MEMBERSHIP_RULE_SHORT_ID))
      .addServices(Service.newBuilder().setName("shop").setStatus(ServingStatus.SERVING).setStale(true)
          .addMembers(ServiceMember.newBuilder().setContainerId(ID1).setContainerName("shop-1")
              .setRule(MembershipRule.MEMBERSHIP_RULE_COMPOSE_SERVICE))
          .addMembers(ServiceMember.newBuilder().setContainerId(ID2).setContainerName("shop-2")
              .setRule(MembershipRule.MEMBERSHIP_RULE_COMPOSE_SERVICE)))
      .addServices(service("shop-2", ServingStatus.NOT_SERVING, ID2, "shop-2", MembershipRule.MEMBERSHIP_RULE_CONTAINER_NAME))
      .addServices(service("gone", ServingStatus.NOT_SERVING, "3".repeat(64), "gone", MembershipRule.MEMBERSHIP_RULE_CONTAINER_NAME))
      .build();

  @Test
  void render_oneRowPerNameAndMember_idsLeftOut() {
    assertThat(ServiceTable.render(SERVICES, CONTAINERS, false)).containsExactly(
        "NAME    STATUS           MEMBER  STATE    HEALTH     STREAK  LAST PROBE",
        "\"\"      SERVING",
        "shop    SERVING (stale)  shop-1  running  healthy    0       ok",
        "                         shop-2  exited   unhealthy  3       curl: (7) Failed to connect to localhost port 80: Connect...",
        "shop-2  NOT_SERVING      shop-2  exited   unhealthy  3       curl: (7) Failed to connect to localhost port 80: Connect...",
        "gone    NOT_SERVING      gone    -        -          -       -");
  }

  @Test
  void render_all_includesTheIdNames() {
    assertThat(ServiceTable.render(SERVICES, CONTAINERS, true)).anySatisfy(
        line -> assertThat(line).startsWith("111111111111  SERVING"));
  }

  @Test
  void json_bothListsEvenWhenEmpty() {
    String json = ListCommand.json(ListServicesResponse.newBuilder().setVersion(7).setInSync(true).build(),
        ListContainersResponse.getDefaultInstance());
    assertThat(json.replaceAll("\\s", "")).isEqualTo("{\"version\":\"7\",\"inSync\":true,\"services\":[],\"containers\":[]}");
  }
}
