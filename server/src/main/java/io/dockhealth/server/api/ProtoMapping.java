package io.dockhealth.server.api;

import com.google.protobuf.Timestamp;
import io.dockhealth.proto.health.v1.HealthCheckResponse;
import io.dockhealth.proto.v1.Container;
import io.dockhealth.proto.v1.GroupPolicy;
import io.dockhealth.proto.v1.ListContainersResponse;
import io.dockhealth.proto.v1.ListServicesResponse;
import io.dockhealth.proto.v1.MembershipRule;
import io.dockhealth.proto.v1.Port;
import io.dockhealth.proto.v1.ProbeResult;
import io.dockhealth.proto.v1.Service;
import io.dockhealth.proto.v1.ServiceMember;
import io.dockhealth.proto.v1.State;
import io.dockhealth.server.model.ContainerRecord;
import io.dockhealth.server.model.HealthStatus;
import io.dockhealth.server.model.Member;
import io.dockhealth.server.model.PortMapping;
import io.dockhealth.server.model.ServiceEntry;
import io.dockhealth.server.model.ServingStatus;
import io.dockhealth.server.model.Snapshot;
import java.time.Instant;
import java.util.Comparator;

/** Model values as protocol messages. The one place that decides what a client may see. */
public final class ProtoMapping {
  private static final HealthCheckResponse SERVING =
      HealthCheckResponse.newBuilder().setStatus(HealthCheckResponse.ServingStatus.SERVING).build();
  private static final HealthCheckResponse NOT_SERVING =
      HealthCheckResponse.newBuilder().setStatus(HealthCheckResponse.ServingStatus.NOT_SERVING).build();
  private static final HealthCheckResponse SERVICE_UNKNOWN =
      HealthCheckResponse.newBuilder().setStatus(HealthCheckResponse.ServingStatus.SERVICE_UNKNOWN).build();

  private ProtoMapping() {}

  public static HealthCheckResponse.ServingStatus toProto(ServingStatus status) {
    return switch (status) {
      case SERVING -> HealthCheckResponse.ServingStatus.SERVING;
      case NOT_SERVING -> HealthCheckResponse.ServingStatus.NOT_SERVING;
    };
  }

  /** The health response for a status, from shared instances. */
  public static HealthCheckResponse response(HealthCheckResponse.ServingStatus status) {
    return switch (status) {
      case SERVING -> SERVING;
      case NOT_SERVING -> NOT_SERVING;
      default -> SERVICE_UNKNOWN;
    };
  }

  /**
   * A container as the dockhealth.v1 API shows it. Labels and anything else Docker knows beyond
   * these fields (environment, mounts) are left out on purpose; probe output only when {@code
   * exposure} allows it.
   */
  public static Container toProto(ContainerRecord container, Snapshot snapshot, Exposure exposure) {
    Container.Builder builder = Container.newBuilder()
        .setId(container.id())
        .addNames(container.name())
        .setImage(container.image())
        .setCommand(container.command())
        .setCreated(timestamp(container.created()))
        .setState(state(container))
        .setHealth(health(container.health()))
        .setFailingStreak(container.failingStreak())
        .setExitCode(container.exitCode())
        .setOomKilled(container.oomKilled())
        .setRestartCount(container.restartCount())
        .addAllServices(snapshot.namesByContainer().get(container.id()))
        .setStale(snapshot.isStale(container.id()))
        .setRemoved(snapshot.removed().contains(container.id()))
        .setServingStatus(snapshot.status(container.id()).map(ProtoMapping::toProto)
            .orElse(HealthCheckResponse.ServingStatus.NOT_SERVING));
    container.upstream().ifPresent(builder::setUpstream);
    container.startedAt().ifPresent(t -> builder.setStartedAt(timestamp(t)));
    container.finishedAt().ifPresent(t -> builder.setFinishedAt(timestamp(t)));
    for (io.dockhealth.server.model.ProbeResult probe : container.probes()) {
      builder.addProbes(ProbeResult.newBuilder()
          .setStart(timestamp(probe.start()))
          .setEnd(timestamp(probe.end()))
          .setExitCode(probe.exitCode())
          .setOutput(exposure.probeOutput() ? probe.output() : ""));
    }
    for (PortMapping port : container.ports()) {
      builder.addPorts(Port.newBuilder()
          .setPrivatePort(port.privatePort())
          .setProtocol(port.protocol())
          .setHostIp(port.hostIp())
          .setHostPort(port.hostPort()));
    }
    return builder.build();
  }

  /** Every container of a snapshot, ordered by name: ListContainers' answer, and GET /v1/containers'. */
  public static ListContainersResponse listContainers(Snapshot snapshot, Exposure exposure) {
    ListContainersResponse.Builder response = ListContainersResponse.newBuilder()
        .setVersion(snapshot.version())
        .setInSync(snapshot.inSync());
    snapshot.containers().values().stream()
        .sorted(Comparator.comparing(ContainerRecord::name))
        .forEach(container -> response.addContainers(toProto(container, snapshot, exposure)));
    return response.build();
  }

  /** Every service name of a snapshot, ordered by name: ListServices' answer, and GET /v1/health's. */
  public static ListServicesResponse listServices(Snapshot snapshot) {
    ListServicesResponse.Builder response = ListServicesResponse.newBuilder()
        .setVersion(snapshot.version())
        .setInSync(snapshot.inSync());
    snapshot.services().values().stream()
        .sorted(Comparator.comparing(ServiceEntry::name))
        .forEach(entry -> response.addServices(toProto(entry, snapshot)));
    return response.build();
  }

  /** A service name as the dockhealth.v1 API shows it, with its members. */
  public static Service toProto(ServiceEntry entry, Snapshot snapshot) {
    Service.Builder builder = Service.newBuilder()
        .setName(entry.name())
        .setStatus(toProto(entry.status()))
        .setStale(snapshot.isStale(entry));
    entry.policy().ifPresent(policy -> builder.setPolicy(switch (policy) {
      case ANY -> GroupPolicy.GROUP_POLICY_ANY;
      case ALL -> GroupPolicy.GROUP_POLICY_ALL;
    }));
    for (Member member : entry.members()) {
      ContainerRecord container = snapshot.containers().get(member.containerId());
      builder.addMembers(ServiceMember.newBuilder()
          .setContainerId(member.containerId())
          .setContainerName(container.name())
          .setRule(rule(member.rule()))
          .setServingStatus(snapshot.status(member.containerId()).map(ProtoMapping::toProto)
              .orElse(HealthCheckResponse.ServingStatus.NOT_SERVING)));
    }
    return builder.build();
  }

  private static MembershipRule rule(io.dockhealth.server.model.MembershipRule rule) {
    return switch (rule) {
      case CONTAINER_ID -> MembershipRule.MEMBERSHIP_RULE_CONTAINER_ID;
      case CONTAINER_NAME -> MembershipRule.MEMBERSHIP_RULE_CONTAINER_NAME;
      case SHORT_ID -> MembershipRule.MEMBERSHIP_RULE_SHORT_ID;
      case LABEL -> MembershipRule.MEMBERSHIP_RULE_LABEL;
      case COMPOSE_SERVICE -> MembershipRule.MEMBERSHIP_RULE_COMPOSE_SERVICE;
      case COMPOSE_PROJECT_SERVICE -> MembershipRule.MEMBERSHIP_RULE_COMPOSE_PROJECT_SERVICE;
      case SWARM_SERVICE -> MembershipRule.MEMBERSHIP_RULE_SWARM_SERVICE;
      case NAME_PATTERN -> MembershipRule.MEMBERSHIP_RULE_NAME_PATTERN;
    };
  }

  private static State state(ContainerRecord container) {
    return switch (container.state()) {
      case CREATED -> State.STATE_CREATED;
      case RUNNING -> State.STATE_RUNNING;
      case PAUSED -> State.STATE_PAUSED;
      case RESTARTING -> State.STATE_RESTARTING;
      case REMOVING -> State.STATE_REMOVING;
      case EXITED -> State.STATE_EXITED;
      case DEAD -> State.STATE_DEAD;
      case UNKNOWN -> State.STATE_UNSPECIFIED;
    };
  }

  private static io.dockhealth.proto.v1.HealthStatus health(HealthStatus health) {
    return switch (health) {
      case NONE -> io.dockhealth.proto.v1.HealthStatus.HEALTH_NONE;
      case STARTING -> io.dockhealth.proto.v1.HealthStatus.HEALTH_STARTING;
      case HEALTHY -> io.dockhealth.proto.v1.HealthStatus.HEALTH_HEALTHY;
      case UNHEALTHY -> io.dockhealth.proto.v1.HealthStatus.HEALTH_UNHEALTHY;
      case UNKNOWN -> io.dockhealth.proto.v1.HealthStatus.HEALTH_STATUS_UNSPECIFIED;
    };
  }

  private static Timestamp timestamp(Instant instant) {
    return Timestamp.newBuilder().setSeconds(instant.getEpochSecond()).setNanos(instant.getNano()).build();
  }
}
