package io.dockhealth.server.grpc;

import io.dockhealth.proto.v1.ContainerHealthGrpc;
import io.dockhealth.server.api.Exposure;
import io.grpc.HandlerRegistry;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.ServerMethodDefinition;
import io.grpc.Status;

/**
 * With {@code --details=health}, dockhealth.v1 is not served: its calls answer UNIMPLEMENTED saying
 * why, instead of grpc's bare "Method not found". Reflection does not list it (only the services the
 * server was given are listed, and this is not one of them). Only the service's own methods are
 * answered, so the metrics' method label keeps to a known set.
 */
final class ContainerDetailOff extends HandlerRegistry {
  private static final Status OFF = Status.UNIMPLEMENTED.withDescription(
      Exposure.containerDetailOff(ContainerHealthGrpc.SERVICE_NAME));

  @Override
  public ServerMethodDefinition<?, ?> lookupMethod(String methodName, String authority) {
    for (MethodDescriptor<?, ?> method : ContainerHealthGrpc.getServiceDescriptor().getMethods()) {
      if (method.getFullMethodName().equals(methodName)) {
        return refused(method);
      }
    }
    return null;
  }

  private static <Q, R> ServerMethodDefinition<Q, R> refused(MethodDescriptor<Q, R> method) {
    return ServerMethodDefinition.create(method, (call, headers) -> {
      call.close(OFF, new Metadata());
      return new ServerCall.Listener<>() {};
    });
  }
}
