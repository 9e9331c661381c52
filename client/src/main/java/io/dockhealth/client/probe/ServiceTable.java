package io.dockhealth.client.probe;

import com.google.common.base.Ascii;
import com.google.common.base.CharMatcher;
import io.dockhealth.proto.health.v1.HealthCheckResponse.ServingStatus;
import io.dockhealth.proto.v1.Container;
import io.dockhealth.proto.v1.ListContainersResponse;
import io.dockhealth.proto.v1.ListServicesResponse;
import io.dockhealth.proto.v1.MembershipRule;
import io.dockhealth.proto.v1.ProbeResult;
import io.dockhealth.proto.v1.Service;
import io.dockhealth.proto.v1.ServiceMember;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * The table {@code dockhealth-probe list} prints: one row per service name and member container,
 * with the container's state, HEALTHCHECK health, failing streak and last probe output.
 *
 * <pre>
 * NAME   STATUS       MEMBER  STATE    HEALTH     STREAK  LAST PROBE
 * ""     SERVING
 * shop   SERVING      shop-1  running  healthy    0       ok
 *                     shop-2  exited   unhealthy  3       curl: (7) Failed to connect
 * </pre>
 */
final class ServiceTable {
  static final List<String> HEADER = List.of("NAME", "STATUS", "MEMBER", "STATE", "HEALTH", "STREAK", "LAST PROBE");
  private static final int MAX_PROBE_OUTPUT = 60;

  private ServiceTable() {}

  /**
   * The rows, header first, aligned.
   *
   * @param all also the names that are only a container's full or short ID (every container has
   *     both; listing them triples the table)
   */
  static List<String> render(ListServicesResponse services, ListContainersResponse containers, boolean all) {
    Map<String, Container> byId = containers.getContainersList().stream()
        .collect(Collectors.toMap(Container::getId, Function.identity(), (a, b) -> a));
    List<List<String>> rows = new ArrayList<>();
    rows.add(HEADER);
    for (Service service : services.getServicesList()) {
      if (!all && isIdOnly(service)) {
        continue;
      }
      String status = service.getStatus().name() + (service.getStale() ? " (stale)" : "");
      String name = service.getName().isEmpty() ? "\"\"" : service.getName();
      if (service.getMembersCount() == 0) {
        rows.add(List.of(name, status, "", "", "", "", ""));
      }
      boolean first = true;
      for (ServiceMember member : service.getMembersList()) {
        Container container = byId.get(member.getContainerId());
        List<String> row = new ArrayList<>(List.of(first ? name : "", first ? status : "", member.getContainerName()));
        row.addAll(container == null ? List.of("-", "-", "-", "-") : describe(container));
        rows.add(row);
        first = false;
      }
    }
    return align(rows);
  }

  /** For a server with only grpc.health.v1: names and statuses. */
  static List<String> render(Map<String, ServingStatus> statuses) {
    List<List<String>> rows = new ArrayList<>();
    rows.add(List.of("NAME", "STATUS"));
    statuses.forEach((name, status) -> rows.add(List.of(name.isEmpty() ? "\"\"" : name, status.name())));
    return align(rows);
  }

  private static boolean isIdOnly(Service service) {
    return service.getMembersCount() > 0 && service.getMembersList().stream().allMatch(m ->
        m.getRule() == MembershipRule.MEMBERSHIP_RULE_CONTAINER_ID
            || m.getRule() == MembershipRule.MEMBERSHIP_RULE_SHORT_ID);
  }

  private static List<String> describe(Container container) {
    String state = container.getRemoved() ? "removed" : lower(container.getState().name(), "STATE_");
    String health = lower(container.getHealth().name(), "HEALTH_");
    String lastProbe = "";
    if (container.getProbesCount() > 0) {
      ProbeResult last = container.getProbes(container.getProbesCount() - 1);
      lastProbe = oneLine(last.getOutput());
    }
    return List.of(state, health, Integer.toString(container.getFailingStreak()), lastProbe);
  }

  private static String lower(String enumName, String prefix) {
    return Ascii.toLowerCase(enumName.startsWith(prefix) ? enumName.substring(prefix.length()) : enumName);
  }

  /** Probe output is free text of up to 4 KiB: one line, blanks collapsed, cut short. */
  private static String oneLine(String output) {
    String line = CharMatcher.whitespace().trimAndCollapseFrom(output, ' ');
    return line.length() <= MAX_PROBE_OUTPUT ? line : line.substring(0, MAX_PROBE_OUTPUT - 3) + "...";
  }

  private static List<String> align(Collection<List<String>> rows) {
    int columns = rows.iterator().next().size();
    int[] widths = new int[columns];
    for (List<String> row : rows) {
      for (int i = 0; i < columns; i++) {
        widths[i] = Math.max(widths[i], row.get(i).length());
      }
    }
    List<String> lines = new ArrayList<>();
    for (List<String> row : rows) {
      StringBuilder line = new StringBuilder();
      for (int i = 0; i < columns; i++) {
        line.append(i == columns - 1 ? row.get(i) : String.format("%-" + (widths[i] + 2) + "s", row.get(i)));
      }
      lines.add(CharMatcher.whitespace().trimTrailingFrom(line));
    }
    return lines;
  }
}
