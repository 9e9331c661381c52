package io.dockhealth.server.grpc;

import static io.dockhealth.server.testing.ContainerFixtures.container;
import static io.dockhealth.server.testing.ContainerFixtures.idOf;
import static io.dockhealth.server.testing.ContainerFixtures.running;
import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.google.common.collect.ImmutableList;
import com.google.common.collect.ImmutableMap;
import io.dockhealth.proto.health.v1.HealthCheckResponse.ServingStatus;
import io.dockhealth.proto.v1.Container;
import io.dockhealth.proto.v1.ContainerHealthGrpc;
import io.dockhealth.proto.v1.GetContainerRequest;
import io.dockhealth.proto.v1.GetServiceRequest;
import io.dockhealth.proto.v1.ListServicesRequest;
import io.dockhealth.proto.v1.ListServicesResponse;
import io.dockhealth.proto.v1.MembershipRule;
import io.dockhealth.proto.v1.Service;
import io.dockhealth.proto.v1.ListContainersRequest;
import io.dockhealth.proto.v1.ListContainersResponse;
import io.dockhealth.proto.v1.State;
import io.dockhealth.proto.v1.WatchContainersRequest;
import io.dockhealth.proto.v1.WatchContainersResponse;
import io.dockhealth.server.api.Exposure;
import io.dockhealth.server.model.ContainerRecord;
import io.dockhealth.server.model.ContainerState;
import io.dockhealth.server.model.HealthStatus;
import io.dockhealth.server.model.PortMapping;
import io.dockhealth.server.model.ProbeResult;
import io.dockhealth.testing.StreamReader;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class ContainerHealthServiceTest {
  private InProcessHealth grpc;
  private ContainerHealthGrpc.ContainerHealthBlockingStub blocking;

  @BeforeEach
  void start() throws Exception {
    grpc = new InProcessHealth(10);
    blocking = ContainerHealthGrpc.newBlockingStub(grpc.channel).withDeadlineAfter(5, SECONDS);
  }

  @AfterEach
  void stop() throws Exception {
    grpc.close();
  }

  private static ContainerRecord detailed() {
    ContainerRecord base = container("web-1", ContainerState.RUNNING, HealthStatus.HEALTHY);
    return new ContainerRecord(base.id(), base.name(), "shop/web:2", "nginx -g daemon off;", base.created(),
        base.state(), base.health(), 1,
        ImmutableList.of(new ProbeResult(Instant.parse("2026-01-01T00:00:02Z"),
            Instant.parse("2026-01-01T00:00:02.5Z"), 0, "ok\n")),
        0, false, base.startedAt(), Optional.empty(), 2,
        ImmutableList.of(new PortMapping(80, "tcp", "127.0.0.1", 8080)),
        ImmutableMap.of("com.example.secret", "hunter2"));
  }

  @Test
  void listContainers_showsEveryFieldButNeverLabels() {
    ContainerRecord web = detailed();
    grpc.registry.replaceAll(List.of(web, running("another")));

    ListContainersResponse response = blocking.listContainers(ListContainersRequest.getDefaultInstance());

    assertThat(response.getVersion()).isEqualTo(1);
    assertThat(response.getInSync()).isTrue();
    assertThat(response.getContainersList()).extracting(c -> c.getNames(0))
        .containsExactly("another", "web-1");
    Container container = response.getContainers(1);
    assertThat(container.getId()).isEqualTo(web.id());
    assertThat(container.getImage()).isEqualTo("shop/web:2");
    assertThat(container.getCommand()).isEqualTo("nginx -g daemon off;");
    assertThat(container.getState()).isEqualTo(State.STATE_RUNNING);
    assertThat(container.getHealth()).isEqualTo(io.dockhealth.proto.v1.HealthStatus.HEALTH_HEALTHY);
    assertThat(container.getFailingStreak()).isEqualTo(1);
    assertThat(container.getProbes(0).getOutput()).isEqualTo("ok\n");
    assertThat(container.getProbes(0).getEnd().getNanos()).isEqualTo(500_000_000);
    assertThat(container.getRestartCount()).isEqualTo(2);
    assertThat(container.getPorts(0).getHostPort()).isEqualTo(8080);
    assertThat(container.getServicesList()).containsExactly(web.id(), "web-1", web.shortId(), "web");
    assertThat(container.getRemoved()).isFalse();
    assertThat(container.getServingStatus()).isEqualTo(ServingStatus.SERVING);
    assertThat(container.getStale()).isFalse();
    assertThat(container.hasFinishedAt()).isFalse();
    assertThat(container.toString()).doesNotContain("hunter2").doesNotContain("com.example.secret");
  }

  @Test
  void probeOutputHidden_listGetAndWatchCarryProbesWithEmptyOutput() throws Exception {
    grpc.close();
    grpc = new InProcessHealth(10, Exposure.DEFAULT);
    blocking = ContainerHealthGrpc.newBlockingStub(grpc.channel).withDeadlineAfter(5, SECONDS);
    grpc.registry.replaceAll(List.of(detailed()));
    List<WatchContainersResponse> watched = new CopyOnWriteArrayList<>();
    ContainerHealthGrpc.newStub(grpc.channel).watchContainers(WatchContainersRequest.getDefaultInstance(),
        new StreamObserver<>() {
          @Override
          public void onNext(WatchContainersResponse value) {
            watched.add(value);
          }

          @Override
          public void onError(Throwable t) {}

          @Override
          public void onCompleted() {}
        });

    List<Container> seen = List.of(
        blocking.listContainers(ListContainersRequest.getDefaultInstance()).getContainers(0),
        blocking.getContainer(GetContainerRequest.newBuilder().setName("web-1").build()),
        watched.get(0).getChanged(0));

    assertThat(seen).allSatisfy(container -> {
      assertThat(container.getProbesCount()).isEqualTo(1);
      assertThat(container.getProbes(0).getOutput()).isEmpty();
      assertThat(container.getProbes(0).getExitCode()).isZero();
      assertThat(container.getCommand()).isEqualTo("nginx -g daemon off;");
    });
  }

  @Test
  void getContainer_byNameFullIdOrShortId() {
    ContainerRecord web = detailed();
    grpc.registry.replaceAll(List.of(web));

    for (String name : List.of("web-1", web.id(), web.shortId())) {
      assertThat(blocking.getContainer(GetContainerRequest.newBuilder().setName(name).build()).getId())
          .isEqualTo(web.id());
    }
  }

  @Test
  void getContainer_unknownOrInvalid_saysWhy() {
    grpc.registry.replaceAll(List.of(detailed()));

    // "web" is a group (the default name pattern makes web-1 a member), not a container.
    assertThatThrownBy(() -> blocking.getContainer(GetContainerRequest.newBuilder().setName("web").build()))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
          assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND);
          assertThat(e.getStatus().getDescription()).contains("\"web\"").contains("expected");
        });
    assertThatThrownBy(() -> blocking.getContainer(GetContainerRequest.newBuilder().setName("").build()))
        .isInstanceOfSatisfying(StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND));
    assertThatThrownBy(() -> blocking.getContainer(GetContainerRequest.newBuilder().setName("y".repeat(900)).build()))
        .isInstanceOfSatisfying(StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT));
  }

  @Test
  void getService_showsTheMembersAndTheRuleThatMadeThem() {
    ContainerRecord web = running("web-1");
    grpc.registry.replaceAll(List.of(web));

    Service byName = blocking.getService(GetServiceRequest.newBuilder().setName("web-1").build());
    Service byShortId = blocking.getService(GetServiceRequest.newBuilder().setName(web.shortId()).build());
    Service sidecar = blocking.getService(GetServiceRequest.getDefaultInstance());

    assertThat(byName.getStatus()).isEqualTo(ServingStatus.SERVING);
    assertThat(byName.getMembersList()).singleElement().satisfies(m -> {
      assertThat(m.getContainerId()).isEqualTo(web.id());
      assertThat(m.getContainerName()).isEqualTo("web-1");
      assertThat(m.getRule()).isEqualTo(MembershipRule.MEMBERSHIP_RULE_CONTAINER_NAME);
      assertThat(m.getServingStatus()).isEqualTo(ServingStatus.SERVING);
    });
    assertThat(byShortId.getMembers(0).getRule()).isEqualTo(MembershipRule.MEMBERSHIP_RULE_SHORT_ID);
    assertThat(sidecar.getMembersList()).isEmpty();
    assertThat(sidecar.getStatus()).isEqualTo(ServingStatus.SERVING);
    assertThatThrownBy(() -> blocking.getService(GetServiceRequest.newBuilder().setName("web-2").build()))
        .isInstanceOfSatisfying(StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND));
  }

  @Test
  void listServices_hasNoListLimit_andMarksStaleWhileDisconnected() {
    grpc.registry.replaceAll(java.util.stream.IntStream.range(0, 40).mapToObj(i -> running("c" + i)).toList());
    grpc.registry.dockerDisconnected();

    ListServicesResponse response = blocking.listServices(ListServicesRequest.getDefaultInstance());

    assertThat(response.getServicesCount()).isEqualTo(121);
    assertThat(response.getServices(0).getName()).isEmpty();
    assertThat(response.getServices(0).getStatus()).isEqualTo(ServingStatus.NOT_SERVING);
    assertThat(response.getServicesList()).allMatch(Service::getStale);
    assertThat(response.getInSync()).isFalse();
  }

  @Test
  void oneContainerStale_markedInItsContainerAndItsNamesOnly() {
    ContainerRecord web = running("web-1");
    grpc.registry.replaceAll(List.of(web, running("api-1")));

    grpc.registry.markStale(web.id());

    assertThat(blocking.getContainer(GetContainerRequest.newBuilder().setName("web-1").build()).getStale()).isTrue();
    assertThat(blocking.getContainer(GetContainerRequest.newBuilder().setName("api-1").build()).getStale()).isFalse();
    ListServicesResponse services = blocking.listServices(ListServicesRequest.getDefaultInstance());
    assertThat(services.getInSync()).isTrue();
    assertThat(services.getServicesList()).filteredOn(Service::getStale).extracting(Service::getName)
        .containsExactlyInAnyOrder("web-1", web.id(), web.shortId(), "web");
  }

  @Test
  void watchContainers_resetThenOnlyWhatChanged() {
    ContainerRecord a = running("a");
    ContainerRecord b = running("b");
    grpc.registry.replaceAll(List.of(a, b));
    List<WatchContainersResponse> received = new CopyOnWriteArrayList<>();
    ContainerHealthGrpc.newStub(grpc.channel).watchContainers(WatchContainersRequest.getDefaultInstance(),
        new StreamObserver<>() {
          @Override
          public void onNext(WatchContainersResponse value) {
            received.add(value);
          }

          @Override
          public void onError(Throwable t) {}

          @Override
          public void onCompleted() {}
        });

    grpc.registry.put(container("a", ContainerState.EXITED, HealthStatus.NONE));
    grpc.registry.remove(b.id());
    grpc.clock.advance(Duration.ofSeconds(60)); // --forget-after
    grpc.registry.dockerDisconnected();

    await().atMost(Duration.ofSeconds(5)).until(() -> received.size() == 5);
    assertThat(received.get(0).getReset()).isTrue();
    assertThat(received.get(0).getChangedList()).extracting(Container::getId).containsExactly(a.id(), b.id());
    assertThat(received.get(1).getReset()).isFalse();
    assertThat(received.get(1).getChangedList()).singleElement()
        .satisfies(c -> assertThat(c.getState()).isEqualTo(State.STATE_EXITED));
    // Removed: shown as such until forgotten, then gone.
    assertThat(received.get(2).getChangedList()).singleElement().satisfies(c -> {
      assertThat(c.getId()).isEqualTo(b.id());
      assertThat(c.getRemoved()).isTrue();
      assertThat(c.getServingStatus()).isEqualTo(ServingStatus.NOT_SERVING);
    });
    assertThat(received.get(3).getChangedList()).isEmpty();
    assertThat(received.get(3).getRemovedIdsList()).containsExactly(b.id());
    // Losing Docker marks every container stale: each one changed.
    assertThat(received.get(4).getInSync()).isFalse();
    assertThat(received.get(4).getChangedList()).singleElement().satisfies(c -> assertThat(c.getStale()).isTrue());
    assertThat(received).extracting(WatchContainersResponse::getVersion).containsExactly(1L, 2L, 3L, 4L, 5L);
  }

  private StreamReader<WatchContainersRequest, WatchContainersResponse> watchContainers() {
    return new StreamReader<>(grpc.channel, ContainerHealthGrpc.getWatchContainersMethod(),
        WatchContainersRequest.getDefaultInstance());
  }

  @Test
  void watchContainers_clientThatStopsReading_getsOneMessageThatBringsItUpToDate() {
    ContainerRecord a = running("a");
    grpc.registry.replaceAll(List.of(a, running("b")));
    StreamReader<WatchContainersRequest, WatchContainersResponse> reader = watchContainers();
    reader.read(1);
    await().atMost(Duration.ofSeconds(5)).until(() -> reader.received().size() == 1);
    long before = grpc.messagesSent.get();

    for (int i = 0; i < 100; i++) {
      grpc.registry.put(container("a", i % 2 == 0 ? ContainerState.RUNNING : ContainerState.PAUSED, HealthStatus.NONE));
      grpc.registry.put(running("new-" + i));
    }
    grpc.registry.remove(idOf("b"));
    grpc.clock.advance(Duration.ofSeconds(60)); // --forget-after: b is gone
    assertThat(grpc.messagesSent.get()).isEqualTo(before);

    reader.read(10);
    await().atMost(Duration.ofSeconds(5)).until(() -> reader.received().size() == 2);
    WatchContainersResponse update = reader.received().get(1);
    assertThat(update.getVersion()).isEqualTo(grpc.registry.current().version());
    assertThat(update.getReset()).isFalse();
    assertThat(update.getChangedList()).extracting(c -> c.getNames(0)).hasSize(101).contains("a", "new-0", "new-99");
    assertThat(update.getChangedList()).filteredOn(c -> c.getNames(0).equals("a")).singleElement()
        .satisfies(c -> assertThat(c.getState()).isEqualTo(State.STATE_PAUSED));
    assertThat(update.getRemovedIdsList()).containsExactly(idOf("b"));
    assertThat(grpc.messagesSent.get()).isEqualTo(before + 1);
    reader.cancel();
  }

  @Test
  void watchContainers_beyondItsLimit_isResourceExhaustedNamingTheFlag_andClosingOneMakesRoom() {
    List<StreamReader<WatchContainersRequest, WatchContainersResponse>> open = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      open.add(watchContainers());
    }
    await().atMost(Duration.ofSeconds(5)).until(() -> grpc.containers.openWatches() == 10);

    StreamReader<WatchContainersRequest, WatchContainersResponse> refused = watchContainers();
    await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
      assertThat(refused.end().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
      assertThat(refused.end().getDescription())
          .contains("10 WatchContainers streams").contains("--max-watch-containers-streams");
    });

    open.get(0).cancel();
    await().atMost(Duration.ofSeconds(5)).until(() -> grpc.containers.openWatches() == 9);
    StreamReader<WatchContainersRequest, WatchContainersResponse> admitted = watchContainers();
    admitted.read(1);
    await().atMost(Duration.ofSeconds(5)).until(() -> admitted.received().size() == 1);
    assertThat(admitted.end()).isNull();
    assertThat(grpc.health.openWatches()).as("a limit of its own, apart from Watch's").isZero();
  }

  @Test
  void endStreams_endsEveryWatchContainersWithTheStatus_andRefusesNewOnesWithIt() {
    StreamReader<WatchContainersRequest, WatchContainersResponse> open = watchContainers();
    open.read(1);
    await().atMost(Duration.ofSeconds(5)).until(() -> grpc.containers.openWatches() == 1);

    grpc.containers.endStreams(Status.UNAVAILABLE.withDescription("server shutting down"));
    StreamReader<WatchContainersRequest, WatchContainersResponse> late = watchContainers();

    await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
      for (Status status : List.of(open.end(), late.end())) {
        assertThat(status.getCode()).isEqualTo(Status.Code.UNAVAILABLE);
        assertThat(status.getDescription()).isEqualTo("server shutting down");
      }
      assertThat(grpc.containers.openWatches()).isZero();
    });
  }
}
