package io.dockhealth.client.probe;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.Status;
import java.io.IOException;
import org.junit.jupiter.api.Test;

class GoTextTest {
  @Test
  void quote_likeGosPercentQ() {
    assertThat(GoText.quote("127.0.0.1:4245")).isEqualTo("\"127.0.0.1:4245\"");
    assertThat(GoText.quote("")).isEqualTo("\"\"");
    assertThat(GoText.quote("a\"b\\c\nd\te\u0001")).isEqualTo("\"a\\\"b\\\\c\\nd\\te\\x01\"");
    assertThat(GoText.quote("caf\u00e9")).isEqualTo("\"caf\u00e9\"");
  }

  @Test
  void rpcError_likeGrpcGo() {
    assertThat(GoText.rpcError(Status.NOT_FOUND.withDescription("unknown service \"nope\"")))
        .isEqualTo("rpc error: code = NotFound desc = unknown service \"nope\"");
    assertThat(GoText.rpcError(Status.CANCELLED)).isEqualTo("rpc error: code = Canceled desc = ");
    assertThat(GoText.rpcError(Status.UNAVAILABLE.withCause(new IOException("Connection reset"))))
        .isEqualTo("rpc error: code = Unavailable desc = Connection reset");
  }

  @Test
  void codeName_everyCodeHasGrpcGosName() {
    for (Status.Code code : Status.Code.values()) {
      assertThat(GoText.codeName(code)).as(code.name()).isNotNull().doesNotContain("_");
    }
    assertThat(GoText.codeName(Status.Code.DEADLINE_EXCEEDED)).isEqualTo("DeadlineExceeded");
  }
}
