package io.dockhealth.dist;

import static java.nio.charset.StandardCharsets.UTF_8;

import io.dockhealth.server.Main;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * Writes the sidecar's environment file ({@code /etc/default/dockhealth}) and its man page
 * ({@code dockhealth.8}) from the picocli model of {@link Main}, at build time:
 *
 * <pre>java io.dockhealth.dist.FlagDocs OUTPUT_DIR VERSION</pre>
 *
 * <p>Nothing here lists flags by hand, so a flag added to {@code Main} is documented in both at the
 * next build; a flag without an environment variable fails the build (see {@link Flag#of}).
 */
public final class FlagDocs {
  /** Options for the JVM, read by the launcher rather than by the sidecar. */
  static final String JAVA_OPTS = "DOCKHEALTH_JAVA_OPTS";

  private static final int WIDTH = 100;
  private static final Pattern PLAIN_VALUE = Pattern.compile("[A-Za-z0-9_.,:/@%+=-]*");

  private final CommandSpec spec;
  private final List<Flag> flags;
  private final String version;

  FlagDocs(CommandSpec spec, String version) {
    this.spec = spec;
    this.flags = Flag.of(spec);
    this.version = version;
  }

  /** The documents of the sidecar's own flags. */
  static FlagDocs ofSidecar(String version) {
    return new FlagDocs(new CommandLine(new Main()).getCommandSpec(), version);
  }

  public static void main(String[] args) throws IOException {
    if (args.length != 2) {
      System.err.println("usage: FlagDocs OUTPUT_DIR VERSION");
      System.exit(2);
    }
    Path out = Files.createDirectories(Path.of(args[0]));
    FlagDocs docs = ofSidecar(args[1]);
    Files.writeString(out.resolve("dockhealth.default"), docs.environmentFile(), UTF_8);
    Files.writeString(out.resolve("dockhealth.8"), docs.manPage(), UTF_8);
  }

  List<Flag> flags() {
    return flags;
  }

  /**
   * {@code /etc/default/dockhealth}: every flag's variable, commented out with its default, under
   * the flag's help text. systemd's EnvironmentFile= and sh read each line alike.
   */
  String environmentFile() {
    StringBuilder text = new StringBuilder();
    comment(text, "", "/etc/default/dockhealth: the settings of the dockhealth sidecar, read by"
        + " dockhealth.service (EnvironmentFile=).");
    text.append("#\n");
    comment(text, "", "Every flag of dockhealth has a variable here, commented out with its default:"
        + " uncomment a line, change the value, then run `systemctl restart dockhealth`. A flag on the"
        + " command line wins over its variable. Values with characters other than letters, digits"
        + " and _.,:/@%+=- are in single quotes, which systemd and sh read alike.");
    comment(text, "", "Made from the flags of dockhealth " + version + "; `man 8 dockhealth` describes"
        + " the same.");
    text.append('\n');
    comment(text, "  ", "JVM options, added after the launcher's defaults (-XX:+UseSerialGC -Xmx512m"
        + " -Xss512k -XX:+ExitOnOutOfMemoryError), so they can override them; e.g. -Xmx1g for more"
        + " than 100,000 Watch streams.");
    text.append('#').append(JAVA_OPTS).append("=\n");
    for (Flag flag : flags) {
      text.append('\n');
      text.append("# ").append(flag.name()).append(flag.optionalValue() ? "[=" : "=")
          .append(flag.paramLabel()).append(flag.optionalValue() ? "]" : "").append('\n');
      comment(text, "  ", flag.description());
      text.append('#').append(flag.variable()).append('=').append(quote(flag.defaultValue().orElse("")))
          .append('\n');
    }
    return text.toString();
  }

  /** A value as sh and systemd's EnvironmentFile= both read it back: single quotes where needed. */
  static String quote(String value) {
    if (PLAIN_VALUE.matcher(value).matches()) {
      return value;
    }
    return "'" + value.replace("'", "'\\''") + "'";
  }

  /** The man page, section 8, in roff (man macros). */
  String manPage() {
    StringBuilder roff = new StringBuilder();
    roff.append(".TH DOCKHEALTH 8 \"\" \"dockhealth ").append(roffText(version))
        .append("\" \"System Administration\"\n");
    roff.append(".SH NAME\n");
    roff.append("dockhealth \\- tells load balancers which Docker containers on this host are healthy\n");
    roff.append(".SH SYNOPSIS\n");
    roff.append(".B dockhealth\n[\\fIFLAG\\fR]...\n");
    roff.append(".SH DESCRIPTION\n");
    paragraphs(roff, spec.usageMessage().description());
    roff.append(".SH OPTIONS\n");
    for (Flag flag : flags) {
      roff.append(".TP\n");
      roff.append("\\fB").append(roffText(flag.name())).append("\\fR")
          .append(flag.optionalValue() ? "[=" : "=")
          .append("\\fI").append(roffText(flag.paramLabel())).append("\\fR")
          .append(flag.optionalValue() ? "]" : "").append('\n');
      roff.append(roffLine(flag.description())).append('\n');
    }
    for (OptionSpec option : spec.options()) {
      if (option.usageHelp() || option.versionHelp()) {
        roff.append(".TP\n");
        List<String> names = new ArrayList<>();
        for (String name : option.names()) {
          names.add("\\fB" + roffText(name) + "\\fR");
        }
        roff.append(String.join(", ", names)).append('\n');
        roff.append(roffLine(String.join(" ", option.description()))).append('\n');
      }
    }
    roff.append(".SH ENVIRONMENT\n");
    roff.append(roffLine("Every flag has an environment variable, named with the flag above; the"
        + " variable is used when the flag is not given. The Debian package's service reads them from"
        + " /etc/default/dockhealth.")).append('\n');
    roff.append(".TP\n.B ").append(JAVA_OPTS).append('\n');
    roff.append(roffLine("Options for the JVM, added after the launcher's defaults (-XX:+UseSerialGC"
        + " -Xmx512m -Xss512k -XX:+ExitOnOutOfMemoryError).")).append('\n');
    roff.append(".SH FILES\n");
    file(roff, "/etc/default/dockhealth", "The settings of the service: every flag's variable with its default.");
    file(roff, "/lib/systemd/system/dockhealth.service", "The systemd unit; change it with"
        + " systemctl edit dockhealth.");
    file(roff, "/run/dockhealth", "The service's runtime directory, for unix sockets.");
    roff.append(".SH EXIT STATUS\n");
    paragraphs(roff, spec.usageMessage().footer());
    roff.append(roffLine("Under systemd, 143 (SIGTERM) is a clean stop.")).append('\n');
    roff.append(".SH SEE ALSO\n");
    roff.append("\\fBdockhealth-probe\\fR \\-h, \\fBsystemd.exec\\fR(5), \\fBdocker\\fR(1)\n");
    return roff.toString();
  }

  private static void file(StringBuilder roff, String path, String what) {
    roff.append(".TP\n.I ").append(roffText(path)).append('\n').append(roffLine(what)).append('\n');
  }

  /** Picocli's description lines, an empty line between paragraphs. */
  private static void paragraphs(StringBuilder roff, String[] lines) {
    StringBuilder paragraph = new StringBuilder();
    for (String line : lines) {
      if (line.isBlank()) {
        endParagraph(roff, paragraph);
      } else {
        paragraph.append(paragraph.length() == 0 ? "" : " ").append(line.strip());
      }
    }
    endParagraph(roff, paragraph);
  }

  private static void endParagraph(StringBuilder roff, StringBuilder paragraph) {
    if (paragraph.length() > 0) {
      roff.append(".PP\n").append(roffLine(paragraph.toString())).append('\n');
      paragraph.setLength(0);
    }
  }

  /** Text with roff's escape character and hyphens escaped, so flags print as typed. */
  private static String roffText(String text) {
    return text.replace("\\", "\\e").replace("-", "\\-");
  }

  /** A line of text; a leading '.' or '\'' would be read as a request. */
  private static String roffLine(String text) {
    String escaped = roffText(text);
    return escaped.startsWith(".") || escaped.startsWith("'") ? "\\&" + escaped : escaped;
  }

  /** Wraps text into comment lines of at most {@link #WIDTH} characters (longer words stay whole). */
  private static void comment(StringBuilder out, String indent, String text) {
    String prefix = "#" + (indent.isEmpty() ? " " : indent);
    StringBuilder line = new StringBuilder(prefix);
    for (String word : text.split("\\s+")) {
      if (line.length() > prefix.length() && line.length() + 1 + word.length() > WIDTH) {
        out.append(line).append('\n');
        line.setLength(0);
        line.append(prefix);
      }
      line.append(line.length() > prefix.length() ? " " : "").append(word);
    }
    out.append(line).append('\n');
  }
}
