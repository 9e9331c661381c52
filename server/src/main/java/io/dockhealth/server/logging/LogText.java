package io.dockhealth.server.logging;

/**
 * Text made safe for one log line: line breaks and other control characters written as escapes,
 * so that a name, label, path or header a client or Docker chose can never start a line of its own.
 */
public final class LogText {
  private LogText() {}

  /** {@code text} with CR, LF, the other control characters and Unicode line breaks escaped. */
  public static String escape(String text) {
    StringBuilder escaped = null;
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      String replacement = switch (c) {
        case '\n' -> "\\n";
        case '\r' -> "\\r";
        case '\t' -> null; // a tab breaks no line, and stack-trace-free messages use none
        default -> Character.isISOControl(c) || c == '\u2028' || c == '\u2029'
            ? String.format("\\u%04x", (int) c) : null;
      };
      if (replacement != null && escaped == null) {
        escaped = new StringBuilder(text.length() + 16).append(text, 0, i);
      }
      if (escaped != null) {
        if (replacement != null) {
          escaped.append(replacement);
        } else {
          escaped.append(c);
        }
      }
    }
    return escaped == null ? text : escaped.toString();
  }
}
