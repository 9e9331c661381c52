package io.dockhealth.bench;

import java.util.HashMap;
import java.util.Map;

/** {@code --key value} and {@code --flag} arguments of the bench mains. */
final class Args {
  private final Map<String, String> values = new HashMap<>();

  Args(String[] args) {
    for (int i = 0; i < args.length; i++) {
      String arg = args[i];
      if (!arg.startsWith("--")) {
        throw new IllegalArgumentException("unexpected argument " + arg);
      }
      String key = arg.substring(2);
      int eq = key.indexOf('=');
      if (eq >= 0) {
        values.put(key.substring(0, eq), key.substring(eq + 1));
      } else if (i + 1 < args.length && !args[i + 1].startsWith("--")) {
        values.put(key, args[++i]);
      } else {
        values.put(key, "true");
      }
    }
  }

  String get(String key, String otherwise) {
    return values.getOrDefault(key, otherwise);
  }

  int getInt(String key, int otherwise) {
    return values.containsKey(key) ? Integer.parseInt(values.get(key)) : otherwise;
  }

  boolean has(String key) {
    return values.containsKey(key);
  }
}
