package io.dockhealth.server.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.dockhealth.server.http.Router.Endpoint;
import io.dockhealth.server.http.Router.Match;
import io.dockhealth.server.http.Router.Reject;
import io.dockhealth.server.http.Router.Routed;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class RouterTest {
  private final Router router = new Router("/container-healthcheck");

  private Match match(String target) {
    Routed routed = router.route(HttpMethod.GET, target);
    assertThat(routed).as(target).isInstanceOf(Match.class);
    return (Match) routed;
  }

  private Reject reject(HttpMethod method, String target) {
    Routed routed = router.route(method, target);
    assertThat(routed).as(target).isInstanceOf(Reject.class);
    return (Reject) routed;
  }

  @ParameterizedTest(name = "{0} -> {1} \"{2}\"")
  @CsvSource(delimiter = '|', value = {
    "/v1/health                                  | HEALTH_LIST   | ''",
    "/v1/health/web-1                            | HEALTH        | web-1",
    "/v1/health/                                 | HEALTH        | ''",
    "/v1/health/shop/web                         | HEALTH        | shop/web",
    "/v1/health/shop%2Fweb                       | HEALTH        | shop/web",
    "/v1/health/caf%C3%A9                        | HEALTH        | café",
    "/v1/health/a+b                              | HEALTH        | a+b",
    "/v1/health/web?x=1                          | HEALTH        | web",
    "/v1/containers                              | CONTAINERS    | ''",
    "/v1/containers/3f1c9a0b7d2e                 | CONTAINER     | 3f1c9a0b7d2e",
    "/healthz                                    | HEALTHZ       | ''",
    "/metrics                                    | METRICS       | ''",
    "/container-healthcheck/health               | COMPAT_HEALTH | ''",
    "/container-healthcheck/apps/health/bk_iam   | COMPAT_APP    | bk_iam",
    "/container-healthcheck/apps/health/bk_iam?all=true | COMPAT_APP | bk_iam",
    "http://127.0.0.1:4246/v1/health/web         | HEALTH        | web",
  })
  void route_knownPaths_matchTheirEndpointAndDecodeTheName(String target, Endpoint endpoint, String name) {
    Match match = match(target);
    assertThat(match.endpoint()).isEqualTo(endpoint);
    assertThat(match.name()).isEqualTo(name);
    assertThat(match.since()).isNull();
  }

  @Test
  void route_labelsByTemplate_neverByPath() {
    assertThat(match("/v1/health/web-1").route()).isEqualTo("/v1/health/{service}");
    assertThat(match("/container-healthcheck/apps/health/x").route())
        .isEqualTo("/container-healthcheck/apps/health/{app}");
    assertThat(reject(HttpMethod.GET, "/nope/deeper").route()).isEqualTo(Router.UNMATCHED);
    assertThat(reject(HttpMethod.GET, "/v1/health/%zz").route()).isEqualTo(Router.MALFORMED);
  }

  @ParameterizedTest
  @ValueSource(strings = {"/", "/v1", "/v1/healthx", "/metrics/", "/healthz/x", "/container-healthcheck",
      "/container-healthcheck/apps/health", "/health", "/apps/health/x", "//v1/health"})
  void route_unknownPaths_are404(String target) {
    Reject reject = reject(HttpMethod.GET, target);
    assertThat(reject.status()).isEqualTo(HttpResponseStatus.NOT_FOUND);
    assertThat(reject.message()).contains("no route for").contains("expected: /v1/health");
  }

  @ParameterizedTest
  @ValueSource(strings = {"POST", "PUT", "DELETE", "OPTIONS", "PATCH", "BREW"})
  void route_otherMethods_are405ForKnownPaths_404ForUnknown(String method) {
    Reject reject = reject(HttpMethod.valueOf(method), "/v1/health/web");
    assertThat(reject.status()).isEqualTo(HttpResponseStatus.METHOD_NOT_ALLOWED);
    assertThat(reject.message()).contains(method).contains("expected: GET, HEAD");
    assertThat(reject(HttpMethod.valueOf(method), "/nope").status()).isEqualTo(HttpResponseStatus.NOT_FOUND);
  }

  @Test
  void route_head_isAnsweredLikeGet() {
    assertThat(router.route(HttpMethod.HEAD, "/v1/health/web")).isInstanceOf(Match.class);
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', value = {
    "/v1/health/%zz              | Malformed escape pair",
    "/v1/health/%4              | Malformed escape pair",
    "/v1/health/a b              | Illegal character",
    "/v1/health/a\"b             | Illegal character",
    "/v1/health/%ff              | not UTF-8",
    "/v1/health/%C3              | not UTF-8",
    "/v1/health/%00              | control character",
    "/v1/health/a%0Ab            | control character",
    "/v1/containers/%E2%82       | not UTF-8",
    "/container-healthcheck/apps/health/ | app name is empty",
    "/container-healthcheck/apps/health/%fe | not UTF-8",
    "*                           | not a path",
    "v1/health                   | not a path",
    "ftp://host/v1/health        | not a path",
    "/v1/health?since=abc        | since: \"abc\"",
    "/v1/health?since=-1         | since: \"-1\"",
    "/v1/health?wait=5s          | wait without since",
    "/v1/health?since=1&wait=soon | wait: 'soon'",
    "/v1/health?since=1&since=2  | since is given 2 times",
    "/v1/health/web?since=1      | since and wait are not taken",
    "/v1/health?since=%zz        | Malformed escape pair",
  })
  void route_badInput_is400SayingWhatWasWrongAndWhatIsExpected(String target, String problem) {
    Reject reject = reject(HttpMethod.GET, target);
    assertThat(reject.status()).isEqualTo(HttpResponseStatus.BAD_REQUEST);
    assertThat(reject.message()).contains(problem).contains("expected");
  }

  @Test
  void route_tooLongName_is400() {
    Reject reject = reject(HttpMethod.GET, "/v1/health/" + "a".repeat(513));
    assertThat(reject.status()).isEqualTo(HttpResponseStatus.BAD_REQUEST);
    assertThat(reject.message()).contains("513 characters long").contains("at most 512");
    assertThat(match("/v1/health/" + "a".repeat(512)).name()).hasSize(512);
  }

  @Test
  void route_compatErrors_nameTheirEndpoint_soTheyGetTheCompatShape() {
    assertThat(reject(HttpMethod.GET, "/container-healthcheck/apps/health/%ff").endpoint())
        .contains(Endpoint.COMPAT_APP);
    assertThat(reject(HttpMethod.POST, "/container-healthcheck/health").endpoint())
        .contains(Endpoint.COMPAT_HEALTH);
    assertThat(reject(HttpMethod.GET, "/nope").endpoint()).isEmpty();
  }

  @Test
  void route_longPoll_takesSinceAndWait_defaultsAndCapsTheWait() {
    Match poll = match("/v1/health?since=7&wait=5s");
    assertThat(poll.since()).isEqualTo(7L);
    assertThat(poll.maxWait()).isEqualTo(Duration.ofSeconds(5));

    assertThat(match("/v1/health?since=7").maxWait()).isEqualTo(Router.DEFAULT_WAIT);
    assertThat(match("/v1/health?since=7&wait=500ms").maxWait()).isEqualTo(Duration.ofMillis(500));
    assertThat(match("/v1/health?since=7&wait=1h").maxWait()).isEqualTo(Router.MAX_WAIT);
    assertThat(match("/v1/health?since=0&wait=0s").maxWait()).isZero();
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "/container-healthcheck", "/a/b-c_d.e~f", "/v1x"})
  void compatPrefix_accepted(String prefix) {
    assertThat(Router.compatPrefixProblem(prefix)).isEmpty();
    assertThat(new Router(prefix).template(Endpoint.COMPAT_HEALTH)).isEqualTo(prefix + "/health");
  }

  @ParameterizedTest
  @ValueSource(strings = {"/", "container-healthcheck", "/trailing/", "//double", "/sp ace", "/v1", "/v1/health",
      "/metrics", "/healthz/x", "/%41"})
  void compatPrefix_refused_sayingWhatIsExpected(String prefix) {
    Optional<String> problem = Router.compatPrefixProblem(prefix);
    assertThat(problem).isPresent();
    assertThatThrownBy(() -> new Router(prefix))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("compatPrefix: " + prefix + " (expected: ");
  }

  @Test
  void route_emptyCompatPrefix_putsTheDropInRoutesAtTheRoot() {
    Router root = new Router("");
    assertThat(((Match) root.route(HttpMethod.GET, "/health")).endpoint()).isEqualTo(Endpoint.COMPAT_HEALTH);
    assertThat(((Match) root.route(HttpMethod.GET, "/apps/health/x")).name()).isEqualTo("x");
    assertThat(((Match) root.route(HttpMethod.GET, "/healthz")).endpoint()).isEqualTo(Endpoint.HEALTHZ);
  }
}
