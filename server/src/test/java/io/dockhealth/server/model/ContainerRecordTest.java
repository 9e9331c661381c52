package io.dockhealth.server.model;

import static org.assertj.core.api.Assertions.assertThat;

import io.dockhealth.server.testing.ContainerFixtures;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ContainerRecordTest {
  private static ContainerRecord with(List<PortMapping> ports, Map<String, String> labels) {
    return ContainerFixtures.with(ContainerFixtures.running("web-1"), labels, ports);
  }

  @Test
  void upstream_portLabel_publishedOrOnTheHostNetwork() {
    List<PortMapping> ports = List.of(new PortMapping(80, "tcp", "127.0.0.1", 8080), new PortMapping(443, "tcp", "0.0.0.0", 8443));

    assertThat(with(ports, Map.of("dockhealth.port", "80")).upstream()).contains("127.0.0.1:8080");
    assertThat(with(ports, Map.of("dockhealth.port", "443")).upstream()).contains("127.0.0.1:8443");
    assertThat(with(List.of(), Map.of("dockhealth.port", "9000")).upstream()).contains("127.0.0.1:9000");
    assertThat(with(List.of(), Map.of("dockhealth.port", "http")).upstream()).isEmpty();
    assertThat(with(List.of(), Map.of("dockhealth.port", "70000")).upstream()).isEmpty();
  }

  @Test
  void upstream_withoutLabel_theOnlyPublishedTcpPort() {
    assertThat(with(List.of(new PortMapping(80, "tcp", "10.1.2.3", 8080), new PortMapping(53, "udp", "0.0.0.0", 53)), Map.of())
        .upstream()).contains("10.1.2.3:8080");
    assertThat(with(List.of(new PortMapping(80, "tcp", "::1", 8080)), Map.of()).upstream()).contains("[::1]:8080");
    assertThat(with(List.of(new PortMapping(80, "tcp", "", 0)), Map.of()).upstream()).isEmpty();
    assertThat(with(List.of(new PortMapping(80, "tcp", "0.0.0.0", 1), new PortMapping(81, "tcp", "0.0.0.0", 2)), Map.of())
        .upstream()).isEmpty();
  }
}
