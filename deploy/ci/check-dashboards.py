#!/usr/bin/env python3
"""Checks Grafana dashboard JSON files without a Grafana server (none can be installed here).

Structure: valid JSON, the top-level keys Grafana needs, unique panel ids, every panel placed on the 24-column grid
without overlapping another, every query on the templated Prometheus datasource. PromQL: every target expression is
parsed by promtool (as a recording rule), with Grafana's variables replaced by values of the right kind.
With --metrics FILE (a scrape of the running application's /actuator/prometheus), every metric name that a dashboard
query or a --rules expression reads must be in the scrape, except those listed in the --lazy file (meters created on
first use, e.g. per-job gauges while a job trains): a renamed meter breaks this check, not a dashboard in production.

Usage: check-dashboards.py [--rules alerts.yml] [--metrics scrape.txt --lazy lazy-metrics.txt] dashboard.json...
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

import yaml

REQUIRED_KEYS = ("title", "uid", "panels", "schemaVersion")
PROMQL_WORDS = {"sum", "max", "min", "avg", "count", "by", "without", "rate", "increase", "deriv", "offset", "or", "and",
                "unless", "on", "ignoring", "group_left", "group_right", "histogram_quantile", "vector", "le", "bool",
                "label_replace", "topk", "bottomk", "irate", "delta", "abs", "clamp_min", "clamp_max", "time"}


def substitute_variables(expr):
    expr = re.sub(r"\$__(rate_)?interval|\$__range", "5m", expr)
    return re.sub(r"\$\{?\w+(:\w+)?\}?", "x", expr)


def metric_names(expr):
    """Metric names an expression reads (identifiers outside label matchers, strings and by/without clauses)."""
    stripped = re.sub(r'"(?:\\.|[^"\\])*"', '""', expr)
    stripped = re.sub(r"\{[^}]*\}", "", stripped)
    stripped = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", "", stripped)
    stripped = re.sub(r"\[[^\]]*\]", "", stripped)
    stripped = re.sub(r"\b\d+(ms|s|m|h|d|w|y)\b", "", stripped)       # offset durations
    stripped = re.sub(r"\b[a-zA-Z_]\w*\s*\(", "(", stripped)             # function and aggregation names
    names = set(re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", stripped))
    return {n for n in names if n not in PROMQL_WORDS and not re.fullmatch(r"\d.*", n)}


def rule_expressions(path):
    """The expr of every rule in a Prometheus rule file."""
    with open(path) as f:
        rules = yaml.safe_load(f)
    return [rule["expr"] for group in rules["groups"] for rule in group["rules"]]


def check_layout(path, panels, errors):
    cells = {}
    for p in panels:
        g = p.get("gridPos")
        if not g or not all(isinstance(g.get(k), int) for k in ("x", "y", "w", "h")):
            errors.append(f"{path}: panel {p.get('id')} '{p.get('title')}' has no complete gridPos")
            continue
        if g["x"] < 0 or g["w"] < 1 or g["x"] + g["w"] > 24:
            errors.append(f"{path}: panel {p.get('id')} '{p.get('title')}' leaves the 24-column grid: {g}")
        for dx in range(g["w"]):
            for dy in range(g["h"]):
                other = cells.setdefault((g["x"] + dx, g["y"] + dy), p.get("id"))
                if other != p.get("id"):
                    errors.append(f"{path}: panel {p.get('id')} '{p.get('title')}' overlaps panel {other}")
                    break
            else:
                continue
            break


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--metrics", help="a scrape of /actuator/prometheus to check metric names against")
    parser.add_argument("--rules", action="append", default=[], help="Prometheus rule file whose expressions count too")
    parser.add_argument("--lazy", help="file of metric names that may be absent from the scrape, one a line (# comments)")
    parser.add_argument("dashboards", nargs="+")
    args = parser.parse_args()

    errors, rules, read = [], [], set()
    for path in args.dashboards:
        try:
            with open(path) as f:
                dashboard = json.load(f)
        except (OSError, ValueError) as e:
            errors.append(f"{path}: not readable JSON: {e}")
            continue
        dashboard = dashboard.get("dashboard", dashboard)
        for key in REQUIRED_KEYS:
            if key not in dashboard:
                errors.append(f"{path}: missing top-level '{key}'")
        variables = {v.get("name") for v in dashboard.get("templating", {}).get("list", [])}
        panels = list(dashboard.get("panels", []))
        for p in list(panels):
            panels += p.get("panels", [])
        ids = [p.get("id") for p in panels]
        duplicates = sorted({i for i in ids if ids.count(i) > 1}, key=str)
        if duplicates:
            errors.append(f"{path}: duplicate panel ids {duplicates}")
        check_layout(path, panels, errors)
        for p in panels:
            if p.get("type") == "row":
                continue
            if not p.get("targets"):
                errors.append(f"{path}: panel {p.get('id')} '{p.get('title')}' has no query")
            for t in p.get("targets", []):
                ds = t.get("datasource") or p.get("datasource") or {}
                uid = ds.get("uid", "") if isinstance(ds, dict) else str(ds)
                var = re.fullmatch(r"\$\{?(\w+)\}?", uid)
                if ds.get("type") != "prometheus" or not var or var.group(1) not in variables:
                    errors.append(f"{path}: panel {p.get('id')} query {t.get('refId')} is not on a templated "
                                  f"Prometheus datasource: {ds}")
                expr = t.get("expr")
                if not expr:
                    errors.append(f"{path}: panel {p.get('id')} query {t.get('refId')} has no expr")
                    continue
                rules.append({"record": f"dashboard:panel{p.get('id')}:{t.get('refId', 'A')}",
                              "expr": substitute_variables(expr)})
                read |= metric_names(substitute_variables(expr))

    if rules:
        with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as f:
            json.dump({"groups": [{"name": "dashboards", "rules": rules}]}, f)
        try:
            result = subprocess.run(["promtool", "check", "rules", f.name], capture_output=True, text=True)
        finally:
            os.unlink(f.name)
        if result.returncode:
            errors.append("PromQL: " + (result.stdout + result.stderr).strip())

    for path in args.rules:
        read |= {name for expr in rule_expressions(path) for name in metric_names(expr)}

    if args.metrics:
        with open(args.metrics) as f:
            exported = {m.group(0) for line in f if not line.startswith("#")
                        for m in [re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", line)] if m}
        lazy = set()
        if args.lazy:
            with open(args.lazy) as f:
                lazy = {line.split("#")[0].strip() for line in f} - {""}
        missing = sorted(read - exported - lazy)
        for name in missing:
            errors.append(f"a dashboard or alert reads {name}, which the running application does not export")
        stale = sorted(lazy & exported)
        print(f"{len(read)} metric names read; {len(read & exported)} exported by the application, "
              f"{len(read & lazy)} created on first use ({len(stale)} of those already exported)")

    for e in errors:
        print("FAIL", e)
    print(f"{len(args.dashboards)} dashboards, {len(rules)} queries parsed, {len(errors)} errors")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
