package io.dockhealth.server.grpc;

import io.dockhealth.server.logging.ClientFaults;
import io.grpc.BindableService;
import io.grpc.ForwardingServerCallListener.SimpleForwardingServerCallListener;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerMethodDefinition;
import io.grpc.ServerServiceDefinition;
import io.grpc.ServiceDescriptor;
import io.grpc.Status;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;

/**
 * Answers a request that does not parse (a service name that is not UTF-8, bytes that are not a
 * protobuf) with INVALID_ARGUMENT and one rate-limited log line. Left to grpc-java, a parse failure
 * in a handler's thread surfaces as UNKNOWN "Application error processing RPC" with a stack trace
 * in the log for every such request. Every service the server has goes through it, server
 * reflection included.
 *
 * <p>Each method's request marshaller is wrapped so that a parse failure becomes a value, {@link
 * Malformed}, which the call's listener answers; a request is parsed once, by the method's own
 * marshaller. Responses keep the method's own marshaller, so grpc-java writes them straight from the
 * message (grpc's {@code ServerInterceptors.useInputStreamMessages} would copy every response
 * through a stream).
 */
final class MalformedRequests {
  private MalformedRequests() {}

  /** The service, checking each request message before its handler sees it. */
  static ServerServiceDefinition rejected(BindableService service, ClientFaults faults) {
    ServerServiceDefinition typed = service.bindService();
    List<ServerMethodDefinition<?, ?>> methods = new ArrayList<>();
    ServiceDescriptor.Builder descriptor = ServiceDescriptor.newBuilder(typed.getServiceDescriptor().getName())
        .setSchemaDescriptor(typed.getServiceDescriptor().getSchemaDescriptor());
    for (ServerMethodDefinition<?, ?> method : typed.getMethods()) {
      ServerMethodDefinition<Object, ?> checked = checked(method, faults);
      methods.add(checked);
      descriptor.addMethod(checked.getMethodDescriptor());
    }
    ServerServiceDefinition.Builder checkedService = ServerServiceDefinition.builder(descriptor.build());
    methods.forEach(checkedService::addMethod);
    return checkedService.build();
  }

  private static <Q, R> ServerMethodDefinition<Object, R> checked(ServerMethodDefinition<Q, R> definition,
      ClientFaults faults) {
    MethodDescriptor<Q, R> method = definition.getMethodDescriptor();
    MethodDescriptor<Object, R> checkedMethod =
        method.toBuilder(new Checked<>(method.getRequestMarshaller()), method.getResponseMarshaller()).build();
    ServerCallHandler<Q, R> handler = definition.getServerCallHandler();
    return ServerMethodDefinition.create(checkedMethod, (call, headers) -> {
      @SuppressWarnings("unchecked") // only the request type differs, and only Checking sees requests
      ServerCall<Q, R> typedCall = (ServerCall<Q, R>) (ServerCall<?, R>) call;
      return new Checking<>(handler.startCall(typedCall, headers), call, method.getFullMethodName(), faults);
    });
  }

  /** A request that did not parse, with why. */
  private record Malformed(RuntimeException cause) {}

  /** The method's own request marshaller, with a parse failure as a {@link Malformed} value. */
  private record Checked<Q>(MethodDescriptor.Marshaller<Q> request) implements MethodDescriptor.Marshaller<Object> {
    @Override
    @SuppressWarnings("unchecked") // the server never streams a request out; clients use the plain descriptor
    public InputStream stream(Object value) {
      return request.stream((Q) value);
    }

    @Override
    public Object parse(InputStream stream) {
      try {
        return request.parse(stream);
      } catch (RuntimeException e) {
        return new Malformed(e);
      }
    }
  }

  private static final class Checking<Q> extends SimpleForwardingServerCallListener<Object> {
    private final ServerCall<Object, ?> call;
    private final String method;
    private final ClientFaults faults;
    private boolean rejected; // calls on one listener are serialized by grpc

    @SuppressWarnings("unchecked") // requests reach the delegate only once they are known to be Q
    Checking(ServerCall.Listener<Q> delegate, ServerCall<Object, ?> call, String method, ClientFaults faults) {
      super((ServerCall.Listener<Object>) delegate);
      this.call = call;
      this.method = method;
      this.faults = faults;
    }

    @Override
    public void onMessage(Object message) {
      if (rejected) {
        return;
      }
      if (message instanceof Malformed malformed) {
        rejected = true;
        faults.report("malformed gRPC request", "gRPC client {} sent a malformed {} request: {}",
            ClientFaults.client(call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR)), method,
            malformed.cause().getMessage());
        call.close(Status.INVALID_ARGUMENT.withDescription("malformed " + method
            + " request (expected: a protobuf message with valid UTF-8 strings)"), new Metadata());
        return;
      }
      super.onMessage(message);
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
