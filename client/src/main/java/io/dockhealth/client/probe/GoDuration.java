package io.dockhealth.client.probe;

import static com.google.common.base.Preconditions.checkNotNull;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.RoundingMode;
import java.time.Duration;
import java.util.Map;
import picocli.CommandLine;

/**
 * Durations written and printed the way Go's {@code time} package does, because grpc_health_probe
 * takes its timeouts through Go's flag package and prints them in its messages ("within 1s",
 * "took 2.5ms"). Java has no parser or printer for this format.
 */
final class GoDuration {
  private static final BigDecimal MAX_NANOS = BigDecimal.valueOf(Long.MAX_VALUE);
  private static final Map<String, Long> UNIT_NANOS = Map.of(
      "ns", 1L,
      "us", 1_000L,
      "\u00b5s", 1_000L, // micro sign
      "\u03bcs", 1_000L, // Greek mu
      "ms", 1_000_000L,
      "s", 1_000_000_000L,
      "m", 60_000_000_000L,
      "h", 3_600_000_000_000L);

  private GoDuration() {}

  /**
   * Parses like Go's {@code time.ParseDuration}: a signed sequence of decimal numbers, each with a
   * unit ({@code ns us µs ms s m h}), such as {@code 300ms}, {@code -1.5h} or {@code 2h45m}; a bare
   * {@code 0} is zero. Fractions of a nanosecond are dropped.
   *
   * @throws IllegalArgumentException if {@code text} is not such a duration or exceeds ±292 years
   */
  static Duration parse(String text) {
    checkNotNull(text, "text");
    String s = text;
    boolean negative = false;
    if (!s.isEmpty() && (s.charAt(0) == '-' || s.charAt(0) == '+')) {
      negative = s.charAt(0) == '-';
      s = s.substring(1);
    }
    if (s.equals("0")) {
      return Duration.ZERO;
    }
    if (s.isEmpty()) {
      throw invalid(text);
    }
    BigDecimal total = BigDecimal.ZERO;
    int i = 0;
    while (i < s.length()) {
      int start = i;
      while (i < s.length() && (Character.isDigit(s.charAt(i)) && s.charAt(i) < 128 || s.charAt(i) == '.')) {
        i++;
      }
      String number = s.substring(start, i);
      if (number.isEmpty() || number.equals(".") || number.indexOf('.') != number.lastIndexOf('.')) {
        throw invalid(text);
      }
      int unitStart = i;
      while (i < s.length() && !(Character.isDigit(s.charAt(i)) && s.charAt(i) < 128) && s.charAt(i) != '.') {
        i++;
      }
      Long unit = UNIT_NANOS.get(s.substring(unitStart, i));
      if (unit == null) {
        throw new IllegalArgumentException(unitStart == i
            ? "time: missing unit in duration \"" + text + "\""
            : "time: unknown unit \"" + s.substring(unitStart, i) + "\" in duration \"" + text + "\"");
      }
      total = total.add(new BigDecimal(number.endsWith(".") ? number + "0" : number).multiply(BigDecimal.valueOf(unit)));
      if (total.compareTo(MAX_NANOS) > 0) {
        throw invalid(text);
      }
    }
    long nanos = total.setScale(0, RoundingMode.DOWN).longValueExact();
    return Duration.ofNanos(negative ? -nanos : nanos);
  }

  private static IllegalArgumentException invalid(String text) {
    return new IllegalArgumentException("time: invalid duration \"" + text + "\"");
  }

  /**
   * Prints like Go's {@code Duration.String()}: {@code 1h2m3.5s}, {@code 1m0s}, {@code 1.5s},
   * {@code 250ms}, {@code 1.234µs}, {@code 15ns}, {@code 0s}.
   */
  static String format(Duration duration) {
    checkNotNull(duration, "duration");
    BigInteger nanos = BigInteger.valueOf(duration.getSeconds()).multiply(BigInteger.valueOf(1_000_000_000L))
        .add(BigInteger.valueOf(duration.getNano()));
    String sign = nanos.signum() < 0 ? "-" : "";
    BigInteger u = nanos.abs();
    if (u.signum() == 0) {
      return "0s";
    }
    if (u.compareTo(BigInteger.valueOf(1_000_000_000L)) < 0) {
      long n = u.longValue();
      if (n < 1_000) {
        return sign + n + "ns";
      }
      if (n < 1_000_000) {
        return sign + fraction(n, 3) + "\u00b5s";
      }
      return sign + fraction(n, 6) + "ms";
    }
    BigInteger[] secondsAndNanos = u.divideAndRemainder(BigInteger.valueOf(1_000_000_000L));
    BigInteger seconds = secondsAndNanos[0];
    String text = seconds.mod(BigInteger.valueOf(60)) + fractionDigits(secondsAndNanos[1].longValue(), 9) + "s";
    BigInteger minutes = seconds.divide(BigInteger.valueOf(60));
    if (minutes.signum() > 0) {
      text = minutes.mod(BigInteger.valueOf(60)) + "m" + text;
      BigInteger hours = minutes.divide(BigInteger.valueOf(60));
      if (hours.signum() > 0) {
        text = hours + "h" + text;
      }
    }
    return sign + text;
  }

  /** {@code value / 10^digits} with the fraction's trailing zeros (and a bare point) dropped. */
  private static String fraction(long value, int digits) {
    long scale = (long) Math.pow(10, digits);
    return (value / scale) + fractionDigits(value % scale, digits);
  }

  private static String fractionDigits(long fraction, int digits) {
    if (fraction == 0) {
      return "";
    }
    String padded = String.format("%0" + digits + "d", fraction);
    return "." + padded.replaceFirst("0+$", "");
  }

  /** For picocli; the message is what Go's flag package says of a bad duration. */
  static final class Converter implements CommandLine.ITypeConverter<Duration> {
    @Override
    public Duration convert(String value) {
      try {
        return parse(value);
      } catch (IllegalArgumentException e) {
        throw new CommandLine.TypeConversionException("parse error");
      }
    }
  }
}
