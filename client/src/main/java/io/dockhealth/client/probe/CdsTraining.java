package io.dockhealth.client.probe;

import io.dockhealth.proto.health.v1.HealthCheckRequest;
import io.dockhealth.proto.health.v1.HealthCheckResponse;
import io.dockhealth.proto.health.v1.HealthCheckResponse.ServingStatus;
import io.dockhealth.proto.health.v1.HealthGrpc;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;

/**
 * The run that a class-data sharing archive is made from ({@code java
 * -XX:ArchiveClassesAtExit=dockhealth-probe.jsa -jar dockhealth-probe.jar --cds-training}): the
 * probe checks a health server started in the same JVM, so every class a real check loads, from
 * picocli to Netty to the generated messages, is loaded once and lands in the archive. The launcher
 * maps the archive instead of loading and verifying those classes on every probe.
 */
final class CdsTraining {
  static final String FLAG = "--cds-training";

  private CdsTraining() {}

  static void run() throws Exception {
    Server server = NettyServerBuilder.forAddress(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))
        .addService(new HealthGrpc.HealthImplBase() {
          @Override
          public void check(HealthCheckRequest request, StreamObserver<HealthCheckResponse> responseObserver) {
            switch (request.getService()) {
              case "" -> {
                responseObserver.onNext(HealthCheckResponse.newBuilder().setStatus(ServingStatus.SERVING).build());
                responseObserver.onCompleted();
              }
              case "down" -> {
                responseObserver.onNext(HealthCheckResponse.newBuilder().setStatus(ServingStatus.NOT_SERVING).build());
                responseObserver.onCompleted();
              }
              default -> responseObserver.onError(Status.NOT_FOUND
                  .withDescription("unknown service \"" + request.getService() + "\"").asRuntimeException());
            }
          }
        })
        .build()
        .start();
    try {
      String addr = "127.0.0.1:" + server.getPort();
      PrintWriter sink = new PrintWriter(OutputStream.nullOutputStream());
      // The common path, then the ones a HEALTHCHECK meets when things go wrong.
      for (String[] args : new String[][] {
          {"-addr=" + addr},
          {"-addr", addr, "-service=down", "-v"},
          {"-addr=" + addr, "-service=nope", "-rpc-header=x-probe: 1", "-gzip"},
          {"-addr=" + addr, "-connect-timeout=nonsense"},
      }) {
        Main.run(args, sink, sink);
      }
    } finally {
      server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }
}
