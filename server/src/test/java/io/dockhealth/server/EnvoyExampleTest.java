package io.dockhealth.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The shape of deploy/envoy/envoy.yaml. Envoy is not available on the build machines (no package
 * ships it), so this reads the YAML and checks what the sidecar depends on: every endpoint is
 * health-checked over gRPC at the sidecar's port, and a TLS health check uses a transport socket
 * of its cluster that offers h2 by ALPN, verifies the sidecar by a CA and a name, and presents a
 * client certificate. It cannot catch a field name Envoy would reject.
 */
class EnvoyExampleTest {
  private static final Path EXAMPLE = Path.of("../deploy/envoy/envoy.yaml");
  private static final String UPSTREAM_TLS =
      "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext";

  private static JsonNode clusters() throws Exception {
    JsonNode root = new ObjectMapper(new YAMLFactory()).readTree(EXAMPLE.toFile());
    JsonNode clusters = root.path("static_resources").path("clusters");
    assertThat(clusters.isArray()).as("static_resources.clusters").isTrue();
    return clusters;
  }

  @Test
  void everyEndpoint_isHealthCheckedOverGrpc_atTheSidecarsPort() throws Exception {
    for (JsonNode cluster : clusters()) {
      String name = cluster.path("name").asText();
      assertThat(cluster.path("load_assignment").path("cluster_name").asText()).as(name).isEqualTo(name);
      assertThat(cluster.path("health_checks")).as("%s health_checks", name).isNotEmpty()
          .allSatisfy(check -> assertThat(check.has("grpc_health_check")).as(name).isTrue());
      for (JsonNode endpoints : cluster.path("load_assignment").path("endpoints")) {
        assertThat(endpoints.path("lb_endpoints")).isNotEmpty().allSatisfy(endpoint -> assertThat(
            endpoint.path("endpoint").path("health_check_config").path("port_value").asInt()).as(name).isEqualTo(4245));
      }
    }
  }

  @Test
  void tlsHealthChecks_useATransportSocketOfTheirCluster_withH2TheCaTheNameAndAClientCertificate() throws Exception {
    List<String> tlsClusters = new ArrayList<>();
    for (JsonNode cluster : clusters()) {
      for (JsonNode check : cluster.path("health_checks")) {
        JsonNode criteria = check.path("transport_socket_match_criteria");
        if (criteria.isMissingNode()) {
          continue;
        }
        String name = cluster.path("name").asText();
        tlsClusters.add(name);
        JsonNode match = null;
        for (JsonNode candidate : cluster.path("transport_socket_matches")) {
          if (candidate.path("match").equals(criteria)) {
            match = candidate;
          }
        }
        assertThat(match).as("%s: a transport_socket_matches entry whose match is %s", name, criteria).isNotNull();
        JsonNode socket = match.path("transport_socket");
        assertThat(socket.path("name").asText()).isEqualTo("envoy.transport_sockets.tls");
        JsonNode tls = socket.path("typed_config");
        assertThat(tls.path("@type").asText()).isEqualTo(UPSTREAM_TLS);
        JsonNode common = tls.path("common_tls_context");
        assertThat(common.path("alpn_protocols")).extracting(JsonNode::asText).containsExactly("h2");
        assertThat(common.path("validation_context").path("trusted_ca").path("filename").asText()).isNotEmpty();
        assertThat(common.path("validation_context").path("match_typed_subject_alt_names")).isNotEmpty();
        assertThat(common.path("tls_certificates")).singleElement().satisfies(certificate -> {
          assertThat(certificate.path("certificate_chain").path("filename").asText()).isNotEmpty();
          assertThat(certificate.path("private_key").path("filename").asText()).isNotEmpty();
        });
      }
    }
    assertThat(tlsClusters).as("clusters health-checked over TLS").isNotEmpty();
  }
}
