#!/usr/bin/env python3
"""Posts one doralog event per webhook to URL at RATE requests/s for SECONDS, on keep-alive
connections, and prints the answer latency (send to 2xx, i.e. acknowledged by the broker)
percentiles. Each event has its own id. usage: webhook_latency.py URL RATE SECONDS"""
import http.client
import sys
import threading
import time
import urllib.parse

url, rate, seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
parts = urllib.parse.urlsplit(url)
workers = 16
latencies = []
errors = []
lock = threading.Lock()
start = time.monotonic() + 0.5


def worker(k):
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    i = k
    total = rate * seconds
    while i < total:
        due = start + i / rate
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        body = ('{"id":"lat-%d","type":"deploy","time":"2026-07-01T10:00:00Z","service":"s%d","version":"v%d"}' % (i, i % 50, i)).encode()
        sent = time.monotonic()
        try:
            conn.request("POST", parts.path, body, {"Content-Type": "application/json"})
            answer = conn.getresponse()
            answer.read()
            took = time.monotonic() - sent
            with lock:
                (latencies if answer.status == 200 else errors).append(took if answer.status == 200 else answer.status)
        except Exception as e:  # a broken connection: count it and reconnect
            with lock:
                errors.append(str(e))
            conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        i += workers


threads = [threading.Thread(target=worker, args=(k,)) for k in range(workers)]
for t in threads:
    t.start()
for t in threads:
    t.join()
latencies.sort()


def pct(p):
    return latencies[min(len(latencies) - 1, max(0, -(-len(latencies) * p // 100) - 1))] * 1000


elapsed = time.monotonic() - start
print(f"answered {len(latencies)} of {rate * seconds} in {elapsed:.1f} s ({len(latencies) / elapsed:.0f}/s), errors {len(errors)}; "
      f"answer latency p50 {pct(50):.2f} ms, p99 {pct(99):.2f} ms, max {latencies[-1] * 1000:.2f} ms")
