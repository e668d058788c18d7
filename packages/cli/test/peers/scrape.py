# A Prometheus scrape that zkit did not write: fetches URL over HTTP with
# urllib and parses the body with the Prometheus project's own Python client
# (Debian's python3-prometheus-client, prometheus_client.parser). Prints one
# JSON object: the response's content type and every metric family with its
# type, HELP text and samples. A body the parser refuses exits 1 with its
# error on stderr.
#
# usage: python3 scrape.py URL
import json
import sys
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

with urllib.request.urlopen(sys.argv[1], timeout=30) as response:
    content_type = response.headers.get("content-type")
    body = response.read().decode("utf-8")

families = []
for family in text_string_to_metric_families(body):
    families.append({
        "name": family.name,
        "type": family.type,
        "help": family.documentation,
        "samples": [{"name": s.name, "labels": s.labels, "value": s.value} for s in family.samples],
    })
print(json.dumps({"contentType": content_type, "families": families}, allow_nan=True))
