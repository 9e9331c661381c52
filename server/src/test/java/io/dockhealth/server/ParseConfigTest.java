package io.dockhealth.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.dockhealth.server.api.Exposure;
import io.dockhealth.server.grpc.GrpcLimits;
import io.dockhealth.server.http.HttpLimits;
import io.dockhealth.server.model.GroupPolicy;
import io.dockhealth.server.net.ListenAddress;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;
import picocli.CommandLine.ParameterException;

/** The naming, failure and limit flags, as {@link Main#parseConfig} turns them into a configuration. */
class ParseConfigTest {
  @Test
  void defaults_matchTheReadme() {
    SidecarConfig config = Main.parseConfig("--docker-host=unix:///run/docker.sock");

    assertThat(config.grpc().address()).isEqualTo(ListenAddress.parse("127.0.0.1:4245"));
    assertThat(config.http().address()).isEqualTo(ListenAddress.parse("127.0.0.1:4246"));
    assertThat(config.listenerSecurity().tls()).isEmpty();
    assertThat(config.listenerSecurity().socketMode()).isEqualTo(PosixFilePermissions.fromString("rw-rw----"));
    assertThat(config.exposure()).isEqualTo(new Exposure(Exposure.Details.FULL, false));
    assertThat(config.model().rules().serviceLabel()).isEqualTo("dockhealth.service");
    assertThat(config.model().rules().namePattern()).hasValueSatisfying(p -> assertThat(p.pattern()).isEqualTo("^(?<service>.+)-[0-9]+$"));
    assertThat(config.model().rules().defaultPolicy()).isEqualTo(GroupPolicy.ANY);
    assertThat(config.model().rules().startingIsServing()).isFalse();
    assertThat(config.model().rules().labeledOnly()).isFalse();
    assertThat(config.model().staleGrace()).isEqualTo(Duration.ofSeconds(30));
    assertThat(config.model().forgetAfter()).isEqualTo(Duration.ofSeconds(60));
    assertThat(config.grpc().serviceFromAuthority()).isFalse();
    assertThat(config.docker().timeout()).isEqualTo(Duration.ofSeconds(5));
    assertThat(config.drain().period()).isEqualTo(Duration.ofSeconds(5));
    assertThat(config.drain().allNames()).isFalse();
    assertThat(config.grpc().maxWatchStreams()).isEqualTo(100_000);
    assertThat(config.grpc().maxWatchContainersStreams()).isEqualTo(100);
    assertThat(config.http().limits()).isEqualTo(new HttpLimits(10_000, Duration.ofSeconds(10), List.of()));
    assertThat(config.grpc().limits()).isEqualTo(new GrpcLimits(1_000, 10_000, 5_000, Duration.ofSeconds(10),
        Duration.ofMinutes(5)));
  }

  @Test
  void shutdownAndStreamFlags_given_areTaken() {
    SidecarConfig config = Main.parseConfig("--docker-host=unix:///run/docker.sock", "--drain-names",
        "--drain-period=30s", "--max-watch-streams=7", "--max-watch-containers-streams=3");

    assertThat(config.drain().allNames()).isTrue();
    assertThat(config.drain().period()).isEqualTo(Duration.ofSeconds(30));
    assertThat(config.grpc().maxWatchStreams()).isEqualTo(7);
    assertThat(config.grpc().maxWatchContainersStreams()).isEqualTo(3);
    assertThat(Main.parseConfig("--docker-host=unix:///run/docker.sock", "--drain-names=false").drain().allNames()).isFalse();
  }

  @Test
  void limitFlags_given_areTaken() {
    SidecarConfig config = Main.parseConfig("--docker-host=unix:///run/docker.sock", "--http-max-connections=50",
        "--http-request-timeout=3s", "--http-allowed-hosts= sidecar.internal, [fd00::1],10.0.0.11 ,",
        "--grpc-max-connections=20", "--grpc-max-calls-per-connection=100", "--max-watch-streams-per-connection=7",
        "--grpc-handshake-timeout=2s", "--grpc-max-connection-idle=1m");

    assertThat(config.http().limits()).isEqualTo(new HttpLimits(50, Duration.ofSeconds(3),
        List.of("sidecar.internal", "[fd00::1]", "10.0.0.11")));
    assertThat(config.grpc().limits()).isEqualTo(new GrpcLimits(20, 100, 7, Duration.ofSeconds(2), Duration.ofMinutes(1)));
    assertThat(Main.parseConfig("--http-allowed-hosts=*").http().limits().allowedHosts()).containsExactly("*");
  }

  @Test
  void flags_given_areTaken() {
    SidecarConfig config = Main.parseConfig("--docker-host=unix:///run/docker.sock", "--service-label=com.example.app",
        "--name-pattern=", "--group-policy=ALL", "--starting-is-serving", "--stale-grace=5s", "--forget-after=0s",
        "--expose=labeled", "--service-from-authority=true", "--docker-timeout=2500ms");

    assertThat(config.model().rules().serviceLabel()).isEqualTo("com.example.app");
    assertThat(config.model().rules().namePattern()).isEmpty();
    assertThat(config.model().rules().defaultPolicy()).isEqualTo(GroupPolicy.ALL);
    assertThat(config.model().rules().startingIsServing()).isTrue();
    assertThat(config.model().rules().labeledOnly()).isTrue();
    assertThat(config.model().staleGrace()).isEqualTo(Duration.ofSeconds(5));
    assertThat(config.model().forgetAfter()).isZero();
    assertThat(config.grpc().serviceFromAuthority()).isTrue();
    assertThat(config.docker().timeout()).isEqualTo(Duration.ofMillis(2500));
  }

  @Test
  void exposureAndSocketFlags_given_areTaken() {
    SidecarConfig config = Main.parseConfig("--docker-host=unix:///run/docker.sock", "--details=HEALTH",
        "--grpc-address=unix:///run/dockhealth/grpc.sock", "--http-address=unix:/run/dockhealth/http.sock",
        "--socket-mode=0600");

    assertThat(config.exposure()).isEqualTo(new Exposure(Exposure.Details.HEALTH, false));
    assertThat(config.grpc().address()).isEqualTo(new ListenAddress.Unix(Path.of("/run/dockhealth/grpc.sock")));
    assertThat(config.http().address()).isEqualTo(new ListenAddress.Unix(Path.of("/run/dockhealth/http.sock")));
    assertThat(config.listenerSecurity().socketMode()).isEqualTo(PosixFilePermissions.fromString("rw-------"));
    assertThat(Main.parseConfig("--docker-host=unix:///run/docker.sock", "--probe-output=show").exposure())
        .isEqualTo(new Exposure(Exposure.Details.FULL, true));
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
    "--details=some                  | --details        | full (health and container detail) or health",
    "--probe-output=maybe            | --probe-output   | show or hide",
    "--socket-mode=rw                | --socket-mode    | an octal file mode",
    "--grpc-address=unix:relative    | --grpc-address   | absolute file path",
    "--name-pattern=^(.+)-[0-9]+$    | --name-pattern   | named group (?<service>",
    "--service-label=                | --service-label  | a label key",
    "--service-label=               | --service-label  | a label key",
    "--group-policy=most             | --group-policy   | any or all",
    "--expose=some                   | --expose         | all or labeled",
    "--stale-grace=forever           | --stale-grace    | a duration",
    "--forget-after=-5s              | --forget-after   | a duration",
    "--docker-timeout=0s             | --docker-timeout | a duration > 0",
    "--http-allowed-hosts=a:80       | --http-allowed-hosts | without a port",
    "--http-allowed-hosts=x,[::1     | --http-allowed-hosts | such as sidecar.internal",
    "--http-request-timeout=0s       | --http-request-timeout | > 0",
    "--grpc-handshake-timeout=0ms    | --grpc-handshake-timeout | > 0",
    "--grpc-max-connection-idle=0s   | --grpc-max-connection-idle | > 0",
  })
  void badValue_namesTheFlagAndWhatWasExpected(String arg, String flag, String expected) {
    assertThatThrownBy(() -> Main.parseConfig("--docker-host=unix:///run/docker.sock", arg))
        .isInstanceOf(ParameterException.class)
        .hasMessageContaining(flag)
        .hasMessageContaining("expected")
        .hasMessageContaining(expected);
  }

  @Test
  void probeOutputShown_withDetailsHealth_isRejected() {
    assertThatThrownBy(() -> Main.parseConfig("--docker-host=unix:///run/docker.sock", "--details=health",
        "--probe-output=show"))
        .isInstanceOf(ParameterException.class)
        .hasMessageContaining("--probe-output")
        .hasMessageContaining("expected: hide with --details=health");
  }

  @Test
  void oneUnixSocketForBothListeners_isRejected() {
    assertThatThrownBy(() -> Main.parseConfig("--docker-host=unix:///run/docker.sock",
        "--grpc-address=unix:///run/d.sock", "--http-address=unix:///run/d.sock"))
        .isInstanceOf(ParameterException.class)
        .hasMessageContaining("--http-address")
        .hasMessageContaining("another socket than --grpc-address's");
  }
}
