package io.dockhealth.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import picocli.CommandLine;
import picocli.CommandLine.Model.OptionSpec;

/**
 * The command line as an operator meets it: {@link Main#commandLine()} run with captured output.
 * Defaults from environment variables cannot be set inside a JVM; {@code MainIT} covers them.
 */
// A case that wrongly passed validation would start the sidecar and block until stopped: fail it
// instead of hanging the build.
@Timeout(value = 30, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class MainTest {
  /** Every flag the README documents. */
  private static final List<String> FLAGS = List.of(
      "--grpc-address", "--docker-host", "--resync-interval", "--docker-timeout", "--drain-period", "--drain-names",
      "--max-watch-streams", "--max-watch-containers-streams",
      "--service-label", "--name-pattern", "--group-policy", "--starting-is-serving", "--stale-grace",
      "--forget-after", "--expose", "--service-from-authority", "--http-address", "--tls-cert", "--tls-key",
      "--tls-client-ca", "--socket-mode", "--details", "--probe-output", "--log-level", "--help", "--version",
      "--http-max-connections", "--http-request-timeout", "--http-allowed-hosts", "--max-watch-streams-per-connection",
      "--grpc-max-connections", "--grpc-max-calls-per-connection", "--grpc-handshake-timeout",
      "--grpc-max-connection-idle");

  @ParameterizedTest(name = "{0}={1}")
  @CsvSource(delimiter = '|', value = {
    "--grpc-address       | foo",
    "--grpc-address       | :4245",
    "--grpc-address       | 127.0.0.1:70000",
    "--grpc-address       | unix:relative.sock",
    "--http-address       | unix://host/http.sock",
    "--socket-mode        | rw-rw----",
    "--socket-mode        | 0999",
    "--details            | container",
    "--probe-output       | redact",
    "--docker-host        | http://x",
    "--docker-host        | tcp://host",
    "--resync-interval    | 5x",
    "--resync-interval    | 0s",
    "--resync-interval    | -1s",
    "--docker-timeout     | 0s",
    "--docker-timeout     | soon",
    "--drain-period       | 1h-",
    "--drain-period       | -1s",
    "--stale-grace        | soon",
    "--forget-after       | 5",
    "--max-watch-streams  | 0",
    "--max-watch-streams  | -5",
    "--max-watch-containers-streams | 0",
    "--max-watch-containers-streams | -1",
    "--drain-names        | maybe",
    "--starting-is-serving | 1",
    "--service-from-authority | yes",
    "--log-level          | loud",
    "--group-policy       | most",
    "--expose             | some",
    "--service-label      | ' '",
    "--name-pattern       | (",
    "--name-pattern       | (?<app>.*)",
    "--http-max-connections | 0",
    "--http-request-timeout | 0s",
    "--http-request-timeout | soon",
    "--http-allowed-hosts | evil:80",
    "--max-watch-streams-per-connection | 0",
    "--grpc-max-connections | -1",
    "--grpc-max-calls-per-connection | 0",
    "--grpc-handshake-timeout | 0s",
    "--grpc-max-connection-idle | 0s",
  })
  void execute_badFlagValue_exitsTwoNamingTheFlagAndWhatWasExpected(String flag, String value) {
    Run run = execute(flag + "=" + value);

    assertThat(run.exitCode).as(run.err).isEqualTo(CommandLine.ExitCode.USAGE).isEqualTo(2);
    assertThat(run.err).contains("'" + flag + "'").contains("'" + value + "'").contains("expected");
    assertThat(run.err).as("the error, not the whole usage").doesNotContain("Usage:");
    assertThat(run.out).isEmpty();
  }

  @Test
  void execute_nonNumericMaxWatchStreams_exitsTwoNamingTheFlag() {
    Run run = execute("--max-watch-streams=many");

    assertThat(run.exitCode).isEqualTo(2);
    assertThat(run.err).contains("--max-watch-streams").contains("many");
  }

  @ParameterizedTest
  @ValueSource(strings = {"--grpc-adress=127.0.0.1:4245", "--bogus", "-x"})
  void execute_unknownFlag_exitsTwoNamingIt(String arg) {
    Run run = execute(arg);

    assertThat(run.exitCode).isEqualTo(2);
    assertThat(run.err).contains(arg.split("=", 2)[0]);
    assertThat(run.err).doesNotContain("Usage:");
  }

  @Test
  void execute_flagWithoutItsValue_exitsTwoNamingIt() {
    Run run = execute("--drain-period");

    assertThat(run.exitCode).isEqualTo(2);
    assertThat(run.err).contains("--drain-period");
  }

  @Test
  void execute_help_exitsZeroListingEveryFlag() {
    Run run = execute("--help");

    assertThat(run.exitCode).isZero();
    assertThat(run.out).startsWith("Usage: dockhealth");
    assertThat(run.out).contains(FLAGS);
    // And any flag added since this list was written.
    for (OptionSpec option : Main.commandLine().getCommandSpec().options()) {
      if (!option.hidden()) {
        assertThat(run.out).contains(option.longestName());
      }
    }
    assertThat(run.out).contains("Exit codes: 0 stopped cleanly, 1 could not start, 2 bad flags.");
    assertThat(run.err).isEmpty();
  }

  @Test
  void execute_help_showsTheLoopbackDefaultAddress() {
    Run run = execute("--help");

    assertThat(run.out.replaceAll("\\s+", " ")).contains("default 127.0.0.1:4245"); // wrapped anywhere
  }

  @ParameterizedTest
  @ValueSource(strings = {"--version", "-V"})
  void execute_version_exitsZeroPrintingTheName(String arg) {
    Run run = execute(arg);

    assertThat(run.exitCode).isZero();
    assertThat(run.out).startsWith("dockhealth ");
    assertThat(run.err).isEmpty();
  }

  private static Run execute(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine commandLine = Main.commandLine();
    commandLine.setOut(new PrintWriter(out, true));
    commandLine.setErr(new PrintWriter(err, true));
    int exitCode = commandLine.execute(args);
    return new Run(exitCode, out.toString(), err.toString());
  }

  private record Run(int exitCode, String out, String err) {}
}
