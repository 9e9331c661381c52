package io.dockhealth.dist;

import static com.google.common.base.Preconditions.checkArgument;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * One flag of the sidecar as its picocli model declares it: the documentation of the environment
 * file and the man page are made from these, so a flag added to {@code Main} appears in both by
 * itself.
 *
 * @param name the long name, e.g. {@code --grpc-address}
 * @param paramLabel what the value looks like, e.g. {@code HOST:PORT}
 * @param optionalValue whether the value may be left out ({@code --starting-is-serving} alone means true)
 * @param variable the environment variable read when the flag is not given, e.g. {@code DOCKHEALTH_GRPC_ADDRESS}
 * @param defaultValue the value when neither is given; empty if there is none
 * @param description the flag's help text, its {@code ${DEFAULT-VALUE}} filled in
 */
record Flag(String name, String paramLabel, boolean optionalValue, String variable,
    Optional<String> defaultValue, String description) {

  /** {@code ${env:NAME}} or {@code ${env:NAME:-default}}, the way every flag of Main names its variable. */
  private static final Pattern ENV_DEFAULT = Pattern.compile("\\$\\{env:([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?}", Pattern.DOTALL);

  /**
   * The flags of a command, in declaration order, without {@code --help} and {@code --version}.
   *
   * @throws IllegalArgumentException naming a flag that has no environment variable
   */
  static List<Flag> of(CommandSpec spec) {
    // Raw texts: interpolating would put this machine's environment into the defaults.
    Boolean interpolate = spec.interpolateVariables();
    spec.interpolateVariables(false);
    try {
      List<Flag> flags = new ArrayList<>();
      for (OptionSpec option : spec.options()) {
        if (!option.usageHelp() && !option.versionHelp() && !option.hidden()) {
          flags.add(of(option));
        }
      }
      return flags;
    } finally {
      spec.interpolateVariables(interpolate);
    }
  }

  private static Flag of(OptionSpec option) {
    String name = option.longestName();
    String raw = option.defaultValue();
    Matcher env = ENV_DEFAULT.matcher(raw == null ? "" : raw);
    checkArgument(env.matches(),
        "%s: defaultValue %s (expected: \"${env:DOCKHEALTH_...:-default}\", so that the flag can come from"
            + " the environment like every other flag)", name, raw == null ? "not set" : "\"" + raw + "\"");
    Optional<String> defaultValue = Optional.ofNullable(env.group(2));
    String description = Arrays.stream(option.description())
        .map(line -> line.replace("${DEFAULT-VALUE}", defaultValue.orElse("none")))
        .map(line -> line.replace("${COMPLETION-CANDIDATES}", candidates(option)))
        .collect(Collectors.joining(" "))
        .strip();
    boolean optionalValue = option.arity().min() == 0;
    return new Flag(name, option.paramLabel(), optionalValue, env.group(1), defaultValue, description);
  }

  private static String candidates(OptionSpec option) {
    if (option.completionCandidates() == null) {
      return "";
    }
    List<String> names = new ArrayList<>();
    option.completionCandidates().forEach(names::add);
    return String.join(", ", names);
  }
}
