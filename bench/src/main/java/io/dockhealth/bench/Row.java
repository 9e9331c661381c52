package io.dockhealth.bench;

/**
 * One line of the summary table in RESULTS.md.
 *
 * @param figure the figure number and what is measured, e.g. "1. Check calls/s (64 in flight)"
 * @param ours our value as printed (median, range)
 * @param baseline the baseline's value as printed, or a dash
 * @param ratio ours over baseline, with which way is better
 * @param goal the goal (issue 13's, or issue 7's where 13 sets none), or a dash
 * @param met "yes", "**no**" or "n/a"
 */
record Row(String figure, String ours, String baseline, String ratio, String goal, String met) {
  static final String NONE = "–";

  static String met(boolean met) {
    return met ? "yes" : "**no**";
  }

  /** A figure that could not be measured at all; the reason goes in the table. */
  static Row failed(String figure, String why) {
    return new Row(figure, "not measured: " + why.replace('|', '/').replace('\n', ' '), NONE, NONE, NONE, "**no**");
  }
}
