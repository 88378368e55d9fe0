#!/usr/bin/env python3
"""Prints, one per line, the metric names that Prometheus rule files and Grafana dashboards read.

    metric_names.py monitoring/prometheus/rules/flightdeck.yml monitoring/grafana/flightdeck.json

A PromQL expression is tokenised: string literals, label matchers ({...}), durations ([5m]),
grouping clauses (by/without/on/ignoring/group_left/group_right (...)), numbers, functions
(a name before "(") and keywords are dropped; what is left are metric names. Names that a rule
file records itself (`record:`) are not printed: they do not come from the processes. Histogram
series (_bucket/_sum/_count) are printed as read; the caller matches them to families.
"""
import json
import re
import sys

import yaml

KEYWORDS = {
    "and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right",
    "offset", "bool", "atan2", "inf", "nan", "sum", "min", "max", "avg", "count", "stddev",
    "stdvar", "topk", "bottomk", "quantile", "count_values", "group",
}
GROUPING = {"by", "without", "on", "ignoring", "group_left", "group_right"}
TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`|\{[^}]*\}|\[[^\]]*\]'
                   r'|[A-Za-z_:][A-Za-z0-9_:]*|\d+(?:\.\d+)?(?:e[+-]?\d+)?|\S')


def names_in(expr):
    tokens = TOKEN.findall(expr)
    found = set()
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
        if tok in GROUPING and nxt == "(":
            # Skip the label list of a grouping clause.
            while i < len(tokens) and tokens[i] != ")":
                i += 1
        elif re.fullmatch(r"[A-Za-z_:][A-Za-z0-9_:]*", tok):
            if nxt != "(" and tok.lower() not in KEYWORDS:
                found.add(tok)
        i += 1
    return found


def exprs_of_rules(path, recorded):
    doc = yaml.safe_load(open(path))
    for group in doc.get("groups", []):
        for rule in group.get("rules", []):
            if "record" in rule:
                recorded.add(rule["record"])
            yield rule["expr"]


def exprs_of_dashboard(path):
    def walk(node):
        if isinstance(node, dict):
            if isinstance(node.get("expr"), str):
                yield node["expr"]
            for value in node.values():
                yield from walk(value)
        elif isinstance(node, list):
            for value in node:
                yield from walk(value)
    yield from walk(json.load(open(path)))


def main(paths):
    names, recorded = set(), set()
    for path in paths:
        exprs = exprs_of_dashboard(path) if path.endswith(".json") else exprs_of_rules(path, recorded)
        for expr in exprs:
            names |= names_in(expr)
    for name in sorted(names - recorded):
        print(name)


if __name__ == "__main__":
    main(sys.argv[1:])
