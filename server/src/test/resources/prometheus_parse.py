"""Parses the Prometheus text format from stdin with the official Python client's parser and prints
every sample as JSON: [{"family", "type", "name", "labels", "value"}]. A malformed exposition makes
the parser raise, and this script exit non-zero."""
import json
import sys

from prometheus_client.parser import text_string_to_metric_families

samples = []
for family in text_string_to_metric_families(sys.stdin.read()):
    for sample in family.samples:
        samples.append({"family": family.name, "type": family.type, "name": sample.name,
                        "labels": sample.labels, "value": sample.value})
json.dump(samples, sys.stdout)
