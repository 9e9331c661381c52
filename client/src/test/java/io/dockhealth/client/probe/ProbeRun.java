package io.dockhealth.client.probe;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;

/** One run of {@link Main#run}: its exit code and what it printed. */
record ProbeRun(int exitCode, String out, String err) {
  static ProbeRun of(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = Main.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
    return new ProbeRun(code, out.toString(), err.toString());
  }

  List<String> errLines() {
    return err.lines().toList();
  }

  List<String> outLines() {
    return out.lines().toList();
  }
}
