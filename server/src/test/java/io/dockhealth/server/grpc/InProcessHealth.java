package io.dockhealth.server.grpc;

import io.dockhealth.server.api.Exposure;
import io.dockhealth.server.model.Registry;
import io.dockhealth.server.model.ServiceRules;
import io.dockhealth.server.testing.FakeClock;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.ForwardingServerCall.SimpleForwardingServerCall;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/** The gRPC services over a registry, in process, counting every message the server sends. */
final class InProcessHealth implements AutoCloseable {
  final FakeClock clock = new FakeClock(Instant.parse("2026-11-23T10:00:00Z"));
  final Registry registry = new Registry(ServiceRules.defaults(), Duration.ofSeconds(30), Duration.ofSeconds(60),
      clock, clock);
  final HealthService health;
  final ContainerHealthService containers;
  final AtomicLong messagesSent = new AtomicLong();
  final ManagedChannel channel;
  private final Server server;

  /** Everything shown, probe output included. */
  InProcessHealth(int maxWatchStreams) throws IOException {
    this(maxWatchStreams, new Exposure(Exposure.Details.FULL, true));
  }

  InProcessHealth(int maxWatchStreams, Exposure exposure) throws IOException {
    health = new HealthService(registry, maxWatchStreams, false);
    containers = new ContainerHealthService(registry, maxWatchStreams, exposure);
    registry.addHealthListener(health);
    registry.addListener(containers);
    String name = InProcessServerBuilder.generateName();
    ServerInterceptor counter = new ServerInterceptor() {
      @Override
      public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
          ServerCallHandler<Q, R> next) {
        return next.startCall(new SimpleForwardingServerCall<>(call) {
          @Override
          public void sendMessage(R message) {
            messagesSent.incrementAndGet();
            super.sendMessage(message);
          }
        }, headers);
      }
    };
    server = InProcessServerBuilder.forName(name)
        .directExecutor()
        .addService(ServerInterceptors.intercept(health, counter))
        .addService(ServerInterceptors.intercept(containers, counter))
        .build()
        .start();
    channel = InProcessChannelBuilder.forName(name).directExecutor().build();
  }

  @Override
  public void close() throws InterruptedException {
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
  }
}
