package io.dockhealth.testing;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A server-streaming call whose client reads only as many messages as it is told to: a slow
 * reader, for tests of what the server does meanwhile. Nothing is read until {@link #read}.
 *
 * <pre>{@code
 * StreamReader<HealthCheckRequest, HealthCheckResponse> watch = new StreamReader<>(channel,
 *     HealthGrpc.getWatchMethod(), HealthCheckRequest.newBuilder().setService("web").build());
 * watch.read(1);   // the first status, then nothing until the next read
 * }</pre>
 */
public final class StreamReader<Q, R> {
  private final List<R> received = new CopyOnWriteArrayList<>();
  private final AtomicReference<Status> end = new AtomicReference<>();
  private final ClientCall<Q, R> call;

  public StreamReader(Channel channel, MethodDescriptor<Q, R> method, Q request) {
    call = channel.newCall(method, CallOptions.DEFAULT);
    call.start(new ClientCall.Listener<>() {
      @Override
      public void onMessage(R message) {
        received.add(message);
      }

      @Override
      public void onClose(Status status, Metadata trailers) {
        end.set(status);
      }
    }, new Metadata());
    call.sendMessage(request);
    call.halfClose();
  }

  /** Lets up to {@code messages} more messages in. */
  public void read(int messages) {
    call.request(messages);
  }

  /** Every message read so far, in order. */
  public List<R> received() {
    return List.copyOf(received);
  }

  /** How the call ended, or null while it is open (a client learns it only after reading what came before). */
  public Status end() {
    return end.get();
  }

  public void cancel() {
    call.cancel("test done", null);
  }
}
