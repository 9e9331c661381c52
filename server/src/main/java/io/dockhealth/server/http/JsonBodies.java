package io.dockhealth.server.http;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.MessageOrBuilder;
import com.google.protobuf.util.JsonFormat;
import io.dockhealth.server.model.ContainerRecord;
import io.dockhealth.server.model.PortMapping;
import io.grpc.Status;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Locale;

/**
 * Response bodies. Our own routes answer the dockhealth.v1 messages in proto3 JSON, the same schema
 * as the gRPC API, and errors as google.rpc.Status in JSON (the shape grpc-gateway gives gRPC errors).
 * The drop-in routes answer container-healthcheck's own shape, built with Jackson.
 */
final class JsonBodies {
  /** {@code code} of a drop-in answer that succeeded, as container-healthcheck sends it. */
  static final int COMPAT_SUCCESS = 0;

  /** container-healthcheck's CONNECT_DOCKER_ERROR: the tool could not reach Docker. */
  static final int COMPAT_DOCKER_UNREACHABLE = 10;

  /** container-healthcheck's DOCKER_QUERY_ERROR: no container, or none fit to answer. */
  static final int COMPAT_QUERY_ERROR = 12;

  /**
   * Every field, defaults included ({@code "stale": false}, {@code "members": []}), so that scripts
   * find the same keys in every answer.
   */
  private static final JsonFormat.Printer PRINTER = JsonFormat.printer().alwaysPrintFieldsWithNoPresence();

  private static final ObjectMapper MAPPER = new ObjectMapper();

  private JsonBodies() {}

  /** A dockhealth.v1 message in proto3 JSON. */
  static byte[] proto(MessageOrBuilder message) {
    try {
      return (PRINTER.print(message) + "\n").getBytes(StandardCharsets.UTF_8);
    } catch (InvalidProtocolBufferException e) {
      // Only an Any with an unknown type fails to print, and our messages hold none.
      throw new IllegalStateException("cannot print " + message.getClass().getSimpleName(), e);
    }
  }

  /** An error as google.rpc.Status: the gRPC code the same failure has there, and what was wrong. */
  static byte[] error(Status.Code code, String message) {
    return proto(com.google.rpc.Status.newBuilder().setCode(code.value()).setMessage(message));
  }

  /** {@code {"code":..,"status":..,"message":..}}, container-healthcheck's envelope. */
  static byte[] compat(int code, String status, JsonNode message) {
    ObjectNode body = MAPPER.createObjectNode();
    body.put("code", code);
    body.put("status", status);
    body.set("message", message);
    try {
      return MAPPER.writeValueAsBytes(body);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot write a tree of plain nodes", e);
    }
  }

  static byte[] compatOk(JsonNode message) {
    return compat(COMPAT_SUCCESS, "ok", message);
  }

  static byte[] compatError(int code, String message) {
    return compat(code, "error", MAPPER.getNodeFactory().textNode(message));
  }

  static JsonNode text(String text) {
    return MAPPER.getNodeFactory().textNode(text);
  }

  /**
   * One container as container-healthcheck described it from Docker's container list: keys in
   * the order Go's encoding/json writes a map (sorted), {@code port} as Docker's list API writes
   * ports ({@code IP} and {@code PublicPort} only when published). {@code command} is empty unless
   * {@code commandLine}: the key stays, for clients that read it.
   */
  static ObjectNode compatContainer(ContainerRecord container, Instant now, boolean commandLine) {
    ObjectNode node = MAPPER.createObjectNode();
    node.put("command", commandLine ? container.command() : "");
    node.put("container_id", container.id().substring(0, 10));
    node.put("created", container.created().getEpochSecond());
    node.put("image", container.image());
    node.put("names", container.name());
    ArrayNode ports = node.putArray("port");
    for (PortMapping port : container.ports()) {
      ObjectNode p = ports.addObject();
      if (!port.hostIp().isEmpty()) {
        p.put("IP", port.hostIp());
      }
      p.put("PrivatePort", port.privatePort());
      if (port.hostPort() != 0) {
        p.put("PublicPort", port.hostPort());
      }
      p.put("Type", port.protocol());
    }
    node.put("state", container.state().name().toLowerCase(Locale.ROOT));
    node.put("status", DockerPsStatus.of(container, now));
    return node;
  }
}
