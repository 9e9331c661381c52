package io.dockhealth.bench;

import static com.google.common.base.Preconditions.checkArgument;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.Locale;

/**
 * The median of repeated measurements with their min and max. Machines here are shared and noisy,
 * so one number alone is never reported: every figure is a median over rounds, with its range.
 */
record Stats(double median, double min, double max, int n) {
  /** Spread (max - min) over the median above which a figure is flagged as noisy. */
  static final double WIDE_SPREAD = 0.20;

  static Stats of(Collection<Double> values) {
    checkArgument(!values.isEmpty(), "no values");
    List<Double> sorted = new ArrayList<>(values);
    Collections.sort(sorted);
    int n = sorted.size();
    double median = n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
    return new Stats(median, sorted.get(0), sorted.get(n - 1), n);
  }

  /** Whether the range is wide compared with the median (more than 20 %). */
  boolean wide() {
    return median != 0 && (max - min) / Math.abs(median) > WIDE_SPREAD;
  }

  /** The value at quantile {@code q} (0..1) of {@code values}, nearest rank. */
  static double quantile(List<Double> values, double q) {
    checkArgument(!values.isEmpty(), "no values");
    List<Double> sorted = new ArrayList<>(values);
    Collections.sort(sorted);
    int rank = (int) Math.ceil(q * sorted.size());
    return sorted.get(Math.max(0, Math.min(sorted.size() - 1, rank - 1)));
  }

  /** {@code median (min–max, n=5)} with {@code unit} formatting, plus a flag when the spread is wide. */
  String format(Unit unit) {
    String text = unit.format(median) + " (" + unit.formatBare(min) + "–" + unit.formatBare(max) + ", n=" + n + ")";
    return wide() ? text + " **wide spread**" : text;
  }

  /** How a number is printed. */
  enum Unit {
    PER_SECOND(" /s"),
    MILLIS(" ms"),
    MICROS(" µs"),
    SECONDS(" s"),
    MIB(" MiB"),
    BYTES(" B"),
    PLAIN("");

    private final String suffix;

    Unit(String suffix) {
      this.suffix = suffix;
    }

    String format(double value) {
      return formatBare(value) + suffix;
    }

    String formatBare(double value) {
      double abs = Math.abs(value);
      if (this == PER_SECOND || this == BYTES) {
        return String.format(Locale.ROOT, "%,.0f", value);
      }
      if (abs >= 100) {
        return String.format(Locale.ROOT, "%,.0f", value);
      }
      if (abs >= 10) {
        return String.format(Locale.ROOT, "%.1f", value);
      }
      if (abs >= 1) {
        return String.format(Locale.ROOT, "%.2f", value);
      }
      return String.format(Locale.ROOT, "%.3f", value);
    }
  }
}
