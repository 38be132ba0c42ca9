#!/usr/bin/env python3
"""Aggregate completion tokens/s of N concurrent greedy /v1/completions requests against a running peftd.

Black-box, as a client sees the service: each request asks for --max-tokens tokens (stop off) from its own prompt,
all N at once from N client threads; every round runs each stream count once, after one warm-up request per count.
Prints each round's rate and the median per stream count. Standard library only.

    python3 tools/bench/service_streams.py --url http://localhost:8080 --key-file peftd-data/api-key \
        --model stories260K --streams 1,16,64 --rounds 6
"""
import argparse
import concurrent.futures
import json
import statistics
import time
import urllib.request


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--url", default="http://localhost:8080")
    p.add_argument("--key-file", required=True)
    p.add_argument("--model", required=True, help="a ready model id (or ft:… adapter id)")
    p.add_argument("--streams", default="1,16,64")
    p.add_argument("--max-tokens", type=int, default=32)
    p.add_argument("--rounds", type=int, default=6)
    a = p.parse_args()
    headers = {"Authorization": "Bearer " + open(a.key_file).read().strip(), "Content-Type": "application/json"}

    def complete(i):
        body = {"model": a.model, "prompt": "Once upon a time %d" % i, "max_tokens": a.max_tokens, "temperature": 0}
        request = urllib.request.Request(a.url + "/v1/completions", data=json.dumps(body).encode(), headers=headers)
        with urllib.request.urlopen(request, timeout=600) as response:
            return json.loads(response.read())["usage"]["completion_tokens"]

    counts = [int(n) for n in a.streams.split(",")]
    for n in counts:
        complete(0)
    rates = {n: [] for n in counts}
    for r in range(a.rounds):
        for n in counts:
            start = time.perf_counter()
            with concurrent.futures.ThreadPoolExecutor(n) as pool:
                tokens = sum(pool.map(complete, range(n)))
            rates[n].append(tokens / (time.perf_counter() - start))
            print("round %d, %3d streams: %8.1f tokens/s" % (r, n, rates[n][-1]), flush=True)
    for n in counts:
        print("%3d streams: median %8.1f tokens/s over %d rounds" % (n, statistics.median(rates[n]), a.rounds))


if __name__ == "__main__":
    main()
