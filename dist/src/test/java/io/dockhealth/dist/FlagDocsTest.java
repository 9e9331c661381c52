package io.dockhealth.dist;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.dockhealth.server.Main;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Option;

class FlagDocsTest {
  private final FlagDocs docs = FlagDocs.ofSidecar("1.2.3");

  /** Every option of Main, read from picocli's model, not from a list kept here. */
  private static List<OptionSpec> sidecarOptions() {
    return new CommandLine(new Main()).getCommandSpec().options().stream()
        .filter(option -> !option.usageHelp() && !option.versionHelp())
        .collect(Collectors.toList());
  }

  @Test
  void environmentFile_hasEveryOptionOfMain_withItsVariableCommentedOut() {
    String file = docs.environmentFile();
    List<OptionSpec> options = sidecarOptions();

    assertThat(options).hasSizeGreaterThan(10);
    for (OptionSpec option : options) {
      assertThat(file).as("the environment file names %s", option.longestName())
          .containsPattern("\n# " + Pattern.quote(option.longestName()) + "\\[?=");
    }
    assertThat(docs.flags()).extracting(Flag::name)
        .containsExactlyElementsOf(options.stream().map(OptionSpec::longestName).collect(Collectors.toList()));
    for (Flag flag : docs.flags()) {
      assertThat(file).contains("\n#" + flag.variable() + "=");
    }
  }

  @Test
  void environmentFile_givesTheDefaultsOfMain_notThisMachinesEnvironment() {
    String file = docs.environmentFile();

    assertThat(file)
        .contains("\n#DOCKHEALTH_GRPC_ADDRESS=127.0.0.1:4245\n")
        .contains("\n#DOCKER_HOST=unix:///var/run/docker.sock\n")
        .contains("\n#DOCKHEALTH_NAME_PATTERN='^(?<service>.+)-[0-9]+$'\n")
        .contains("\n#DOCKHEALTH_STARTING_IS_SERVING=false\n")
        .contains("\n#" + FlagDocs.JAVA_OPTS + "=\n")
        .doesNotContain("${");
  }

  @Test
  void environmentFile_uncommented_readsBackAsTheDefaults(@TempDir Path dir) throws Exception {
    // sh reads the file as systemd's EnvironmentFile= does for these quotes: each variable must come
    // back as exactly the default the flag has.
    Path file = dir.resolve("dockhealth");
    Files.writeString(file, docs.environmentFile().replaceAll("(?m)^#([A-Z_]+=)", "$1"), StandardCharsets.UTF_8);
    StringBuilder script = new StringBuilder("set -a; . '" + file + "'");
    for (Flag flag : docs.flags()) {
      script.append("; printf '%s\\0' \"$").append(flag.variable()).append('"');
    }
    Process sh = new ProcessBuilder("sh", "-c", script.toString()).redirectErrorStream(true).start();
    String out = new String(sh.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(sh.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(sh.exitValue()).as(out).isZero();

    assertThat(List.of(out.split("\0", -1)).subList(0, docs.flags().size()))
        .containsExactlyElementsOf(docs.flags().stream().map(flag -> flag.defaultValue().orElse(""))
            .collect(Collectors.toList()));
  }

  @Test
  void quote_leavesPlainValuesAlone_andQuotesTheRestForShAndSystemd() {
    assertThat(FlagDocs.quote("127.0.0.1:4245")).isEqualTo("127.0.0.1:4245");
    assertThat(FlagDocs.quote("")).isEqualTo("");
    assertThat(FlagDocs.quote("a b$c")).isEqualTo("'a b$c'");
    assertThat(FlagDocs.quote("it's")).isEqualTo("'it'\\''s'");
  }

  @Test
  void manPage_describesEveryOption_inRoff() {
    String page = docs.manPage();

    assertThat(page).startsWith(".TH DOCKHEALTH 8 \"\" \"dockhealth 1.2.3\"");
    for (OptionSpec option : sidecarOptions()) {
      assertThat(page).contains("\\fB" + option.longestName().replace("-", "\\-") + "\\fR");
    }
    assertThat(page).contains("\\fB\\-\\-help\\fR", "\\fB\\-\\-version\\fR", ".SH EXIT STATUS",
        "Exit codes: 0 stopped cleanly");
  }

  @Test
  void manPage_rendersWithoutWarnings(@TempDir Path dir) throws IOException, InterruptedException {
    Path page = dir.resolve("dockhealth.8");
    Files.writeString(page, docs.manPage(), StandardCharsets.UTF_8);
    Process groff = new ProcessBuilder("groff", "-man", "-Tutf8", "-ww", "-z", page.toString())
        .redirectErrorStream(true).start();
    String warnings = new String(groff.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(groff.waitFor(30, TimeUnit.SECONDS)).isTrue();

    assertThat(groff.exitValue()).isZero();
    assertThat(warnings).isEmpty();
  }

  @Command(name = "broken")
  static final class FlagWithoutVariable {
    @Option(names = "--lonely", defaultValue = "1")
    int lonely;
  }

  @Test
  void aFlagWithoutEnvironmentVariable_failsTheBuild_sayingWhatIsExpected() {
    assertThatThrownBy(() -> new FlagDocs(new CommandLine(new FlagWithoutVariable()).getCommandSpec(), "1"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("--lonely: defaultValue \"1\"")
        .hasMessageContaining("expected: \"${env:DOCKHEALTH_...:-default}\"");
  }
}
