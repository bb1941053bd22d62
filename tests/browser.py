"""A headless Chromium driven over the DevTools protocol on a pipe: no extra packages, no port.

    with Browser() as browser:
        page = browser.open("file:///tmp/report.html")
        page.text            # what a reader sees (document.body.innerText)
        page.evaluate("document.querySelectorAll('svg.map').length")
        page.requests        # every URL the page asked for, the page itself included

Chromium reads protocol messages from fd 3 and writes them to fd 4, each a JSON object ended by a
NUL byte (``--remote-debugging-pipe``). Tests skip when no Chromium is installed
(`apt-get install chromium`).
"""
from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from typing import Any

CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)
# Quiet, offline, throwaway: no first-run, sync, updates, QUIC or background fetches.
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-extensions", "--disable-default-apps", "--mute-audio", "--remote-debugging-pipe")


class BrowserError(RuntimeError):
    pass


class Page:
    """One loaded page: the requests it made and a way to ask it questions."""

    def __init__(self, browser: "Browser", session: str) -> None:
        self.browser, self.session = browser, session
        self.requests: list[str] = []

    def evaluate(self, expression: str) -> Any:
        result = self.browser.call("Runtime.evaluate", {"expression": expression, "returnByValue": True},
                                   session=self.session)
        if "exceptionDetails" in result:
            raise BrowserError(f"{expression}: {result['exceptionDetails'].get('text')}")
        return result["result"].get("value")

    @property
    def text(self) -> str:
        return self.evaluate("document.body.innerText")


class Browser:
    """A throwaway Chromium process with a fresh profile, closed on exit."""

    def __init__(self, timeout: float = 30.0) -> None:
        if CHROMIUM is None:
            raise BrowserError("chromium is not installed")
        self.timeout = timeout
        self._profile = tempfile.mkdtemp(prefix="proxytrace-chromium-")
        to_child_r, self._to_child = os.pipe()
        self._from_child, from_child_w = os.pipe()

        # bash (dash takes only one-digit fds) moves the pipe ends onto fds 3 and 4, then becomes Chromium.
        # (through spare fds first, in case the pipe ends are themselves 3 or 4).
        wire = (f'exec 100<&{to_child_r} 101>&{from_child_w}; '
                'exec "$0" "$@" 3<&100 4>&101 100<&- 101>&-')
        self.proc = subprocess.Popen(
            ["bash", "-c", wire, CHROMIUM, *FLAGS, f"--user-data-dir={self._profile}", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            pass_fds=(to_child_r, from_child_w))
        os.close(to_child_r)
        os.close(from_child_w)
        self._buffer = b""
        self._next_id = 0
        self._events: list[dict[str, Any]] = []

    # --- protocol ---------------------------------------------------------------------------------
    def _send(self, message: dict[str, Any]) -> None:
        os.write(self._to_child, json.dumps(message).encode() + b"\0")

    def _read(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise BrowserError("chromium did not answer in time")
            ready, _, _ = select.select([self._from_child], [], [], left)
            if ready:
                chunk = os.read(self._from_child, 1 << 16)
                if not chunk:
                    raise BrowserError("chromium closed the protocol pipe")
                self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def call(self, method: str, params: dict[str, Any] | None = None, *, session: str | None = None) -> dict:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        self._send(message)
        deadline = time.monotonic() + self.timeout
        while True:
            reply = self._read(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise BrowserError(f"{method}: {reply['error'].get('message')}")
                return reply.get("result", {})
            self._events.append(reply)

    def _wait_for(self, method: str, session: str) -> None:
        deadline = time.monotonic() + self.timeout
        while True:
            for i, event in enumerate(self._events):
                if event.get("method") == method and event.get("sessionId") == session:
                    del self._events[: i + 1]
                    return
            self._events.append(self._read(deadline))

    # --- pages ------------------------------------------------------------------------------------
    def open(self, url: str) -> Page:
        """Load a URL in a new tab, recording every request it makes, and return once it has loaded."""
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        page = Page(self, session)
        self.call("Network.enable", session=session)
        self.call("Page.enable", session=session)
        self._events.clear()
        self.call("Page.navigate", {"url": url}, session=session)
        self._wait_for("Page.loadEventFired", session)
        # Anything the page asks for after load (lazy images, fonts) is requested by now or never.
        page.evaluate("new Promise(r => setTimeout(r, 300))")
        page.requests = [e["params"]["request"]["url"] for e in self._events
                         if e.get("method") == "Network.requestWillBeSent" and e.get("sessionId") == session]
        # The Resource Timing list also catches what the page fetched without the network layer.
        page.requests += page.evaluate("performance.getEntriesByType('resource').map(e => e.name)") or []
        return page

    def close(self) -> None:
        try:
            self._send({"id": 0, "method": "Browser.close", "params": {}})
            self.proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()
        finally:
            for fd in (self._to_child, self._from_child):
                try:
                    os.close(fd)
                except OSError:
                    pass
            shutil.rmtree(self._profile, ignore_errors=True)

    def __enter__(self) -> "Browser":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
