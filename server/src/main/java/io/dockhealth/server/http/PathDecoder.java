package io.dockhealth.server.http;

import io.dockhealth.server.api.ServiceNames;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * Percent-decodes a name taken from a request path, strictly. The decoders at hand are lenient
 * where a health gateway must not be: Netty's QueryStringDecoder turns {@code +} into a space (a
 * query rule, not a path rule), and both it and java.net.URI replace bytes that are not UTF-8 with
 * U+FFFD, so a garbled name would be looked up as a different one instead of being refused.
 */
final class PathDecoder {
  private PathDecoder() {}

  /**
   * The name a raw path part stands for.
   *
   * @param what how the error message calls the part, such as "service name"
   * @throws BadRequest for a malformed escape, bytes that are not UTF-8, a control character, a
   *     character that should have been percent-encoded, or a name over {@link ServiceNames#MAX_LENGTH}
   */
  static String decode(String raw, String what) {
    // Printable ASCII without escapes, what names almost always are, stands for itself.
    String name = isPlain(raw) ? raw : unescape(raw, what);
    if (name.length() > ServiceNames.MAX_LENGTH) {
      throw new BadRequest(what + " is " + name.length() + " characters long (expected: at most "
          + ServiceNames.MAX_LENGTH + ")");
    }
    return name;
  }

  private static boolean isPlain(String raw) {
    for (int i = 0; i < raw.length(); i++) {
      char c = raw.charAt(i);
      if (c <= 0x20 || c >= 0x7f || c == '%') {
        return false;
      }
    }
    return true;
  }

  private static String unescape(String raw, String what) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(raw.length());
    for (int i = 0; i < raw.length(); i++) {
      char c = raw.charAt(i);
      if (c == '%') {
        int high = i + 1 < raw.length() ? Character.digit(raw.charAt(i + 1), 16) : -1;
        int low = i + 2 < raw.length() ? Character.digit(raw.charAt(i + 2), 16) : -1;
        if (high < 0 || low < 0) {
          throw new BadRequest(what + ": malformed percent-encoding at \"" + raw.substring(i, Math.min(raw.length(), i + 3))
              + "\" (expected: % followed by two hex digits, such as %2F)");
        }
        bytes.write(high << 4 | low);
        i += 2;
      } else if (c > 0x20 && c < 0x7f) {
        bytes.write(c);
      } else {
        throw new BadRequest(what + ": character " + String.format("U+%04X", (int) c)
            + " is not allowed unencoded in a path (expected: percent-encoded UTF-8)");
      }
    }
    String name;
    try {
      name = StandardCharsets.UTF_8.newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(bytes.toByteArray()))
          .toString();
    } catch (CharacterCodingException e) {
      throw new BadRequest(what + ": the percent-encoded bytes are not UTF-8 (expected: percent-encoded UTF-8)");
    }
    if (name.codePoints().anyMatch(Character::isISOControl)) {
      throw new BadRequest(what + ": contains a control character (expected: a name such as web-1)");
    }
    return name;
  }
}
