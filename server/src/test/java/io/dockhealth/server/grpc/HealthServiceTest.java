package io.dockhealth.server.grpc;

import static io.dockhealth.server.testing.ContainerFixtures.container;
import static io.dockhealth.server.testing.ContainerFixtures.running;
import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.dockhealth.proto.health.v1.HealthCheckRequest;
import io.dockhealth.proto.health.v1.HealthCheckResponse;
import io.dockhealth.proto.health.v1.HealthCheckResponse.ServingStatus;
import io.dockhealth.proto.health.v1.HealthGrpc;
import io.dockhealth.proto.health.v1.HealthListRequest;
import io.dockhealth.server.api.ServiceNames;
import io.dockhealth.server.model.ContainerRecord;
import io.dockhealth.server.model.ContainerState;
import io.dockhealth.server.model.HealthStatus;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.Context;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class HealthServiceTest {
  private InProcessHealth grpc;
  private HealthGrpc.HealthBlockingStub blocking;

  @BeforeEach
  void start() throws Exception {
    grpc = new InProcessHealth(3);
    blocking = HealthGrpc.newBlockingStub(grpc.channel).withDeadlineAfter(5, SECONDS);
  }

  @AfterEach
  void stop() throws Exception {
    grpc.close();
  }

  private ServingStatus check(String service) {
    return blocking.check(HealthCheckRequest.newBuilder().setService(service).build()).getStatus();
  }

  private Status checkFailure(String service) {
    StatusRuntimeException e = org.junit.jupiter.api.Assertions.assertThrows(
        StatusRuntimeException.class, () -> check(service));
    return e.getStatus();
  }

  @Test
  void check_knownNames_answerTheirStatus() {
    ContainerRecord web = running("web-1");
    grpc.registry.replaceAll(List.of(web, container("db", ContainerState.RUNNING, HealthStatus.UNHEALTHY)));

    assertThat(check("web-1")).isEqualTo(ServingStatus.SERVING);
    assertThat(check(web.id())).isEqualTo(ServingStatus.SERVING);
    assertThat(check(web.shortId())).isEqualTo(ServingStatus.SERVING);
    assertThat(check("db")).isEqualTo(ServingStatus.NOT_SERVING);
  }

  @Test
  void check_unknownName_isNotFoundNamingIt() {
    grpc.registry.replaceAll(List.of(running("web-1")));

    Status status = checkFailure("web-2");

    assertThat(status.getCode()).isEqualTo(Status.Code.NOT_FOUND);
    assertThat(status.getDescription()).isEqualTo("unknown service \"web-2\"");
  }

  @Test
  void check_emptyName_isTheSidecar_servingOnlyWhileInSync() {
    assertThat(check("")).isEqualTo(ServingStatus.NOT_SERVING);
    grpc.registry.replaceAll(List.of());
    assertThat(check("")).isEqualTo(ServingStatus.SERVING);
    grpc.registry.dockerDisconnected();
    assertThat(check("")).isEqualTo(ServingStatus.NOT_SERVING);
  }

  @Test
  void check_tooLongName_isInvalidArgumentSayingTheLimit() {
    Status status = checkFailure("x".repeat(ServiceNames.MAX_LENGTH + 1));

    assertThat(status.getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(status.getDescription()).contains("513 characters").contains("at most 512");
    assertThat(checkFailure("x".repeat(ServiceNames.MAX_LENGTH)).getCode()).isEqualTo(Status.Code.NOT_FOUND);
  }

  @Test
  void list_answersEveryNameWithItsStatus() {
    ContainerRecord web = running("web-1");
    grpc.registry.replaceAll(List.of(web));

    var statuses = blocking.list(HealthListRequest.getDefaultInstance()).getStatusesMap();

    assertThat(statuses).containsOnlyKeys("", "web-1", web.id(), web.shortId(), "web");
    assertThat(statuses.values()).allMatch(r -> r.getStatus() == ServingStatus.SERVING);
  }

  @Test
  void list_100Names_isAnswered_moreIsResourceExhausted() {
    // Each container answers to three names, plus "" for the sidecar.
    List<ContainerRecord> thirtyThree = IntStream.range(0, 33).mapToObj(i -> running("c" + i)).toList();
    grpc.registry.replaceAll(thirtyThree);
    assertThat(blocking.list(HealthListRequest.getDefaultInstance()).getStatusesCount()).isEqualTo(100);

    grpc.registry.put(running("one-more"));

    assertThatThrownBy(() -> blocking.list(HealthListRequest.getDefaultInstance()))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
          assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
          assertThat(e.getStatus().getDescription()).contains("103 services").contains("100");
        });
  }

  /** Collects what one Watch stream receives. */
  private static final class Received implements StreamObserver<HealthCheckResponse> {
    final List<ServingStatus> statuses = new CopyOnWriteArrayList<>();
    final AtomicReference<Throwable> error = new AtomicReference<>();

    @Override
    public void onNext(HealthCheckResponse value) {
      statuses.add(value.getStatus());
    }

    @Override
    public void onError(Throwable t) {
      error.set(t);
    }

    @Override
    public void onCompleted() {
      error.set(new AssertionError("a Watch stream must stay open"));
    }
  }

  private Received watch(String service) {
    Received received = new Received();
    HealthGrpc.newStub(grpc.channel).watch(HealthCheckRequest.newBuilder().setService(service).build(), received);
    return received;
  }

  @Test
  void watch_unknownServiceThenCreated_sendsServiceUnknownThenServing() {
    grpc.registry.replaceAll(List.of());
    Received received = watch("web-1");

    grpc.registry.put(running("web-1"));

    await().atMost(Duration.ofSeconds(5)).untilAsserted(() ->
        assertThat(received.statuses).containsExactly(ServingStatus.SERVICE_UNKNOWN, ServingStatus.SERVING));
    assertThat(received.error.get()).isNull();
  }

  @Test
  void watch_sendsOnlyChanges_thenServiceUnknownWhenRemovedAndForgotten() {
    ContainerRecord web = running("web-1");
    grpc.registry.replaceAll(List.of(web));
    Received received = watch("web-1");

    grpc.registry.put(web.withOomKilled()); // a detail, not a status change
    grpc.registry.put(container("other", ContainerState.EXITED, HealthStatus.NONE));
    grpc.registry.put(container("web-1", ContainerState.RUNNING, HealthStatus.UNHEALTHY));
    grpc.registry.put(container("web-1", ContainerState.PAUSED, HealthStatus.UNHEALTHY));
    grpc.registry.remove(web.id());
    grpc.clock.advance(Duration.ofSeconds(60)); // --forget-after

    await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(received.statuses).containsExactly(
        ServingStatus.SERVING, ServingStatus.NOT_SERVING, ServingStatus.SERVICE_UNKNOWN));
  }

  @Test
  void watch_emptyName_followsTheDockerConnection() {
    Received received = watch("");

    grpc.registry.replaceAll(List.of());
    grpc.registry.dockerDisconnected();

    await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(received.statuses).containsExactly(
        ServingStatus.NOT_SERVING, ServingStatus.SERVING, ServingStatus.NOT_SERVING));
  }

  @Test
  void watch_shutdown_tellsOnlyTheSidecarsWatchers_namesKeepFollowingDocker() {
    grpc.registry.replaceAll(List.of(running("web-1")));
    Received web = watch("web-1");
    Received sidecar = watch("");

    grpc.registry.enterShutdown();
    grpc.registry.put(container("web-1", ContainerState.PAUSED, HealthStatus.NONE));
    grpc.registry.replaceAll(List.of(running("web-1")));

    await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
      assertThat(sidecar.statuses).containsExactly(ServingStatus.SERVING, ServingStatus.NOT_SERVING);
      assertThat(web.statuses).containsExactly(ServingStatus.SERVING, ServingStatus.NOT_SERVING, ServingStatus.SERVING);
    });
    assertThat(check("")).isEqualTo(ServingStatus.NOT_SERVING);
    assertThat(check("web-1")).isEqualTo(ServingStatus.SERVING);
  }

  @Test
  void watch_terminalState_tellsEveryWatcherNotServing() {
    grpc.registry.replaceAll(List.of(running("web-1")));
    Received web = watch("web-1");
    Received sidecar = watch("");

    grpc.registry.enterTerminalState();

    await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
      assertThat(web.statuses).containsExactly(ServingStatus.SERVING, ServingStatus.NOT_SERVING);
      assertThat(sidecar.statuses).containsExactly(ServingStatus.SERVING, ServingStatus.NOT_SERVING);
    });
  }

  @Test
  void endStreams_endsEveryWatchWithTheStatus_andRefusesNewOnesWithIt() {
    grpc.registry.replaceAll(List.of(running("web-1")));
    Received web = watch("web-1");
    Received sidecar = watch("");
    await().atMost(Duration.ofSeconds(5)).until(() -> web.statuses.size() == 1 && sidecar.statuses.size() == 1);

    grpc.health.endStreams(Status.UNAVAILABLE.withDescription("server shutting down"));
    Received late = watch("web-1");

    await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
      for (Received received : List.of(web, sidecar, late)) {
        Status status = Status.fromThrowable(received.error.get());
        assertThat(status.getCode()).isEqualTo(Status.Code.UNAVAILABLE);
        assertThat(status.getDescription()).isEqualTo("server shutting down");
      }
      assertThat(grpc.health.openWatches()).isZero();
    });
    assertThat(late.statuses).isEmpty();
  }

  @Test
  void watch_tooLongName_isInvalidArgument() {
    Received received = watch("x".repeat(600));

    await().atMost(Duration.ofSeconds(5)).untilAsserted(() ->
        assertThat(Status.fromThrowable(received.error.get()).getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT));
    assertThat(grpc.health.openWatches()).isZero();
  }

  @Test
  void watch_beyondTheLimit_isResourceExhausted_andClosingOneMakesRoom() {
    List<Context.CancellableContext> contexts = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      Context.CancellableContext context = Context.current().withCancellation();
      contexts.add(context);
      context.run(() -> watch("web-1"));
    }
    assertThat(grpc.health.openWatches()).isEqualTo(3);

    Received refused = watch("web-1");
    await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
      Status status = Status.fromThrowable(refused.error.get());
      assertThat(status.getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
      assertThat(status.getDescription()).contains("3 Watch streams");
    });

    contexts.get(0).cancel(null);
    await().atMost(Duration.ofSeconds(5)).until(() -> grpc.health.openWatches() == 2);
    Received admitted = watch("web-1");
    await().atMost(Duration.ofSeconds(5)).until(() -> admitted.statuses.size() == 1);
    assertThat(admitted.error.get()).isNull();
  }

  @Test
  void watch_manyStreamsOfOneName_leavingInAnyOrder_theRestAreStillTold() throws Exception {
    grpc.close();
    grpc = new InProcessHealth(100);
    ContainerRecord web = running("web-1");
    grpc.registry.replaceAll(List.of(web));
    List<Context.CancellableContext> contexts = new ArrayList<>();
    List<Received> streams = new ArrayList<>();
    for (int i = 0; i < 40; i++) {
      Context.CancellableContext context = Context.current().withCancellation();
      contexts.add(context);
      streams.add(context.call(() -> watch("web-1")));
    }
    await().atMost(Duration.ofSeconds(5)).until(() -> streams.stream().allMatch(r -> r.statuses.size() == 1));

    // From the middle, the end and the start of the name's streams, down to a few.
    List<Integer> leaving = List.of(20, 39, 0, 5, 38, 1, 21, 22, 30, 10, 11, 12, 13, 14, 15, 2, 3, 4, 6, 7, 8, 9,
        16, 17, 18, 19, 23, 24, 25, 26, 27, 28, 29, 31, 32, 33);
    leaving.forEach(i -> contexts.get(i).cancel(null));
    await().atMost(Duration.ofSeconds(5)).until(() -> grpc.health.openWatches() == 40 - leaving.size());
    grpc.registry.put(container("web-1", ContainerState.PAUSED, HealthStatus.NONE));

    for (int i = 0; i < 40; i++) {
      Received received = streams.get(i);
      if (leaving.contains(i)) {
        assertThat(received.statuses).containsExactly(ServingStatus.SERVING);
      } else {
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() ->
            assertThat(received.statuses).containsExactly(ServingStatus.SERVING, ServingStatus.NOT_SERVING));
      }
    }
    contexts.forEach(context -> context.cancel(null));
    await().atMost(Duration.ofSeconds(5)).until(() -> grpc.health.openWatches() == 0);
    Received afterAllLeft = watch("web-1");
    await().atMost(Duration.ofSeconds(5)).untilAsserted(() ->
        assertThat(afterAllLeft.statuses).containsExactly(ServingStatus.NOT_SERVING));
  }

  @Test
  void watch_clientThatNeverReads_holdsOneStatusNotABacklog_andThenGetsTheNewest() {
    ContainerRecord serving = running("web-1");
    ContainerRecord notServing = container("web-1", ContainerState.RUNNING, HealthStatus.UNHEALTHY);
    grpc.registry.replaceAll(List.of(serving));
    List<HealthCheckResponse> received = new CopyOnWriteArrayList<>();
    ClientCall<HealthCheckRequest, HealthCheckResponse> call =
        grpc.channel.newCall(HealthGrpc.getWatchMethod(), CallOptions.DEFAULT.withDeadlineAfter(30, SECONDS));
    call.start(new ClientCall.Listener<>() {
      @Override
      public void onMessage(HealthCheckResponse message) {
        received.add(message);
      }
    }, new Metadata());
    call.sendMessage(HealthCheckRequest.newBuilder().setService("web-1").build());
    call.halfClose();
    call.request(1); // reads the first status, then stops reading
    await().atMost(Duration.ofSeconds(5)).until(() -> received.size() == 1);

    for (int flip = 0; flip < 10_000; flip++) {
      grpc.registry.put(flip % 2 == 0 ? notServing : serving);
    }
    grpc.registry.put(notServing);

    // The server sent nothing while the client did not ask: no queue grew anywhere. (In process, a
    // stream is ready only while the client asks; BoundedStreamsTest shows the same over Netty.)
    assertThat(grpc.messagesSent.get()).isEqualTo(1);
    call.request(10);
    await().atMost(Duration.ofSeconds(5)).until(() -> received.size() == 2);
    assertThat(received.get(1).getStatus()).isEqualTo(ServingStatus.NOT_SERVING);
    assertThat(grpc.messagesSent.get()).isEqualTo(2);
    call.cancel("done", null);
  }
}
