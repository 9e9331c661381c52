package io.dockhealth.server.docker;

import com.github.dockerjava.api.command.HealthState;
import com.github.dockerjava.api.command.HealthStateLog;
import com.github.dockerjava.api.command.InspectContainerResponse;
import com.github.dockerjava.api.model.ExposedPort;
import com.github.dockerjava.api.model.Ports;
import com.google.common.collect.ImmutableList;
import com.google.common.collect.ImmutableMap;
import io.dockhealth.server.model.ContainerRecord;
import io.dockhealth.server.model.ContainerState;
import io.dockhealth.server.model.HealthStatus;
import io.dockhealth.server.model.PortMapping;
import io.dockhealth.server.model.ProbeResult;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Turns Docker's answers into model records, checking them on the way: an answer the model cannot
 * use is rejected with a message naming the field, what it held and what was expected.
 */
final class DockerMapping {
  /** Docker's zero time, which it reports for "never" (a container that never started). */
  private static final Instant DOCKER_ZERO_TIME = Instant.parse("0001-01-01T00:00:00Z");

  private DockerMapping() {}

  /** The record for one {@code GET /containers/{id}/json} answer. */
  static ContainerRecord fromInspect(InspectContainerResponse inspect) {
    String id = inspect.getId();
    if (id == null || !id.matches("[0-9a-f]{64}")) {
      throw new DockerAnswerException("container inspect: Id " + quote(id) + " (expected: 64 lower-case hex digits)");
    }
    String name = stripSlash(inspect.getName());
    if (name.isEmpty()) {
      throw new DockerAnswerException("container " + id + ": Name is empty (expected: \"/<name>\")");
    }
    InspectContainerResponse.ContainerState state = inspect.getState();
    if (state == null) {
      throw new DockerAnswerException("container " + name + ": State is missing (expected: an object)");
    }
    HealthState health = state.getHealth();
    String image = inspect.getConfig() != null && inspect.getConfig().getImage() != null
        ? inspect.getConfig().getImage()
        : nullToEmpty(inspect.getImageId());
    return new ContainerRecord(
        id,
        name,
        image,
        command(inspect),
        required(inspect.getCreated(), name, "Created"),
        ContainerState.fromDocker(state.getStatus()),
        health != null ? HealthStatus.fromDocker(health.getStatus())
            : healthcheckConfigured(inspect) ? HealthStatus.STARTING : HealthStatus.NONE,
        health == null || health.getFailingStreak() == null ? 0 : health.getFailingStreak(),
        probes(health, name),
        state.getExitCodeLong() == null ? 0 : state.getExitCodeLong().intValue(),
        Boolean.TRUE.equals(state.getOOMKilled()),
        parseTime(state.getStartedAt(), name, "State.StartedAt"),
        parseTime(state.getFinishedAt(), name, "State.FinishedAt"),
        inspect.getRestartCount() == null ? 0 : inspect.getRestartCount(),
        ports(inspect),
        labels(inspect));
  }

  /**
   * Docker creates {@code State.Health} only when a container first starts; before that, only the
   * configuration tells that a HEALTHCHECK will run. Such a container counts as {@code starting},
   * so its first start never looks healthy for a moment.
   */
  private static boolean healthcheckConfigured(InspectContainerResponse inspect) {
    if (inspect.getConfig() == null || inspect.getConfig().getHealthcheck() == null) {
      return false;
    }
    List<String> test = inspect.getConfig().getHealthcheck().getTest();
    return test != null && !test.isEmpty() && !test.get(0).equals("NONE");
  }

  /** Docker's {@code Path} and {@code Args} joined the way {@code docker ps} shows them. */
  private static String command(InspectContainerResponse inspect) {
    StringBuilder command = new StringBuilder(nullToEmpty(inspect.getPath()));
    if (inspect.getArgs() != null) {
      for (String arg : inspect.getArgs()) {
        command.append(' ').append(arg);
      }
    }
    return command.toString().trim();
  }

  private static ImmutableList<ProbeResult> probes(HealthState health, String name) {
    if (health == null || health.getLog() == null) {
      return ImmutableList.of();
    }
    ImmutableList.Builder<ProbeResult> probes = ImmutableList.builder();
    for (HealthStateLog log : health.getLog()) {
      probes.add(new ProbeResult(
          required(log.getStart(), name, "State.Health.Log.Start"),
          required(log.getEnd(), name, "State.Health.Log.End"),
          log.getExitCodeLong() == null ? -1 : log.getExitCodeLong().intValue(),
          nullToEmpty(log.getOutput())));
    }
    return probes.build();
  }

  private static ImmutableList<PortMapping> ports(InspectContainerResponse inspect) {
    if (inspect.getNetworkSettings() == null || inspect.getNetworkSettings().getPorts() == null) {
      return ImmutableList.of();
    }
    List<PortMapping> ports = new ArrayList<>();
    for (Map.Entry<ExposedPort, Ports.Binding[]> entry :
        inspect.getNetworkSettings().getPorts().getBindings().entrySet()) {
      ExposedPort exposed = entry.getKey();
      String protocol = exposed.getProtocol() == null ? "tcp" : exposed.getProtocol().toString();
      Ports.Binding[] bindings = entry.getValue();
      if (bindings == null || bindings.length == 0) {
        ports.add(new PortMapping(exposed.getPort(), protocol, "", 0));
        continue;
      }
      for (Ports.Binding binding : bindings) {
        ports.add(new PortMapping(exposed.getPort(), protocol, nullToEmpty(binding.getHostIp()),
            hostPort(binding.getHostPortSpec())));
      }
    }
    ports.sort(Comparator.comparingInt(PortMapping::privatePort)
        .thenComparing(PortMapping::protocol)
        .thenComparing(PortMapping::hostIp)
        .thenComparingInt(PortMapping::hostPort));
    return ImmutableList.copyOf(ports);
  }

  private static int hostPort(String spec) {
    if (spec == null || spec.isEmpty()) {
      return 0;
    }
    try {
      return Integer.parseInt(spec);
    } catch (NumberFormatException e) {
      throw new DockerAnswerException("port binding HostPort " + quote(spec) + " (expected: a port number)");
    }
  }

  private static ImmutableMap<String, String> labels(InspectContainerResponse inspect) {
    if (inspect.getConfig() == null || inspect.getConfig().getLabels() == null) {
      return ImmutableMap.of();
    }
    return ImmutableMap.copyOf(inspect.getConfig().getLabels());
  }

  private static Instant required(String timestamp, String container, String field) {
    return parseTime(timestamp, container, field)
        .orElseThrow(() -> new DockerAnswerException(
            "container " + container + ": " + field + " is missing (expected: an RFC 3339 time)"));
  }

  /** Parses Docker's RFC 3339 times; empty and Docker's zero time both mean "never". */
  static Optional<Instant> parseTime(String timestamp, String container, String field) {
    if (timestamp == null || timestamp.isEmpty()) {
      return Optional.empty();
    }
    try {
      Instant instant = OffsetDateTime.parse(timestamp).toInstant();
      return instant.equals(DOCKER_ZERO_TIME) ? Optional.empty() : Optional.of(instant);
    } catch (DateTimeParseException e) {
      throw new DockerAnswerException("container " + container + ": " + field + " " + quote(timestamp)
          + " (expected: an RFC 3339 time such as 2024-03-08T06:08:37.5Z)");
    }
  }

  static String stripSlash(String name) {
    if (name == null) {
      return "";
    }
    return name.startsWith("/") ? name.substring(1) : name;
  }

  private static String nullToEmpty(String s) {
    return s == null ? "" : s;
  }

  private static String quote(String s) {
    return s == null ? "null" : "\"" + s + "\"";
  }
}
