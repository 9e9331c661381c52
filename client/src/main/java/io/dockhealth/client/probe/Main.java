package io.dockhealth.client.probe;

import java.io.PrintWriter;
import java.util.logging.Level;
import java.util.logging.Logger;
import picocli.CommandLine;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * {@code dockhealth-probe}: a drop-in for grpc_health_probe (and {@code watch} and {@code list}
 * besides). Run it through {@code client/bin/dockhealth-probe}, which starts the JVM the quick way.
 */
public final class Main {
  private Main() {}

  public static void main(String[] args) throws Exception {
    if (args.length == 1 && args[0].equals(CdsTraining.FLAG)) {
      CdsTraining.run();
      System.exit(0);
    }
    // grpc_health_probe writes everything, "status: SERVING" included, to stderr (Go's log).
    int code = run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true));
    System.exit(code);
  }

  /** Runs one command line; returns the exit code. */
  static int run(String[] args, PrintWriter out, PrintWriter err) {
    // grpc and Netty log through java.util.logging; the probe's only output is its own messages.
    Logger.getLogger("").setLevel(Level.OFF);
    // Netty 4.2 registers Java Flight Recorder events for its buffer allocator when JFR is there:
    // loading JFR costs a one-shot probe about a quarter of its CPU time, for events nobody records.
    if (System.getProperty("io.netty.jfr.enabled") == null) {
      System.setProperty("io.netty.jfr.enabled", "false");
    }
    CommandLine commandLine = new CommandLine(new CheckCommand().spec());
    if (needsSubcommands(args)) {
      // Only now: a plain check (the HEALTHCHECK case) need not build two commands it never runs.
      commandLine.addSubcommand(new CommandLine(new WatchCommand().spec()))
          .addSubcommand(new CommandLine(new ListCommand().spec()));
    }
    // Set after the subcommands are added: picocli passes settings down only to those it has.
    commandLine.setOut(out)
        .setErr(err)
        // Go's flag package: the last of a repeated flag wins; "-vx" is one flag, never -v -x.
        .setOverwrittenOptionsAllowed(true)
        .setPosixClusteredShortOptionsAllowed(false)
        .setCaseInsensitiveEnumValuesAllowed(true)
        .setParameterExceptionHandler(Main::invalidArguments);
    return commandLine.execute(args);
  }

  /** Whether the subcommands must be known: one is run, or the help that lists them is asked for. */
  private static boolean needsSubcommands(String[] args) {
    if (args.length > 0 && (args[0].equals("watch") || args[0].equals("list"))) {
      return true;
    }
    for (String arg : args) {
      if (arg.equals("-h") || arg.equals("-help") || arg.equals("--help")) {
        return true;
      }
    }
    return false;
  }

  /** What Go's flag package prints for the same mistakes, and grpc_health_probe's exit code 1. */
  private static int invalidArguments(CommandLine.ParameterException e, String[] args) {
    PrintWriter err = e.getCommandLine().getErr();
    err.println(goMessage(e));
    err.println("Run '" + e.getCommandLine().getCommandSpec().qualifiedName() + " -help' for usage.");
    return ExitCode.INVALID_ARGUMENTS;
  }

  static String goMessage(CommandLine.ParameterException e) {
    if (e instanceof CommandLine.UnmatchedArgumentException unmatched && !unmatched.getUnmatched().isEmpty()) {
      String flag = unmatched.getUnmatched().get(0);
      int equals = flag.indexOf('=');
      return "flag provided but not defined: " + (equals < 0 ? flag : flag.substring(0, equals));
    }
    ArgSpec spec = e.getArgSpec();
    if (e instanceof CommandLine.MissingParameterException missing && !missing.getMissing().isEmpty()) {
      spec = missing.getMissing().get(0);
    }
    if (spec instanceof OptionSpec option) {
      String flag = option.names()[0];
      if (e instanceof CommandLine.MissingParameterException) {
        return "flag needs an argument: " + flag;
      }
      String value = e.getValue() == null ? "" : e.getValue();
      if (option.type() == boolean.class || option.type() == Boolean.class) {
        return "invalid boolean value " + GoText.quote(value) + " for " + flag + ": parse error";
      }
      String why = e.getCause() instanceof CommandLine.TypeConversionException conversion
          ? conversion.getMessage()
          : "parse error";
      return "invalid value " + GoText.quote(value) + " for flag " + flag + ": " + why;
    }
    return e.getMessage();
  }

  /** The version from the jar's manifest. */
  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String version = Main.class.getPackage().getImplementationVersion();
      return new String[] {"dockhealth-probe " + (version != null ? version : "(development build)")};
    }
  }
}
