package io.dockhealth.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.dockhealth.server.grpc.GrpcLimits;
import io.dockhealth.server.http.HttpLimits;
import org.junit.jupiter.api.Test;

/** The connection caps against the file descriptors the process may open. */
class FileDescriptorBudgetTest {
  private static final HttpLimits HTTP = HttpLimits.of(10_000);
  private static final GrpcLimits GRPC = GrpcLimits.defaults();

  @Test
  void roomForBoth_keepsTheFlagsAndSaysNothing() {
    FileDescriptorBudget budget = FileDescriptorBudget.fit(HTTP, GRPC, 1_048_576, 40);

    assertThat(budget.http().maxConnections()).isEqualTo(10_000);
    assertThat(budget.grpc().maxConnections()).isEqualTo(1_000);
    assertThat(budget.warning()).isEmpty();
  }

  @Test
  void ulimit1024_halvesTheBudgetBetweenThem_andSaysHowToAvoidIt() {
    FileDescriptorBudget budget = FileDescriptorBudget.fit(HTTP, GRPC, 1024, 40);

    int room = 1024 - 40 - FileDescriptorBudget.HEADROOM;
    assertThat(budget.grpc().maxConnections()).isEqualTo(room / 2);
    assertThat(budget.http().maxConnections()).isEqualTo(room - room / 2);
    assertThat(budget.warning()).hasValueSatisfying(warning -> assertThat(warning)
        .contains("ulimit -n", "1024", "--grpc-max-connections from 1000 to " + room / 2,
            "--http-max-connections from 10000 to " + (room - room / 2), "LimitNOFILE="));
    assertThat(budget.http().requestTimeout()).as("the other limits stay").isEqualTo(HTTP.requestTimeout());
  }

  @Test
  void grpcFitsItsHalf_httpGetsTheRest_andOnlyHttpIsNamed() {
    FileDescriptorBudget budget = FileDescriptorBudget.fit(HTTP, GRPC, 4096, 40);

    assertThat(budget.grpc().maxConnections()).isEqualTo(1_000);
    assertThat(budget.http().maxConnections()).isEqualTo(4096 - 40 - FileDescriptorBudget.HEADROOM - 1_000);
    assertThat(budget.warning()).hasValueSatisfying(warning -> assertThat(warning)
        .contains("--http-max-connections").doesNotContain("--grpc-max-connections"));
  }

  @Test
  void tooFewToRun_refusesToStart_sayingWhatLimitIsNeeded() {
    assertThatThrownBy(() -> FileDescriptorBudget.fit(HTTP, GRPC, 150, 40))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("ulimit -n) is 150")
        .hasMessageContaining("expected: a limit of at least " + (40 + FileDescriptorBudget.HEADROOM + 32));
  }

  @Test
  void headroom_growsWithTheEventLoopsOfABiggerMachine() {
    assertThat(FileDescriptorBudget.headroom(2)).isEqualTo(216);
    assertThat(FileDescriptorBudget.headroom(64) - FileDescriptorBudget.headroom(2)).isEqualTo(3 * 2 * 62);
  }

  @Test
  void thisProcess_hasALimitTheJvmCanRead() {
    FileDescriptorBudget budget = FileDescriptorBudget.of(HTTP, GRPC);

    assertThat(budget.grpc().maxConnections()).isPositive().isLessThanOrEqualTo(1_000);
  }
}
