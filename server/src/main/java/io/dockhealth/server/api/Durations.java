package io.dockhealth.server.api;

import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Durations as the sidecar takes them everywhere, in its flags and in the HTTP gateway's
 * {@code wait}: as Go and Docker write them ({@code 500ms}, {@code 30s}, {@code 5m}, {@code 1h30m})
 * or in ISO-8601 ({@code PT30S}).
 */
public final class Durations {
  private static final Pattern PART = Pattern.compile("(\\d+)(ms|s|m|h)");

  private Durations() {}

  /**
   * The duration {@code value} writes; surrounding white space and case do not matter.
   *
   * @throws IllegalArgumentException saying what it got and what it expects, for anything else
   *     (no unit, an unknown unit, a negative duration, more than a {@link Duration} holds)
   */
  public static Duration parse(String value) {
    String text = value.trim().toLowerCase(Locale.ROOT);
    if (text.startsWith("p")) {
      try {
        return nonNegative(Duration.parse(text.toUpperCase(Locale.ROOT)), value);
      } catch (DateTimeParseException e) {
        throw invalid(value);
      }
    }
    Matcher matcher = PART.matcher(text);
    Duration total = Duration.ZERO;
    int end = 0;
    try {
      while (matcher.find() && matcher.start() == end) {
        long amount = Long.parseLong(matcher.group(1));
        total = total.plus(switch (matcher.group(2)) {
          case "ms" -> Duration.ofMillis(amount);
          case "s" -> Duration.ofSeconds(amount);
          case "m" -> Duration.ofMinutes(amount);
          default -> Duration.ofHours(amount);
        });
        end = matcher.end();
      }
    } catch (NumberFormatException | ArithmeticException e) {
      // More digits than a long holds, or more time than a Duration does.
      throw invalid(value);
    }
    if (end == 0 || end != text.length()) {
      throw invalid(value);
    }
    return total;
  }

  private static Duration nonNegative(Duration duration, String value) {
    if (duration.isNegative()) {
      throw invalid(value);
    }
    return duration;
  }

  private static IllegalArgumentException invalid(String value) {
    return new IllegalArgumentException("'" + value + "' (expected: a duration such as 500ms, 30s, 5m or 1h30m)");
  }
}
