package io.dockhealth.server.grpc;

import io.dockhealth.server.logging.ClientFaults;
import io.grpc.BindableService;
import io.grpc.ForwardingServerCallListener.SimpleForwardingServerCallListener;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;

/**
 * Answers a request that does not parse (a service name that is not UTF-8, bytes that are not a
 * protobuf) with INVALID_ARGUMENT and one rate-limited log line. Left to grpc-java, a parse failure
 * in a handler's thread surfaces as UNKNOWN "Application error processing RPC" with a stack trace
 * in the log for every such request. Every service the server has goes through it, server
 * reflection included.
 */
final class MalformedRequests {
  private MalformedRequests() {}

  /** The service, checking each request message before its handler sees it. */
  static ServerServiceDefinition rejected(BindableService service, ClientFaults faults) {
    ServerServiceDefinition typed = service.bindService();
    return ServerInterceptors.intercept(ServerInterceptors.useInputStreamMessages(typed), new ServerInterceptor() {
      @Override
      public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
          ServerCallHandler<Q, R> next) {
        MethodDescriptor<?, ?> method =
            typed.getMethod(call.getMethodDescriptor().getFullMethodName()).getMethodDescriptor();
        return new Checking<>(next.startCall(call, headers), call, method, faults);
      }
    });
  }

  private static final class Checking<Q, R> extends SimpleForwardingServerCallListener<Q> {
    private final ServerCall<Q, R> call;
    private final MethodDescriptor<?, ?> method;
    private final ClientFaults faults;
    private boolean rejected; // calls on one listener are serialized by grpc

    Checking(ServerCall.Listener<Q> delegate, ServerCall<Q, R> call, MethodDescriptor<?, ?> method,
        ClientFaults faults) {
      super(delegate);
      this.call = call;
      this.method = method;
      this.faults = faults;
    }

    @Override
    @SuppressWarnings("unchecked") // Q is InputStream: the definition was made with useInputStreamMessages
    public void onMessage(Q message) {
      if (rejected) {
        return;
      }
      byte[] bytes;
      try (InputStream stream = (InputStream) message) {
        bytes = stream.readAllBytes();
        method.parseRequest(new ByteArrayInputStream(bytes));
      } catch (IOException | RuntimeException e) {
        rejected = true;
        faults.report("malformed gRPC request", "gRPC client {} sent a malformed {} request: {}",
            ClientFaults.client(call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR)), method.getFullMethodName(), e.getMessage());
        call.close(Status.INVALID_ARGUMENT.withDescription("malformed " + method.getFullMethodName()
            + " request (expected: a protobuf message with valid UTF-8 strings)"), new Metadata());
        return;
      }
      super.onMessage((Q) new ByteArrayInputStream(bytes));
    }

    @Override
    public void onHalfClose() {
      if (!rejected) {
        super.onHalfClose();
      }
    }

    @Override
    public void onReady() {
      if (!rejected) {
        super.onReady();
      }
    }
  }
}
