package io.dockhealth.client.probe;

import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * Builds Go-style flags in picocli's programmatic model: {@code -name}, also spelled
 * {@code --name}, as Go's flag package accepts both. The commands are built this way, not with
 * picocli's annotations, because reading annotations costs a JVM a dynamic proxy class per
 * annotation type and reflection over every field, about a quarter of a probe's start-up, and
 * JDK 17 cannot keep any of it in the class-data sharing archive.
 */
final class Flags {
  private Flags() {}

  /** A flag with a value; {@code defaultValue} null for none. */
  static OptionSpec value(CommandSpec spec, String name, String label, Class<?> type, String defaultValue,
      String description) {
    return add(spec, builder(name).paramLabel(label).type(type).defaultValue(defaultValue).description(description));
  }

  /** A flag with a value that {@code converter} reads. */
  static OptionSpec value(CommandSpec spec, String name, String label, Class<?> type, String defaultValue,
      ITypeConverter<?> converter, String description) {
    return add(spec, builder(name).paramLabel(label).type(type).defaultValue(defaultValue).converters(converter)
        .description(description));
  }

  /** A boolean flag: {@code -tls} alone, or {@code -tls=false}, as Go's flag package reads it. */
  static OptionSpec bool(CommandSpec spec, String name, String description) {
    return add(spec, builder(name).arity("0..1").paramLabel("BOOL").type(boolean.class).defaultValue("false")
        .description(description));
  }

  /** -h, -help, --help: the usage, and exit 0. */
  static OptionSpec help(CommandSpec spec) {
    return add(spec, OptionSpec.builder("-h", "-help", "--help").usageHelp(true).description("print this help and exit"));
  }

  private static OptionSpec.Builder builder(String name) {
    return OptionSpec.builder("-" + name, "--" + name);
  }

  /** Adds a flag built by hand. */
  static OptionSpec add(CommandSpec spec, OptionSpec.Builder option) {
    OptionSpec built = option.build();
    spec.addOption(built);
    return built;
  }

  /** The value the flag got (its default if not given). */
  @SuppressWarnings("unchecked")
  static <T> T get(OptionSpec option) {
    return (T) option.getValue();
  }
}
