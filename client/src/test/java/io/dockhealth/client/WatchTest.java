package io.dockhealth.client;

import static io.dockhealth.proto.health.v1.HealthCheckResponse.ServingStatus.NOT_SERVING;
import static io.dockhealth.proto.health.v1.HealthCheckResponse.ServingStatus.SERVICE_UNKNOWN;
import static io.dockhealth.proto.health.v1.HealthCheckResponse.ServingStatus.SERVING;
import static io.dockhealth.proto.health.v1.HealthCheckResponse.ServingStatus.UNKNOWN;
import static io.dockhealth.testing.FakeHealthServer.response;
import static org.assertj.core.api.Assertions.assertThat;

import io.dockhealth.proto.health.v1.HealthCheckResponse;
import io.dockhealth.testing.FakeHealthServer;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The client rules of gRFC A17 for Watch, on an in-process server, with fake time. */
class WatchTest {
  private static final Instant NOW = Instant.parse("2026-05-04T10:15:02.117Z");
  // Jitter 0.2, but random() is 0.5, the middle of the band: delays are exact.
  private static final ReconnectBackoff BACKOFF =
      new ReconnectBackoff(Duration.ofSeconds(1), Duration.ofSeconds(10), 2.0, 0.2);

  private final FakeScheduler scheduler = new FakeScheduler();
  private final FakeTicker ticker = new FakeTicker();
  private final RecordingListener listener = new RecordingListener();
  private FakeHealthServer server;
  private DockhealthClient client;

  @BeforeEach
  void start() throws Exception {
    server = FakeHealthServer.inProcess().manualWatches().start();
    client = client(server);
  }

  @AfterEach
  void stop() {
    client.close();
    server.close();
  }

  private DockhealthClient client(FakeHealthServer server) {
    return DockhealthClient.forChannel(server.channel(), b -> b.scheduler(scheduler).ticker(ticker)
        .random(() -> 0.5).clock(Clock.fixed(NOW, ZoneOffset.UTC)).reconnectBackoff(BACKOFF));
  }

  @Test
  void watch_repeatedStatuses_deliversTheFirstThenOnlyChanges() {
    client.watch("web", listener);
    StreamObserver<HealthCheckResponse> stream = server.lastWatch();
    stream.onNext(response(SERVICE_UNKNOWN));
    stream.onNext(response(NOT_SERVING));
    stream.onNext(response(NOT_SERVING));
    stream.onNext(response(SERVING));
    stream.onNext(response(SERVING));
    stream.onNext(response(NOT_SERVING));

    assertThat(listener.statuses()).containsExactly(SERVICE_UNKNOWN, NOT_SERVING, SERVING, NOT_SERVING);
    assertThat(listener.updates).allSatisfy(update -> {
      assertThat(update.service()).isEqualTo("web");
      assertThat(update.time()).isEqualTo(NOW);
      assertThat(update.error()).isEmpty();
    });
  }

  @Test
  void watch_streamBreaksAfterAMessage_reportsUnknownOnceAndReconnectsAtOnce() {
    client.watch("web", listener);
    server.lastWatch().onNext(response(SERVING));

    server.lastWatch().onError(Status.UNAVAILABLE.withDescription("connection reset").asRuntimeException());

    assertThat(listener.updates).last().satisfies(update -> {
      assertThat(update.status()).isEqualTo(UNKNOWN);
      assertThat(update.error()).isEqualTo("UNAVAILABLE: connection reset");
    });
    assertThat(server.watches()).as("a new stream, without waiting").hasSize(2);
    assertThat(scheduler.delays()).isEmpty();

    server.lastWatch().onNext(response(SERVING));
    assertThat(listener.statuses()).containsExactly(SERVING, UNKNOWN, SERVING);
  }

  @Test
  void watch_serverEndsTheStream_countsAsBrokenAndReconnects() {
    client.watch("web", listener);
    server.lastWatch().onNext(response(SERVING));

    server.lastWatch().onCompleted();

    assertThat(listener.statuses()).containsExactly(SERVING, UNKNOWN);
    assertThat(server.watches()).hasSize(2);
  }

  @Test
  void watch_streamsFailWithoutMessages_retryAfterExponentialBackoff_reportingUnknownOnce() {
    client.watch("web", listener);

    server.lastWatch().onError(Status.UNAVAILABLE.asRuntimeException());
    assertThat(scheduler.delays()).containsExactly(Duration.ofSeconds(1));
    assertThat(server.watches()).as("no stream before the delay").hasSize(1);

    scheduler.runNext();
    assertThat(server.watches()).hasSize(2);
    server.lastWatch().onError(Status.UNAVAILABLE.asRuntimeException());
    scheduler.runNext();
    server.lastWatch().onError(Status.UNAVAILABLE.asRuntimeException());
    scheduler.runNext();
    server.lastWatch().onError(Status.UNAVAILABLE.asRuntimeException());
    scheduler.runNext();
    server.lastWatch().onError(Status.UNAVAILABLE.asRuntimeException());

    assertThat(scheduler.delays()).containsExactly(Duration.ofSeconds(1), Duration.ofSeconds(2),
        Duration.ofSeconds(4), Duration.ofSeconds(8), Duration.ofSeconds(10));
    assertThat(listener.statuses()).containsExactly(UNKNOWN);
    assertThat(listener.updates.get(0).error()).isEqualTo("UNAVAILABLE");
  }

  @Test
  void watch_failedStreamTookAWhile_waitsOnlyTheRestOfTheBackoff() {
    client.watch("web", listener);
    ticker.advance(Duration.ofMillis(300));

    server.lastWatch().onError(Status.UNAVAILABLE.asRuntimeException());

    assertThat(scheduler.delays()).containsExactly(Duration.ofMillis(700));
  }

  @Test
  void watch_aMessage_startsTheBackoffOver() {
    client.watch("web", listener);
    server.lastWatch().onError(Status.UNAVAILABLE.asRuntimeException());
    scheduler.runNext();
    server.lastWatch().onError(Status.UNAVAILABLE.asRuntimeException());
    scheduler.runNext();
    assertThat(scheduler.delays()).containsExactly(Duration.ofSeconds(1), Duration.ofSeconds(2));

    server.lastWatch().onNext(response(SERVING));
    server.lastWatch().onError(Status.UNAVAILABLE.asRuntimeException());
    assertThat(scheduler.delays()).as("after a message: again at once").hasSize(2);
    server.lastWatch().onError(Status.UNAVAILABLE.asRuntimeException());

    assertThat(scheduler.delays()).containsExactly(Duration.ofSeconds(1), Duration.ofSeconds(2), Duration.ofSeconds(1));
    assertThat(listener.statuses()).containsExactly(UNKNOWN, SERVING, UNKNOWN);
  }

  @Test
  void watch_serverWithoutHealthService_stopsAndReportsUnimplemented() throws Exception {
    try (FakeHealthServer bare = FakeHealthServer.inProcess().withoutHealthService().start();
        DockhealthClient bareClient = client(bare)) {
      bareClient.watch("web", listener);

      assertThat(listener.stops).singleElement()
          .satisfies(status -> assertThat(status.getCode()).isEqualTo(Status.Code.UNIMPLEMENTED));
      assertThat(listener.updates).isEmpty();
      assertThat(scheduler.delays()).as("no retry").isEmpty();
    }
  }

  @Test
  void watch_closed_cancelsTheStream_andDeliversNothingMore() {
    Watch watch = client.watch("web", listener);
    server.lastWatch().onNext(response(SERVING));
    ServerCallStreamObserver<HealthCheckResponse> stream =
        (ServerCallStreamObserver<HealthCheckResponse>) server.lastWatch();

    watch.close();

    assertThat(stream.isCancelled()).isTrue();
    assertThat(listener.statuses()).containsExactly(SERVING);
    assertThat(server.watches()).as("no reconnect").hasSize(1);
  }

  @Test
  void watch_closedWhileWaitingToReconnect_neverReconnects() {
    Watch watch = client.watch("web", listener);
    server.lastWatch().onError(Status.UNAVAILABLE.asRuntimeException());
    assertThat(scheduler.pending()).hasSize(1);

    watch.close();

    assertThat(scheduler.pending()).isEmpty();
    assertThat(server.watches()).hasSize(1);
  }

  @Test
  void watch_listenerThrows_logsAndCarriesOn() {
    Logger logger = Logger.getLogger(ReconnectingStream.class.getName());
    List<LogRecord> logged = new CopyOnWriteArrayList<>();
    Handler capture = new Handler() {
      @Override
      public void publish(LogRecord record) {
        logged.add(record);
      }

      @Override
      public void flush() {}

      @Override
      public void close() {}
    };
    logger.addHandler(capture);
    logger.setUseParentHandlers(false); // keep the expected stack traces out of the build log
    Level level = logger.getLevel();
    logger.setLevel(Level.ALL); // whatever another test did to the root logger (the probe turns it off)
    try {
      client.watch("web", listener);
      listener.throwOnUpdate();

      server.lastWatch().onNext(response(SERVING));
      server.lastWatch().onNext(response(NOT_SERVING));

      assertThat(listener.statuses()).containsExactly(SERVING, NOT_SERVING);
      assertThat(server.watches()).hasSize(1);
      assertThat(logged).hasSize(2).allSatisfy(record -> {
        assertThat(record.getLevel()).isEqualTo(Level.WARNING);
        assertThat(record.getMessage()).contains("the watch carries on");
      });
    } finally {
      logger.removeHandler(capture);
      logger.setUseParentHandlers(true);
      logger.setLevel(level);
    }
  }

  @Test
  void close_endsEveryWatch() {
    client.watch("a", listener);
    client.watch("b", listener);
    ServerCallStreamObserver<?> a = (ServerCallStreamObserver<?>) server.watches().get(0);
    ServerCallStreamObserver<?> b = (ServerCallStreamObserver<?>) server.watches().get(1);

    client.close();

    assertThat(a.isCancelled()).isTrue();
    assertThat(b.isCancelled()).isTrue();
    assertThat(listener.updates).isEmpty();
    assertThat(scheduler.delays()).isEmpty();
  }
}
