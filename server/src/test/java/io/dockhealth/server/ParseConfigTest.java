package io.dockhealth.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.dockhealth.server.model.GroupPolicy;
import java.time.Duration;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;
import picocli.CommandLine.ParameterException;

/** The naming and failure flags, as {@link Main#parseConfig} turns them into a configuration. */
class ParseConfigTest {
  @Test
  void defaults_matchTheReadme() {
    SidecarConfig config = Main.parseConfig("--docker-host=unix:///run/docker.sock");

    assertThat(config.grpcAddress().getPort()).isEqualTo(4245);
    assertThat(config.grpcAddress().getAddress().isLoopbackAddress()).isTrue();
    assertThat(config.rules().serviceLabel()).isEqualTo("dockhealth.service");
    assertThat(config.rules().namePattern()).hasValueSatisfying(p -> assertThat(p.pattern()).isEqualTo("^(?<service>.+)-[0-9]+$"));
    assertThat(config.rules().defaultPolicy()).isEqualTo(GroupPolicy.ANY);
    assertThat(config.rules().startingIsServing()).isFalse();
    assertThat(config.rules().labeledOnly()).isFalse();
    assertThat(config.staleGrace()).isEqualTo(Duration.ofSeconds(30));
    assertThat(config.forgetAfter()).isEqualTo(Duration.ofSeconds(60));
    assertThat(config.serviceFromAuthority()).isFalse();
    assertThat(config.dockerTimeout()).isEqualTo(Duration.ofSeconds(5));
    assertThat(config.drainPeriod()).isEqualTo(Duration.ofSeconds(5));
    assertThat(config.drainNames()).isFalse();
    assertThat(config.maxWatchStreams()).isEqualTo(100_000);
    assertThat(config.maxWatchContainersStreams()).isEqualTo(100);
  }

  @Test
  void shutdownAndStreamFlags_given_areTaken() {
    SidecarConfig config = Main.parseConfig("--docker-host=unix:///run/docker.sock", "--drain-names",
        "--drain-period=30s", "--max-watch-streams=7", "--max-watch-containers-streams=3");

    assertThat(config.drainNames()).isTrue();
    assertThat(config.drainPeriod()).isEqualTo(Duration.ofSeconds(30));
    assertThat(config.maxWatchStreams()).isEqualTo(7);
    assertThat(config.maxWatchContainersStreams()).isEqualTo(3);
    assertThat(Main.parseConfig("--docker-host=unix:///run/docker.sock", "--drain-names=false").drainNames()).isFalse();
  }

  @Test
  void flags_given_areTaken() {
    SidecarConfig config = Main.parseConfig("--docker-host=unix:///run/docker.sock", "--service-label=com.example.app",
        "--name-pattern=", "--group-policy=ALL", "--starting-is-serving", "--stale-grace=5s", "--forget-after=0s",
        "--expose=labeled", "--service-from-authority=true", "--docker-timeout=2500ms");

    assertThat(config.rules().serviceLabel()).isEqualTo("com.example.app");
    assertThat(config.rules().namePattern()).isEmpty();
    assertThat(config.rules().defaultPolicy()).isEqualTo(GroupPolicy.ALL);
    assertThat(config.rules().startingIsServing()).isTrue();
    assertThat(config.rules().labeledOnly()).isTrue();
    assertThat(config.staleGrace()).isEqualTo(Duration.ofSeconds(5));
    assertThat(config.forgetAfter()).isZero();
    assertThat(config.serviceFromAuthority()).isTrue();
    assertThat(config.dockerTimeout()).isEqualTo(Duration.ofMillis(2500));
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
    "--name-pattern=(unclosed        | --name-pattern   | Unclosed group",
    "--name-pattern=^(.+)-[0-9]+$    | --name-pattern   | named group (?<service>",
    "--service-label=                | --service-label  | a label key",
    "--service-label=               | --service-label  | a label key",
    "--group-policy=most             | --group-policy   | any or all",
    "--expose=some                   | --expose         | all or labeled",
    "--stale-grace=forever           | --stale-grace    | a duration",
    "--forget-after=-5s              | --forget-after   | a duration",
    "--docker-timeout=0s             | --docker-timeout | a duration > 0",
  })
  void badValue_namesTheFlagAndWhatWasExpected(String arg, String flag, String expected) {
    assertThatThrownBy(() -> Main.parseConfig("--docker-host=unix:///run/docker.sock", arg))
        .isInstanceOf(ParameterException.class)
        .hasMessageContaining(flag)
        .hasMessageContaining("expected")
        .hasMessageContaining(expected);
  }
}
