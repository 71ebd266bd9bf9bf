#!/usr/bin/env python3
"""Opens an HTML page in headless Chromium and reports what a reader would get, as JSON.

Usage: scripts/check-html-page.py PAGE.html [--no-javascript] [--screenshot OUT.png [--scale S]]

Talks to Chromium over the DevTools protocol on a pipe (--remote-debugging-pipe: file
descriptors 3 and 4, NUL-terminated JSON), so it needs nothing beyond Python and Debian's
`chromium`. It prints one JSON object:
  requests:  every URL the page requested, the page itself included
  failed:    requests that failed, with their error
  console:   console messages and exceptions of level error (CSP violations among them)
  text:      the rendered text (document.body.innerText)
  headings:  the h1/h2/h3 texts, in order
  charts:    per <svg class="chart">, its <title> and aria-label
  elements:  counts of elements a safe page never grows from data: img, script, iframe, a
  probe:     the value of window.__doralog_probe (set only by injected script)
Exit 0 when the page loaded; 2 on bad usage; 1 when Chromium failed.
"""
import base64
import fcntl
import json
import os
import subprocess
import sys
import time


def main():
    args = sys.argv[1:]
    if not args or args[0].startswith("-"):
        print(__doc__, file=sys.stderr)
        return 2
    page = os.path.abspath(args[0])
    no_js = "--no-javascript" in args
    shot = args[args.index("--screenshot") + 1] if "--screenshot" in args else None
    scale = float(args[args.index("--scale") + 1]) if "--scale" in args else 1.0

    to_chrome_r, to_chrome_w = os.pipe()
    from_chrome_r, from_chrome_w = os.pipe()
    # Chromium reads commands on fd 3 and writes on fd 4. The child's ends are first copied
    # above 10 (either may be 3 or 4 already), so that the child can put them in place.
    child_read = fcntl.fcntl(to_chrome_r, fcntl.F_DUPFD, 10)
    child_write = fcntl.fcntl(from_chrome_w, fcntl.F_DUPFD, 10)
    for fd in (to_chrome_r, from_chrome_w):
        os.close(fd)

    def child_fds():
        os.dup2(child_read, 3)
        os.dup2(child_write, 4)
    chrome = subprocess.Popen(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe", "--no-first-run",
         "--disable-background-networking", "--hide-scrollbars", "--window-size=1200,1600",
         "--user-data-dir=" + os.path.dirname(page) + "/.chromium-profile", "about:blank"],
        pass_fds=(3, 4, child_read, child_write), preexec_fn=child_fds, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(child_read)
    os.close(child_write)
    writer = os.fdopen(to_chrome_w, "wb", buffering=0)
    reader = os.fdopen(from_chrome_r, "rb", buffering=0)
    buffer = b""
    events = []
    next_id = [0]

    def read_message(deadline):
        nonlocal buffer
        while b"\0" not in buffer:
            if time.time() > deadline:
                raise TimeoutError("no answer from chromium")
            chunk = reader.read(65536)
            if not chunk:
                raise EOFError("chromium closed the pipe")
            buffer += chunk
        raw, buffer = buffer.split(b"\0", 1)
        return json.loads(raw)

    def send(method, params=None, session=None, timeout=30):
        next_id[0] += 1
        message = {"id": next_id[0], "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        writer.write(json.dumps(message).encode() + b"\0")
        deadline = time.time() + timeout
        while True:
            m = read_message(deadline)
            if m.get("id") == next_id[0]:
                if "error" in m:
                    raise RuntimeError(f"{method}: {m['error']}")
                return m.get("result", {})
            events.append(m)

    def wait_for(method, timeout=30):
        deadline = time.time() + timeout
        for m in events:
            if m.get("method") == method:
                return m
        while True:
            m = read_message(deadline)
            events.append(m)
            if m.get("method") == method:
                return m

    try:
        target = send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Network", "Runtime", "Log"):
            send(domain + ".enable", session=session)
        if no_js:
            send("Emulation.setScriptExecutionDisabled", {"value": True}, session=session)
        send("Page.navigate", {"url": "file://" + page}, session=session)
        wait_for("Page.loadEventFired")
        time.sleep(0.3)  # late requests and console messages

        def evaluate(expression):
            result = send("Runtime.evaluate", {"expression": expression, "returnByValue": True}, session=session)
            return result.get("result", {}).get("value")

        report = {
            "text": evaluate("document.body ? document.body.innerText : ''"),
            "headings": evaluate("Array.from(document.querySelectorAll('h1,h2,h3')).map(h => h.textContent.trim())"),
            "charts": evaluate(
                "Array.from(document.querySelectorAll('svg.chart')).map(s => ({title: (s.querySelector('title') || {}).textContent || null,"
                " label: s.getAttribute('aria-label')}))"),
            "elements": evaluate(
                "({img: document.querySelectorAll('img').length, script: document.querySelectorAll('script').length,"
                " iframe: document.querySelectorAll('iframe').length, a: document.querySelectorAll('a').length})"),
            "probe": evaluate("window.__doralog_probe === undefined ? null : String(window.__doralog_probe)"),
            "sortable": evaluate("Array.from(document.querySelectorAll('table.sortable th')).some(th => th.style.cursor === 'pointer')"),
        }
        if shot:
            # The first screen of the page (the header, the tiles and the first trends), scaled.
            clip = {"x": 0, "y": 0, "width": 1200, "height": 1600, "scale": scale}
            data = send("Page.captureScreenshot", {"format": "png", "clip": clip}, session=session, timeout=60)["data"]
            with open(shot, "wb") as f:
                f.write(base64.b64decode(data))
        report["requests"] = [m["params"]["request"]["url"] for m in events if m.get("method") == "Network.requestWillBeSent"]
        report["failed"] = [m["params"].get("errorText") for m in events if m.get("method") == "Network.loadingFailed"]
        console = []
        for m in events:
            if m.get("method") == "Runtime.consoleAPICalled" and m["params"].get("type") in ("error", "assert"):
                console.append(" ".join(str(a.get("value", a.get("description", ""))) for a in m["params"].get("args", [])))
            elif m.get("method") == "Runtime.exceptionThrown":
                console.append(m["params"]["exceptionDetails"].get("text", "exception"))
            elif m.get("method") == "Log.entryAdded" and m["params"]["entry"].get("level") == "error":
                console.append(m["params"]["entry"].get("text", ""))
        report["console"] = console
        print(json.dumps(report))
        return 0
    except Exception as error:  # noqa: BLE001 - reported, then exit 1
        print(f"check-html-page: {error}", file=sys.stderr)
        return 1
    finally:
        try:
            writer.write(json.dumps({"id": 0, "method": "Browser.close"}).encode() + b"\0")
        except OSError:
            pass
        try:
            chrome.wait(timeout=10)
        except subprocess.TimeoutExpired:
            chrome.kill()


if __name__ == "__main__":
    sys.exit(main())
