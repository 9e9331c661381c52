package io.dockhealth.client.probe;

/** How watch and list print: for people, or one JSON document (per line, for watch). */
enum OutputFormat {
  TEXT,
  JSON
}
