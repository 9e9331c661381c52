package io.dockhealth.testing;

import io.dockhealth.proto.health.v1.HealthCheckRequest;
import io.dockhealth.proto.health.v1.HealthCheckResponse;
import io.dockhealth.proto.health.v1.HealthGrpc;
import io.dockhealth.proto.v1.Container;
import io.dockhealth.proto.v1.ContainerHealthGrpc;
import io.dockhealth.proto.v1.GetContainerRequest;
import io.dockhealth.proto.v1.ListContainersRequest;
import io.dockhealth.proto.v1.ListContainersResponse;
import io.grpc.CallOptions;
import io.grpc.Context;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.StreamObserver;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/** A gRPC client of the sidecar over real TCP, for integration tests. */
public final class HealthClient implements AutoCloseable {
  private final ManagedChannel channel;
  private final List<Context.CancellableContext> watches = new ArrayList<>();

  public HealthClient(InetSocketAddress address) {
    this(NettyChannelBuilder.forAddress(address).usePlaintext().build());
  }

  /** A client over {@code channel}, such as a {@link FakeHealthServer}'s; {@link #close()} shuts it down. */
  public HealthClient(ManagedChannel channel) {
    this.channel = channel;
  }

  /** The channel, for calls this class has no shortcut for. */
  public ManagedChannel channel() {
    return channel;
  }

  /** SERVING, NOT_SERVING, or the gRPC code of the failure (NOT_FOUND, UNAVAILABLE, ...). */
  public String check(String service) {
    try {
      return HealthGrpc.newBlockingStub(channel).withDeadlineAfter(5, TimeUnit.SECONDS)
          .check(HealthCheckRequest.newBuilder().setService(service).build())
          .getStatus().name();
    } catch (StatusRuntimeException e) {
      return e.getStatus().getCode().name();
    }
  }

  /**
   * Sends {@code message} as it is, parsed by nothing on this side, as the one request of the
   * method {@code fullMethodName} (such as {@code grpc.reflection.v1.ServerReflection/ServerReflectionInfo}),
   * half-closes, and returns how the call ended; 5 s deadline. For requests a generated stub
   * cannot send: garbage, truncated messages.
   */
  public Status raw(String fullMethodName, byte[] message) {
    MethodDescriptor<byte[], byte[]> method = MethodDescriptor.<byte[], byte[]>newBuilder()
        .setType(MethodDescriptor.MethodType.BIDI_STREAMING)
        .setFullMethodName(fullMethodName)
        .setRequestMarshaller(BYTES)
        .setResponseMarshaller(BYTES)
        .build();
    CompletableFuture<Status> end = new CompletableFuture<>();
    StreamObserver<byte[]> requests = ClientCalls.asyncBidiStreamingCall(
        channel.newCall(method, CallOptions.DEFAULT.withDeadlineAfter(5, TimeUnit.SECONDS)), new StreamObserver<>() {
          @Override
          public void onNext(byte[] value) {}

          @Override
          public void onError(Throwable t) {
            end.complete(Status.fromThrowable(t));
          }

          @Override
          public void onCompleted() {
            end.complete(Status.OK);
          }
        });
    requests.onNext(message);
    requests.onCompleted();
    return end.join();
  }

  private static final MethodDescriptor.Marshaller<byte[]> BYTES = new MethodDescriptor.Marshaller<>() {
    @Override
    public InputStream stream(byte[] value) {
      return new ByteArrayInputStream(value);
    }

    @Override
    public byte[] parse(InputStream stream) {
      try {
        return stream.readAllBytes();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  };

  public Container container(String name) {
    return ContainerHealthGrpc.newBlockingStub(channel).withDeadlineAfter(5, TimeUnit.SECONDS)
        .getContainer(GetContainerRequest.newBuilder().setName(name).build());
  }

  public ListContainersResponse listContainers() {
    return ContainerHealthGrpc.newBlockingStub(channel).withDeadlineAfter(5, TimeUnit.SECONDS)
        .listContainers(ListContainersRequest.getDefaultInstance());
  }

  /**
   * The sidecar's containers, removed ones left out, in the form of {@link
   * DockerEngine#containerStates()}: full ID to {@code "name state health"} in Docker's words.
   */
  public Map<String, String> containerStates() {
    Map<String, String> states = new TreeMap<>();
    for (Container container : listContainers().getContainersList()) {
      if (!container.getRemoved()) {
        states.put(container.getId(), container.getNames(0) + " " + dockerWord(container.getState().name(), "STATE_")
            + " " + dockerWord(container.getHealth().name(), "HEALTH_"));
      }
    }
    return states;
  }

  private static String dockerWord(String protoName, String prefix) {
    return protoName.substring(prefix.length()).toLowerCase(Locale.ROOT);
  }

  /** Opens a Watch stream; what it receives collects in the returned list. */
  public Watch watch(String service) {
    Watch watch = new Watch();
    Context.CancellableContext context = Context.current().withCancellation();
    synchronized (watches) {
      watches.add(context);
    }
    context.run(() -> HealthGrpc.newStub(channel)
        .watch(HealthCheckRequest.newBuilder().setService(service).build(), watch));
    return watch;
  }

  @Override
  public void close() throws InterruptedException {
    synchronized (watches) {
      watches.forEach(c -> c.cancel(null));
    }
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
  }

  /** What one Watch stream received: statuses in order, and how it ended if it did. */
  public static final class Watch implements StreamObserver<HealthCheckResponse> {
    private final List<String> statuses = new CopyOnWriteArrayList<>();
    private volatile Status end;

    @Override
    public void onNext(HealthCheckResponse value) {
      statuses.add(value.getStatus().name());
    }

    @Override
    public void onError(Throwable t) {
      end = Status.fromThrowable(t);
    }

    @Override
    public void onCompleted() {
      end = Status.OK;
    }

    public List<String> statuses() {
      return List.copyOf(statuses);
    }

    /** The newest status received, or null before the first. */
    public String last() {
      List<String> copy = statuses();
      return copy.isEmpty() ? null : copy.get(copy.size() - 1);
    }

    /** Null while the stream is open. */
    public Status end() {
      return end;
    }
  }
}
