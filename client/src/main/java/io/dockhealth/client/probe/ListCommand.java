package io.dockhealth.client.probe;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.ListValue;
import com.google.protobuf.Message;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import com.google.protobuf.util.JsonFormat;
import io.dockhealth.client.DockhealthClient;
import io.dockhealth.proto.health.v1.HealthCheckResponse;
import io.dockhealth.proto.health.v1.HealthCheckResponse.ServingStatus;
import io.dockhealth.proto.health.v1.HealthListResponse;
import io.dockhealth.proto.v1.ListContainersResponse;
import io.dockhealth.proto.v1.ListServicesResponse;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.PrintWriter;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * {@code dockhealth-probe list}: every service name with its members and their containers'
 * health, from dockhealth.v1 ListServices and ListContainers; from grpc.health.v1.Health/List
 * (names and statuses only) on a server without dockhealth.v1.
 */
final class ListCommand implements Callable<Integer> {
  private final CommandSpec spec = CommandSpec.wrapWithoutInspection(this);
  private final ConnectionFlags connection;
  private final OptionSpec all;
  private final OptionSpec output;

  ListCommand() {
    spec.name("list");
    connection = new ConnectionFlags(spec, () -> { });
    all = Flags.bool(spec, "all", "also list the names that are only a container's full or 12-character ID");
    output = Flags.add(spec, OptionSpec.builder("-o", "--o", "-output", "--output").paramLabel("text|json")
        .type(OutputFormat.class).defaultValue("text")
        .description("text, or json: {version, inSync, services, containers} in proto3 JSON"));
    Flags.help(spec);
    spec.usageMessage()
        .width(100)
        .sortOptions(false)
        .header("print every name: status, members, container state, health, failing streak, last probe")
        .description(
            "Prints every service name the server answers for: its status, and for each member container"
                + " its state, HEALTHCHECK health, failing streak and last probe output (dockhealth.v1"
                + " ListServices and ListContainers). A server without dockhealth.v1 is asked"
                + " grpc.health.v1.Health/List instead: names and statuses only.",
            "",
            "  $ dockhealth-probe list -addr=localhost:4245",
            "  NAME    STATUS       MEMBER  STATE    HEALTH     STREAK  LAST PROBE",
            "  \"\"      SERVING",
            "  shop    SERVING      shop-1  running  healthy    0       ok",
            "                       shop-2  exited   unhealthy  3       curl: (7) Failed to connect",
            "  web-1   NOT_SERVING  web-1   running  starting   0",
            "",
            "Exit codes: 0 listed; 1 invalid arguments; 2 no connection within -connect-timeout;"
                + " 3 the RPC failed.",
            "",
            "Flags:");
  }

  CommandSpec spec() {
    return spec;
  }

  @Override
  public Integer call() {
    PrintWriter err = spec.commandLine().getErr();
    try {
      return list(spec.commandLine().getOut(), err);
    } catch (ProbeExit exit) {
      return exit.code;
    }
  }

  private int list(PrintWriter out, PrintWriter err) throws ProbeExit {
    connection.validate(err);
    try (DockhealthClient client = connection.connect(err).client()) {
      ListServicesResponse services;
      ListContainersResponse containers;
      try {
        services = client.listServices();
        containers = client.listContainers();
      } catch (StatusRuntimeException e) {
        if (e.getStatus().getCode() != Status.Code.UNIMPLEMENTED) {
          return failed(err, e.getStatus());
        }
        return listHealthOnly(client, out, err);
      }
      if (Flags.get(output) == OutputFormat.JSON) {
        out.println(json(services, containers));
      } else {
        ServiceTable.render(services, containers, Flags.get(all)).forEach(out::println);
        if (!services.getInSync()) {
          err.println("note: the sidecar is not in sync with Docker: statuses may be out of date");
        }
      }
      out.flush();
      return ExitCode.OK;
    }
  }

  private int listHealthOnly(DockhealthClient client, PrintWriter out, PrintWriter err) {
    Map<String, ServingStatus> statuses;
    try {
      statuses = client.list();
    } catch (StatusRuntimeException e) {
      return failed(err, e.getStatus());
    }
    if (Flags.get(output) == OutputFormat.JSON) {
      HealthListResponse.Builder response = HealthListResponse.newBuilder();
      statuses.forEach((name, status) ->
          response.putStatuses(name, HealthCheckResponse.newBuilder().setStatus(status).build()));
      out.println(print(response.build()));
    } else {
      ServiceTable.render(statuses).forEach(out::println);
    }
    out.flush();
    return ExitCode.OK;
  }

  private int failed(PrintWriter err, Status status) {
    if (status.getCode() == Status.Code.UNIMPLEMENTED) {
      err.println("error: this server does not implement the grpc health protocol (grpc.health.v1.Health): "
          + (status.getDescription() == null ? "" : status.getDescription()));
    } else if (status.getCode() == Status.Code.DEADLINE_EXCEEDED) {
      err.println("timeout: list rpc did not complete within " + GoDuration.format(connection.rpcTimeout()));
    } else {
      err.println("error: list rpc failed: " + GoText.rpcError(status));
    }
    return ExitCode.RPC_FAILURE;
  }

  /** Both answers in one object, each part in the proto3 JSON the HTTP gateway also serves. */
  static String json(ListServicesResponse services, ListContainersResponse containers) {
    try {
      Struct.Builder result = Struct.newBuilder();
      JsonFormat.parser().merge(print(services), result);
      Struct.Builder containerPart = Struct.newBuilder();
      JsonFormat.parser().merge(print(containers), containerPart);
      // proto3 JSON leaves out empty lists; an empty host still has a "containers" list.
      result.putFields("services", result.getFieldsOrDefault("services", emptyList()));
      result.putFields("containers", containerPart.getFieldsOrDefault("containers", emptyList()));
      return JsonFormat.printer().print(result);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("proto3 JSON of our own messages always parses", e);
    }
  }

  private static Value emptyList() {
    return Value.newBuilder().setListValue(ListValue.getDefaultInstance()).build();
  }

  private static String print(Message message) {
    try {
      return JsonFormat.printer().print(message);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("no Any fields in our messages", e);
    }
  }
}
