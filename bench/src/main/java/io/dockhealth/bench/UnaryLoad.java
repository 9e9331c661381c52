package io.dockhealth.bench;

import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

/**
 * A closed-loop grpc-java load generator for grpc.health.v1.Health/Check: N connections, M calls
 * in flight on each; every call that ends starts the next, cycling through the known names. Calls
 * carry a 10 s deadline, as real clients' do. The client is grpc-services' own generated stub, not
 * ours, and the same for both servers.
 */
final class UnaryLoad {
  /** Calls per second and the latency histogram (nanoseconds) of one measured window. */
  record Result(double callsPerSecond, Histogram latencies, long failed) {
    double micros(double percentile) {
      return latencies.getValueAtPercentile(percentile) / 1000.0;
    }
  }

  private UnaryLoad() {}

  /** {@code connections} plaintext channels to 127.0.0.1:port, callbacks on the transport threads. */
  static List<ManagedChannel> channels(int port, int connections) {
    List<ManagedChannel> channels = new ArrayList<>();
    for (int i = 0; i < connections; i++) {
      ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().directExecutor().build();
      channel.getState(true);
      channels.add(channel);
    }
    return channels;
  }

  static void shutdown(List<ManagedChannel> channels) {
    for (ManagedChannel channel : channels) {
      channel.shutdownNow();
    }
    for (ManagedChannel channel : channels) {
      try {
        channel.awaitTermination(5, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /** Runs the load: {@code warmup} unmeasured, then {@code measure} measured; waits for the calls to end. */
  static Result run(List<ManagedChannel> channels, int inFlightPerChannel, List<HealthCheckRequest> requests,
      Duration warmup, Duration measure) {
    Recorder recorder = new Recorder(3);
    LongAdder completed = new LongAdder();
    LongAdder failed = new LongAdder();
    AtomicBoolean stop = new AtomicBoolean();
    AtomicBoolean recording = new AtomicBoolean();
    CountDownLatch slotsDone = new CountDownLatch(channels.size() * inFlightPerChannel);

    final class Slot {
      private final ManagedChannel channel;
      private int next;

      Slot(ManagedChannel channel, int start) {
        this.channel = channel;
        this.next = start;
      }

      void fire() {
        if (stop.get()) {
          slotsDone.countDown();
          return;
        }
        HealthCheckRequest request = requests.get(next);
        next = (next + 1) % requests.size();
        long start = System.nanoTime();
        ClientCalls.asyncUnaryCall(
            channel.newCall(HealthGrpc.getCheckMethod(), CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS)),
            request,
            new StreamObserver<HealthCheckResponse>() {
              @Override
              public void onNext(HealthCheckResponse response) {}

              @Override
              public void onError(Throwable t) {
                if (recording.get()) {
                  failed.increment();
                }
                fire();
              }

              @Override
              public void onCompleted() {
                if (recording.get()) {
                  recorder.recordValue(System.nanoTime() - start);
                  completed.increment();
                }
                fire();
              }
            });
      }
    }

    int slot = 0;
    List<Slot> slots = new ArrayList<>();
    for (ManagedChannel channel : channels) {
      for (int i = 0; i < inFlightPerChannel; i++) {
        slots.add(new Slot(channel, (slot++ * 7919) % requests.size()));
      }
    }
    slots.forEach(Slot::fire);
    Proc.sleep(warmup);
    recorder.getIntervalHistogram(); // drop anything recorded so far (nothing: not recording yet)
    long t0 = System.nanoTime();
    recording.set(true);
    Proc.sleep(measure);
    recording.set(false);
    long t1 = System.nanoTime();
    Histogram histogram = recorder.getIntervalHistogram();
    long calls = completed.sum();
    stop.set(true);
    try {
      if (!slotsDone.await(20, TimeUnit.SECONDS)) {
        throw new IllegalStateException("calls still in flight 20 s after the load stopped");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
    return new Result(calls / ((t1 - t0) / 1e9), histogram, failed.sum());
  }
}
