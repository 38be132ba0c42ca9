#!/usr/bin/env python3
"""Cuts a plain-text file into {"text": ...} JSONL records of about --chars characters (at line boundaries), for
`peftd train --data`. Standard library only.

    python3 tools/bench/text_to_jsonl.py ../shared/data/text/tinyshakespeare.txt /tmp/shakespeare.jsonl --chars 400
"""
import argparse
import json


def main():
    p = argparse.ArgumentParser()
    p.add_argument("source")
    p.add_argument("out")
    p.add_argument("--chars", type=int, default=400)
    p.add_argument("--limit", type=int, default=0, help="stop after this many records (0: all)")
    args = p.parse_args()
    records, chunk = [], []
    with open(args.source, encoding="utf-8") as f:
        for line in f:
            chunk.append(line)
            if sum(len(c) for c in chunk) >= args.chars:
                records.append("".join(chunk).strip())
                chunk = []
                if args.limit and len(records) >= args.limit:
                    break
    if chunk and not (args.limit and len(records) >= args.limit):
        records.append("".join(chunk).strip())
    with open(args.out, "w", encoding="utf-8") as f:
        for r in records:
            if r:
                f.write(json.dumps({"text": r}) + "\n")
    print(f"{len(records)} records -> {args.out}")


if __name__ == "__main__":
    main()
