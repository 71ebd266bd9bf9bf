#!/usr/bin/env python3
"""Alert latency of `doralog run` (issue 5): from producing a rollback `completed` event that
breaches an SLO to the alert arriving at a local Alertmanager-compatible webhook, over N trials.

In the same run, the floor: the same kind of message produced with kcat and read by a kcat
consumer that is already running, with the fetch wait doralog uses (10 ms): the broker round
trip any Kafka-based alerting pays.
Both sides include one kcat process start per trial, so the ratio compares like with like.
Usage: bench/alert_latency.py DORALOG_BINARY [TRIALS]
Environment (optional): PRELOAD_LOG=DIR starts `run` on a copy of that log (a large live state);
SCRAPE_EVERY=SECONDS scrapes `/metrics` that often during the trials, as Prometheus does, and
prints how long the scrapes took.
"""
import http.server, json, os, shutil, socket, subprocess, sys, tempfile, threading, time, urllib.request

doralog = sys.argv[1]
trials = int(sys.argv[2]) if len(sys.argv) > 2 else 200
work = tempfile.mkdtemp(prefix="doralog-alert-bench-")

received = {}
lock = threading.Lock()

class Receiver(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        now = time.time()
        for alert in json.loads(body):
            service = alert["labels"].get("service")
            if alert["labels"].get("alertname") == "SLOBreach":
                with lock:
                    received.setdefault(service, now)
        self.send_response(200)
        self.end_headers()
    def log_message(self, *args):
        pass

server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
threading.Thread(target=server.serve_forever, daemon=True).start()
webhook = f"http://127.0.0.1:{server.server_address[1]}"

broker = subprocess.Popen([doralog, "broker", "--topic", "events", "--topic", "floor", "--partitions", "1"],
                          stdout=subprocess.PIPE, text=True)
brokers = broker.stdout.readline().strip()

preload = os.environ.get("PRELOAD_LOG")
if preload:
    shutil.copytree(preload, os.path.join(work, "log"), ignore=shutil.ignore_patterns("lock"))
scrape_every = float(os.environ.get("SCRAPE_EVERY", "0"))
http_port = None
if scrape_every > 0:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        http_port = s.getsockname()[1]

pipeline = os.path.join(work, "pipeline.yaml")
with open(pipeline, "w") as f:
    f.write(f"""source:
  kafka:
    brokers: "{brokers}"
    topics: [events]
    group: bench
    properties: {{session.timeout.ms: "6000", heartbeat.interval.ms: "300"}}
log: {{directory: "{work}/log"}}
slos:
  - {{name: rb, metric: rollback_time, per: service, objective: 5m, window: 7d, min_samples: 1, regression: false}}
alerts: {{stdout: false, alertmanager: {{url: "{webhook}"}}}}
""")
    if http_port:
        f.write(f"http: {{listen: \"127.0.0.1:{http_port}\"}}\n")
run = subprocess.Popen([doralog, "run", "--pipeline", pipeline], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

def kcat_produce(topic, line):
    subprocess.run(["kcat", "-P", "-b", brokers, "-t", topic], input=line + "\n", text=True, check=True)

def event(i, status, minute):
    e = {"id": f"r{i}-{status}", "type": "rollback", "time": f"2026-07-01T{8 + i // 60 % 12:02d}:{minute:02d}:{i % 60:02d}Z",
         "service": f"svc-{i}", "rollback_id": f"r{i}", "status": status}
    if status == "started":
        e.update({"from_version": "v2", "to_version": "v1"})
    return json.dumps(e)

# Warm up: the group joins (a few seconds), a preloaded log is replayed, and the first alert
# goes through.
kcat_produce("events", event(100000, "started", 0))
kcat_produce("events", event(100000, "completed", 20))
deadline = time.time() + (600 if preload else 60)
while "svc-100000" not in received and time.time() < deadline:
    time.sleep(0.05)
if "svc-100000" not in received:
    sys.exit("no alert arrived after warm-up: is doralog run working?")

scrapes = []
stop_scraping = threading.Event()
def scrape():
    while not stop_scraping.wait(scrape_every):
        t0 = time.time()
        with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/metrics", timeout=120) as r:
            r.read()
        scrapes.append(time.time() - t0)
if http_port:
    threading.Thread(target=scrape, daemon=True).start()

latencies = []
for i in range(trials):
    kcat_produce("events", event(i, "started", 0))
    t0 = time.time()
    kcat_produce("events", event(i, "completed", 20))
    deadline = t0 + 10
    while time.time() < deadline:
        with lock:
            if f"svc-{i}" in received:
                break
        time.sleep(0.001)
    with lock:
        latencies.append(received.get(f"svc-{i}", float("inf")) - t0)

stop_scraping.set()

# The floor: kcat produce -> an already-running kcat consumer.
consumer = subprocess.Popen(["kcat", "-C", "-b", brokers, "-t", "floor", "-o", "end", "-u", "-X", "fetch.wait.max.ms=10"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
time.sleep(2)
floor = []
for i in range(trials):
    t0 = time.time()
    kcat_produce("floor", f"ping {i}")
    consumer.stdout.readline()
    floor.append(time.time() - t0)
consumer.kill()
run.terminate()
run.wait()
broker.terminate()

def pct(values, p):
    s = sorted(values)
    return s[max(1, -(-p * len(s) // 100)) - 1]

p50, p99 = pct(latencies, 50), pct(latencies, 99)
f50, f99 = pct(floor, 50), pct(floor, 99)
print(f"alert latency over {trials} trials: p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms")
print(f"floor (kcat produce -> kcat consumer): p50 {f50 * 1000:.0f} ms, p99 {f99 * 1000:.0f} ms")
if scrapes:
    print(f"/metrics every {scrape_every:g} s during the trials: {len(scrapes)} scrapes, median {pct(scrapes, 50) * 1000:.0f} ms, max {max(scrapes) * 1000:.0f} ms")
print(f"ratio doralog/floor: p50 {p50 / f50:.2f}x, p99 {p99 / f99:.2f}x; target p99 < 1000 ms: {'met' if p99 < 1 else 'missed'}")
