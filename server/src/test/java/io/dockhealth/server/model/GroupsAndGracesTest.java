package io.dockhealth.server.model;

import static io.dockhealth.server.testing.ContainerFixtures.container;
import static io.dockhealth.server.testing.ContainerFixtures.running;
import static io.dockhealth.server.testing.ContainerFixtures.withLabels;
import static org.assertj.core.api.Assertions.assertThat;

import io.dockhealth.server.testing.FakeClock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** Service groups, the starting option, the stale and forget graces, and exposure. */
class GroupsAndGracesTest {
  private final FakeClock clock = new FakeClock(Instant.parse("2026-11-23T10:00:00Z"));

  private Registry registry(ServiceRules rules) {
    return new Registry(rules, Duration.ofSeconds(30), Duration.ofSeconds(60), clock, clock);
  }

  private static ContainerRecord unhealthy(String name) {
    return container(name, ContainerState.RUNNING, HealthStatus.UNHEALTHY);
  }

  private static ContainerRecord compose(ContainerRecord container, String project, String service) {
    return withLabels(container, Map.of(ServiceRules.COMPOSE_PROJECT_LABEL, project,
        ServiceRules.COMPOSE_SERVICE_LABEL, service));
  }

  @Test
  void groups_formFromEveryRule_withTheRuleThatMadeEachMember() {
    Registry registry = registry(ServiceRules.defaults());
    ContainerRecord web1 = compose(running("shop-web-1"), "shop", "web");
    ContainerRecord swarm = withLabels(running("nginx.1.k2j3h4"), Map.of(ServiceRules.SWARM_SERVICE_LABEL, "nginx"));
    ContainerRecord ours = withLabels(running("api-blue"), Map.of("dockhealth.service", "api"));
    ContainerRecord timestamped = running("bk_iam-1709878117");

    registry.replaceAll(List.of(web1, swarm, ours, timestamped));

    Snapshot snapshot = registry.current();
    assertThat(snapshot.services().get("web").members()).containsExactly(new Member(web1.id(), MembershipRule.COMPOSE_SERVICE));
    assertThat(snapshot.services().get("shop/web").members())
        .containsExactly(new Member(web1.id(), MembershipRule.COMPOSE_PROJECT_SERVICE));
    assertThat(snapshot.services().get("shop-web").members()).containsExactly(new Member(web1.id(), MembershipRule.NAME_PATTERN));
    assertThat(snapshot.services().get("nginx").members()).containsExactly(new Member(swarm.id(), MembershipRule.SWARM_SERVICE));
    assertThat(snapshot.services().get("api").members()).containsExactly(new Member(ours.id(), MembershipRule.LABEL));
    assertThat(snapshot.services().get("bk_iam").members())
        .containsExactly(new Member(timestamped.id(), MembershipRule.NAME_PATTERN));
    assertThat(snapshot.services().get("web").policy()).contains(GroupPolicy.ANY);
    assertThat(snapshot.services().get("shop-web-1").policy()).isEmpty();
    assertThat(snapshot.namesByContainer().get(web1.id())).contains("web", "shop/web", "shop-web");
  }

  @Test
  void groups_customLabelAndNoNamePattern() {
    Registry registry = registry(new ServiceRules("com.example.app", Optional.empty(), GroupPolicy.ANY, false, false));

    registry.replaceAll(List.of(withLabels(running("x-1"), Map.of("com.example.app", "billing", "dockhealth.service", "no"))));

    assertThat(registry.current().services()).containsKey("billing").doesNotContainKeys("no", "x");
  }

  @Test
  void policyAny_servingWhileOneMemberServes() {
    Registry registry = registry(ServiceRules.defaults());
    registry.replaceAll(List.of(compose(running("shop-web-1"), "shop", "web"), compose(unhealthy("shop-web-2"), "shop", "web")));
    assertThat(registry.current().status("web")).contains(ServingStatus.SERVING);

    registry.put(compose(unhealthy("shop-web-1"), "shop", "web"));
    assertThat(registry.current().status("web")).contains(ServingStatus.NOT_SERVING);

    registry.put(compose(running("shop-web-2"), "shop", "web"));
    assertThat(registry.current().status("web")).contains(ServingStatus.SERVING);
  }

  @Test
  void policyAll_byFlagOrByLabel_servingOnlyWhileEveryMemberServes() {
    Registry byFlag = registry(new ServiceRules("dockhealth.service", Optional.empty(), GroupPolicy.ALL, false, false));
    byFlag.replaceAll(List.of(compose(running("a"), "p", "web"), compose(unhealthy("b"), "p", "web")));
    assertThat(byFlag.current().status("web")).contains(ServingStatus.NOT_SERVING);
    assertThat(byFlag.current().services().get("web").policy()).contains(GroupPolicy.ALL);
    byFlag.put(compose(running("b"), "p", "web"));
    assertThat(byFlag.current().status("web")).contains(ServingStatus.SERVING);

    // One member asking for "all" is enough; the stricter policy wins when members disagree.
    Registry byLabel = registry(ServiceRules.defaults());
    byLabel.replaceAll(List.of(
        withLabels(running("a"), Map.of("dockhealth.service", "web", "dockhealth.policy", "any")),
        withLabels(unhealthy("b"), Map.of("dockhealth.service", "web", "dockhealth.policy", "ALL"))));
    assertThat(byLabel.current().status("web")).contains(ServingStatus.NOT_SERVING);
    assertThat(byLabel.current().services().get("web").policy()).contains(GroupPolicy.ALL);
  }

  @Test
  void policyLabel_invalid_isIgnored() {
    Registry registry = registry(ServiceRules.defaults());
    registry.replaceAll(List.of(withLabels(running("a"), Map.of("dockhealth.service", "web", "dockhealth.policy", "most")),
        withLabels(unhealthy("b"), Map.of("dockhealth.service", "web"))));

    assertThat(registry.current().services().get("web").policy()).contains(GroupPolicy.ANY);
    assertThat(registry.current().status("web")).contains(ServingStatus.SERVING);
  }

  @Test
  void containerNameEqualToGroupName_theContainerKeepsTheName() {
    Registry registry = registry(ServiceRules.defaults());
    ContainerRecord named = container("web", ContainerState.EXITED, HealthStatus.NONE);
    ContainerRecord member = compose(running("shop-web-1"), "shop", "web");

    registry.replaceAll(List.of(named, member));

    Snapshot snapshot = registry.current();
    assertThat(snapshot.services().get("web").members()).containsExactly(new Member(named.id(), MembershipRule.CONTAINER_NAME));
    assertThat(snapshot.status("web")).contains(ServingStatus.NOT_SERVING);
    assertThat(snapshot.status("shop/web")).as("the group stays reachable by its long name").contains(ServingStatus.SERVING);
  }

  @Test
  void starting_notServingByDefault_servingByFlagOrLabel() {
    ContainerRecord starting = container("s", ContainerState.RUNNING, HealthStatus.STARTING);
    Registry byDefault = registry(ServiceRules.defaults());
    byDefault.replaceAll(List.of(starting, withLabels(container("t", ContainerState.RUNNING, HealthStatus.STARTING),
        Map.of(ServiceRules.STARTING_LABEL, "true"))));
    assertThat(byDefault.current().status("s")).contains(ServingStatus.NOT_SERVING);
    assertThat(byDefault.current().status("t")).contains(ServingStatus.SERVING);

    Registry byFlag = registry(new ServiceRules("dockhealth.service", Optional.empty(), GroupPolicy.ANY, true, false));
    byFlag.replaceAll(List.of(starting, withLabels(container("t", ContainerState.RUNNING, HealthStatus.STARTING),
        Map.of(ServiceRules.STARTING_LABEL, "false")), container("p", ContainerState.PAUSED, HealthStatus.STARTING)));
    assertThat(byFlag.current().status("s")).contains(ServingStatus.SERVING);
    assertThat(byFlag.current().status("t")).contains(ServingStatus.NOT_SERVING);
    assertThat(byFlag.current().status("p")).as("only a running container").contains(ServingStatus.NOT_SERVING);
  }

  @Test
  void dockerDisconnected_namesKeepStatusForStaleGrace_thenNotServing_thenResyncRestores() {
    Registry registry = registry(ServiceRules.defaults());
    registry.replaceAll(List.of(running("web-1")));

    registry.dockerDisconnected();
    clock.advance(Duration.ofSeconds(29));
    assertThat(registry.current().status("web-1")).contains(ServingStatus.SERVING);
    assertThat(registry.current().inSync()).isFalse();

    clock.advance(Duration.ofSeconds(1));
    assertThat(registry.current().status("web-1")).contains(ServingStatus.NOT_SERVING);
    assertThat(registry.current().status("web")).contains(ServingStatus.NOT_SERVING);

    registry.replaceAll(List.of(running("web-1")));
    assertThat(registry.current().status("web-1")).contains(ServingStatus.SERVING);
    assertThat(registry.current().inSync()).isTrue();
  }

  @Test
  void dockerBackWithinGrace_laterExpiryTimerChangesNothing() {
    Registry registry = registry(ServiceRules.defaults());
    registry.replaceAll(List.of(running("web-1")));
    registry.dockerDisconnected();
    clock.advance(Duration.ofSeconds(10));
    registry.replaceAll(List.of(running("web-1")));
    long version = registry.current().version();

    clock.advance(Duration.ofSeconds(30));

    assertThat(registry.current().version()).isEqualTo(version);
    assertThat(registry.current().status("web-1")).contains(ServingStatus.SERVING);
  }

  @Test
  void redeploy_groupsOnlyMemberReplaced_groupNeverUnknown() {
    Registry registry = registry(ServiceRules.defaults());
    ContainerRecord old = running("bk_iam-1709878117");
    registry.replaceAll(List.of(old));

    registry.remove(old.id());
    assertThat(registry.current().status("bk_iam")).contains(ServingStatus.NOT_SERVING);
    registry.put(container("bk_iam-1709879999", ContainerState.RUNNING, HealthStatus.STARTING));
    assertThat(registry.current().status("bk_iam")).contains(ServingStatus.NOT_SERVING);
    registry.put(running("bk_iam-1709879999"));
    assertThat(registry.current().status("bk_iam")).contains(ServingStatus.SERVING);
    assertThat(registry.current().services().get("bk_iam").members()).hasSize(2);

    clock.advance(Duration.ofSeconds(60));
    assertThat(registry.current().services().get("bk_iam").members()).hasSize(1);
    assertThat(registry.current().status("bk_iam-1709878117")).isEmpty();
  }

  @Test
  void removedMember_doesNotHoldAnAllGroupDown() {
    Registry registry = registry(new ServiceRules("dockhealth.service", Optional.empty(), GroupPolicy.ALL, false, false));
    ContainerRecord old = compose(running("old"), "p", "web");
    registry.replaceAll(List.of(old, compose(running("new"), "p", "web")));

    registry.remove(old.id());

    assertThat(registry.current().status("web")).contains(ServingStatus.SERVING);
  }

  @Test
  void redeploySameName_newContainerTakesTheNameFromTheRemovedOne() {
    Registry registry = registry(ServiceRules.defaults());
    ContainerRecord old = running("web");
    registry.replaceAll(List.of(old));
    registry.remove(old.id());

    ContainerRecord replacement = new ContainerRecord(io.dockhealth.server.testing.ContainerFixtures.idOf("web-v2"),
        "web", old.image(), old.command(), old.created(), ContainerState.RUNNING, HealthStatus.NONE, 0,
        old.probes(), 0, false, old.startedAt(), Optional.empty(), 0, old.ports(), old.labels());
    registry.put(replacement);

    assertThat(registry.current().services().get("web").containerIds()).containsExactly(replacement.id());
    assertThat(registry.current().status("web")).contains(ServingStatus.SERVING);
    assertThat(registry.current().status(old.id())).contains(ServingStatus.NOT_SERVING);
  }

  @Test
  void exposeLabeled_hidesUnlabelledContainersEverywhereInTheModel() {
    Registry registry = registry(new ServiceRules("dockhealth.service", Optional.of(Pattern.compile(ServiceRules.DEFAULT_NAME_PATTERN)),
        GroupPolicy.ANY, false, true));
    ContainerRecord shown = withLabels(running("shown-1"), Map.of(ServiceRules.ENABLE_LABEL, "true"));
    ContainerRecord hidden = withLabels(running("hidden-1"), Map.of("dockhealth.service", "secret-app"));

    registry.replaceAll(List.of(shown, hidden));
    registry.put(hidden);
    registry.remove(hidden.id());

    Snapshot snapshot = registry.current();
    assertThat(snapshot.containers()).containsOnlyKeys(shown.id());
    assertThat(snapshot.services()).containsOnlyKeys("", shown.id(), "shown-1", shown.shortId(), "shown");
    assertThat(snapshot.removed()).isEmpty();
  }
}
