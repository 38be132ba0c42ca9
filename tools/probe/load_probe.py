#!/usr/bin/env python3
"""Load probe: do well-behaved completions keep their latency while a few clients abuse the service?

Runs against a live peftd (started by load_probe.sh, or any running instance) with the standard library only:

  phase "quiet":  N well-behaved completions (max_tokens 16) sent at once; latency of each.
  phase "abused": the same N at once, while abusive requests run beside them:
      - a streamed completion with max_tokens 1e8 whose client hangs up after three chunks,
      - a non-streamed completion with max_tokens 1e8 whose client gives up after 10 s,
      - max_tokens 1e9, a 50 KB prompt, and a 25 MB JSON body,
      - a fine-tuning job whose target_modules is the catastrophic regex "(.*){16}Z".
      - ten streams within every limit whose clients hang up after three chunks,
  then: the server's RSS (from /proc/<pid>/status) after warm-up, after the quiet phase (the well-behaved load's own
        footprint), at its peak, and after a settle time,
        and the answer each abusive request got.

Prints one JSON object (--json) or a short table.
"""
import argparse
import concurrent.futures as cf
import http.client
import json
import socket
import statistics
import threading
import time
import urllib.parse
import uuid


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


class Client:
    def __init__(self, url, key):
        u = urllib.parse.urlparse(url)
        self.host, self.port = u.hostname, u.port or 80
        self.key = key

    def conn(self, timeout):
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout)

    def post(self, path, body, timeout=600, content_type="application/json", extra=None):
        c = self.conn(timeout)
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers = {"Authorization": f"Bearer {self.key}", "Content-Type": content_type}
        headers.update(extra or {})
        try:
            c.request("POST", path, body=data, headers=headers)
            r = c.getresponse()
            payload = r.read()
            return r.status, payload
        finally:
            c.close()

    def get(self, path, timeout=60):
        c = self.conn(timeout)
        try:
            c.request("GET", path, headers={"Authorization": f"Bearer {self.key}"})
            r = c.getresponse()
            return r.status, r.read()
        finally:
            c.close()


def well_behaved(client, model, i):
    start = time.monotonic()
    status, _ = client.post("/v1/completions", {
        "model": model, "prompt": f"Once upon a time, story {i},", "max_tokens": 16, "temperature": 0})
    return status, time.monotonic() - start


def summary(results):
    lat = sorted(t for s, t in results if s == 200)
    if not lat:
        return {"ok": 0, "failed": len(results)}
    p99 = lat[min(len(lat) - 1, int(round(0.99 * (len(lat) - 1))))]
    return {"ok": len(lat), "failed": len(results) - len(lat),
            "median_s": round(statistics.median(lat), 3), "p99_s": round(p99, 3), "max_s": round(lat[-1], 3)}


def run_batch(client, model, n):
    with cf.ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(lambda i: well_behaved(client, model, i), range(n)))


def describe(status, payload):
    text = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else str(payload)
    try:
        detail = json.loads(text).get("detail") or json.loads(text).get("title")
    except Exception:
        detail = text[:160]
    return f"{status} {detail}"


def abusive_requests(client, model, training_file):
    """(name, function) pairs; each function returns a one-line description of what the server answered."""

    def hang_up(max_tokens):
        c = client.conn(60)
        body = json.dumps({"model": model, "prompt": "Once", "max_tokens": max_tokens, "stream": True}).encode()
        c.request("POST", "/v1/completions", body=body,
                  headers={"Authorization": f"Bearer {client.key}", "Content-Type": "application/json"})
        r = c.getresponse()
        if r.status != 200:
            status, payload = r.status, r.read()
            c.close()
            return describe(status, payload)
        chunks = 0
        start = time.monotonic()
        while chunks < 3 and time.monotonic() - start < 30:
            line = r.fp.readline()
            if not line:
                break
            if line.startswith(b"data:"):
                chunks += 1
        c.close()  # the client leaves; the server should stop generating
        return f"200 stream, hung up after {chunks} chunks"

    def give_up_after_10s():
        try:
            status, payload = client.post("/v1/completions",
                                          {"model": model, "prompt": "Once", "max_tokens": 100_000_000}, timeout=10)
            return describe(status, payload)
        except Exception as e:
            return f"client gave up: {type(e).__name__}"

    def huge_max_tokens():
        return describe(*client.post("/v1/completions", {"model": model, "prompt": "Once", "max_tokens": 1_000_000_000},
                                     timeout=60))

    def long_prompt():
        return describe(*client.post("/v1/completions", {"model": model, "prompt": "Once upon a time " * 3000,
                                                          "max_tokens": 4}, timeout=60))

    def huge_body():
        # as curl sends large bodies: headers with "Expect: 100-continue", the body only after "100 Continue"
        body = json.dumps({"model": model, "prompt": "x" * (25 * 1024 * 1024), "max_tokens": 1}).encode()
        with socket.create_connection((client.host, client.port), timeout=120) as sock:
            sock.sendall((f"POST /v1/completions HTTP/1.1\r\nHost: {client.host}\r\n"
                          f"Authorization: Bearer {client.key}\r\nContent-Type: application/json\r\n"
                          f"Content-Length: {len(body)}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n").encode())
            reader = sock.makefile("rb")
            status_line = reader.readline().decode().strip()
            if " 100 " in status_line + " ":
                reader.readline()  # the blank line after the interim response
                try:
                    sock.sendall(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the server answered and closed before taking the whole body; its answer is still readable
                status_line = reader.readline().decode().strip()
            response = reader.read().decode("utf-8", "replace")
        status = status_line.split(" ")[1] if " " in status_line else status_line
        return describe(status, response.split("\r\n\r\n", 1)[-1].encode())

    def hung_up_streams():
        # streams within every limit whose clients leave after three chunks: the server should stop each generation
        answers = []
        for _ in range(10):
            answers.append(hang_up(480))
        return f"{len(answers)} streams of max_tokens 480: " + ", ".join(sorted(set(answers)))

    def hostile_regex_job():
        if training_file is None:
            return "skipped (no training file)"
        status, payload = client.post("/v1/fine_tuning/jobs", {
            "model": model, "training_file": training_file,
            "method": {"type": "lora", "lora": {"hyperparameters": {"target_modules": "(.*){16}Z", "max_steps": 2}}}},
            timeout=60, extra={"Idempotency-Key": str(uuid.uuid4())})
        if status >= 300:
            return describe(status, payload)
        job = json.loads(payload)["id"]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            _, p = client.get(f"/v1/fine_tuning/jobs/{job}")
            state = json.loads(p)["status"]
            if state in ("succeeded", "failed", "cancelled"):
                return f"job {state} within {60 - (deadline - time.monotonic()):.0f} s"
            time.sleep(1)
        client.post(f"/v1/fine_tuning/jobs/{job}/cancel", {})
        return "job still running after 60 s (cancel sent)"

    return [("stream max_tokens 1e8, client hangs up", lambda: hang_up(100_000_000)),
            ("10 streams within limits, clients hang up", hung_up_streams),
            ("max_tokens 1e8, client gives up at 10 s", give_up_after_10s),
            ("max_tokens 1e9", huge_max_tokens),
            ("50 KB prompt", long_prompt),
            ("25 MB JSON body", huge_body),
            ("target_modules (.*){16}Z", hostile_regex_job)]


def upload_training_file(client):
    boundary = uuid.uuid4().hex
    lines = "\n".join(json.dumps({"text": f"Once upon a time there was a cat number {i}."}) for i in range(8))
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nfine-tune\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"probe.jsonl\"\r\n"
            f"Content-Type: application/jsonl\r\n\r\n{lines}\n\r\n--{boundary}--\r\n").encode()
    status, payload = client.post("/v1/files", body, content_type=f"multipart/form-data; boundary={boundary}")
    return json.loads(payload)["id"] if status == 200 else None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", default="http://127.0.0.1:8080")
    ap.add_argument("--key", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--pid", type=int, required=True, help="the server's process id, for its RSS")
    ap.add_argument("--requests", type=int, default=100)
    ap.add_argument("--settle", type=float, default=30, help="seconds to wait before the final RSS reading")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    client = Client(args.url, args.key)

    run_batch(client, args.model, 4)  # warm-up: base model loaded, JIT warm
    rss = {"start_mb": rss_mb(args.pid)}
    peak = [rss["start_mb"]]
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            try:
                peak[0] = max(peak[0], rss_mb(args.pid))
            except OSError:
                return
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()

    quiet = summary(run_batch(client, args.model, args.requests))
    rss["after_quiet_mb"] = rss_mb(args.pid)
    training_file = upload_training_file(client)
    with cf.ThreadPoolExecutor(max_workers=8) as pool:
        abusive = [(name, pool.submit(fn)) for name, fn in abusive_requests(client, args.model, training_file)]
        time.sleep(2)  # let the abusive requests get going first
        abused = summary(run_batch(client, args.model, args.requests))
        answers = {}
        for name, fut in abusive:
            try:
                answers[name] = fut.result(timeout=180)
            except Exception as e:
                answers[name] = f"probe error: {type(e).__name__}: {e}"
    time.sleep(args.settle)
    stop.set()
    sampler.join()
    rss["peak_mb"] = peak[0]
    rss["after_settle_mb"] = rss_mb(args.pid)
    rss = {k: round(v) for k, v in rss.items()}
    rss["after_over_start"] = round(rss["after_settle_mb"] / rss["start_mb"], 3)
    rss["after_over_after_quiet"] = round(rss["after_settle_mb"] / rss["after_quiet_mb"], 3)
    result = {"quiet": quiet, "abused": abused, "abusive_answers": answers, "rss": rss}
    if args.json:
        print(json.dumps(result))
        return
    print(f"well-behaved, alone:       {quiet}")
    print(f"well-behaved, with abuse:  {abused}")
    for name, answer in answers.items():
        print(f"  {name:42} -> {answer}")
    print(f"RSS MB: {rss}")


if __name__ == "__main__":
    main()
