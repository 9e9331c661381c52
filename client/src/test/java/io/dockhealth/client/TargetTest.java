package io.dockhealth.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The addresses grpc_health_probe's -addr takes. */
class TargetTest {
  @Test
  void hostAndPort_tcp() {
    assertThat(Target.parse("127.0.0.1:4245")).isEqualTo(new Target.Tcp("127.0.0.1:4245", "127.0.0.1", 4245));
    assertThat(Target.parse("[::1]:4245")).isEqualTo(new Target.Tcp("[::1]:4245", "::1", 4245));
    assertThat(Target.parse("web.internal:80")).isEqualTo(new Target.Tcp("web.internal:80", "web.internal", 80));
  }

  @Test
  void emptyHost_isThisMachine_likeGosDialer() {
    Target.Tcp tcp = (Target.Tcp) Target.parse(":4245");
    assertThat(tcp.host()).isEmpty();
    assertThat(tcp.isLiteral()).isTrue();
    assertThat(tcp.authority()).isEqualTo("localhost:4245");
  }

  @Test
  void literalsNeedNoResolver_namesDo() {
    assertThat(((Target.Tcp) Target.parse("10.0.0.1:1")).isLiteral()).isTrue();
    assertThat(((Target.Tcp) Target.parse("[::1]:1")).isLiteral()).isTrue();
    assertThat(((Target.Tcp) Target.parse("localhost:1")).isLiteral()).isFalse();
  }

  @Test
  void unixSockets_absoluteAndRelative() {
    assertThat(Target.parse("unix:///run/dockhealth.sock"))
        .isEqualTo(new Target.Unix("unix:///run/dockhealth.sock", Path.of("/run/dockhealth.sock")));
    assertThat(Target.parse("unix:/run/dockhealth.sock"))
        .isEqualTo(new Target.Unix("unix:/run/dockhealth.sock", Path.of("/run/dockhealth.sock")));
    assertThat(Target.parse("unix:relative.sock"))
        .isEqualTo(new Target.Unix("unix:relative.sock", Path.of("relative.sock")));
  }

  @Test
  void otherUris_leftToGrpcsResolvers() {
    assertThat(Target.parse("dns:///web.internal:4245")).isEqualTo(new Target.Uri("dns:///web.internal:4245"));
  }

  @Test
  void mistakes_sayWhatIsWrong() {
    assertThatThrownBy(() -> Target.parse("localhost")).hasMessage("address localhost: missing port in address");
    assertThatThrownBy(() -> Target.parse("")).hasMessage("missing address");
    assertThatThrownBy(() -> Target.parse("unix://host/path")).hasMessageContaining("has an authority");
    assertThatThrownBy(() -> Target.parse("unix:")).hasMessageContaining("has no path");
    assertThatThrownBy(() -> Target.parse("unix-abstract:x")).hasMessageContaining("not supported");
    assertThatThrownBy(() -> Target.parse("host:99999")).hasMessageContaining("address host:99999");
  }
}
