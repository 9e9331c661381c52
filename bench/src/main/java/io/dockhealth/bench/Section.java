package io.dockhealth.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** What one figure contributes to RESULTS.md: rows of the summary table and a section of details. */
final class Section {
  final String title;
  final List<Row> rows = new ArrayList<>();
  /** Whether other processes used the machine noticeably while this figure ran. */
  boolean shared;
  /** What other processes used meanwhile, as {@link ForeignLoad#stop()} says it. */
  String foreignLoad = "";
  private final StringBuilder text = new StringBuilder();

  Section(String title) {
    this.title = title;
  }

  Section row(Row row) {
    rows.add(row);
    return this;
  }

  /** A paragraph or list line of the details; formatted with {@link String#format}. */
  Section line(String format, Object... args) {
    text.append(args.length == 0 ? format : String.format(Locale.ROOT, format, args)).append('\n');
    return this;
  }

  String text() {
    return text.toString();
  }
}
