"""The process `audit serve` starts: Datasette over a snapshot, behind a Host-header check.

A page on another site can make the browser resolve its own name to 127.0.0.1 (DNS rebinding) and
then read whatever a local server answers. The browser still sends that site's name in the Host
header, so answering only requests addressed to a local name (`localhost`, `127.0.0.1`, `[::1]`,
and names the user gave with `--allow-host`) shuts that door; anything else gets 421 Misdirected
Request. Run as ``python -m auditor.serve_app --immutable SNAPSHOT --host 127.0.0.1 --port N
--metadata FILE [--allow-host NAME ...] [--setting KEY VALUE ...]``.
"""
from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any, Callable

LOCAL_NAMES = ("localhost", "127.0.0.1", "[::1]", "::1")


def host_name(header: bytes) -> str:
    """The name in a Host header, without its port (`[::1]:8001` -> `[::1]`), lower-cased."""
    text = header.decode("latin-1").strip().lower()
    if text.startswith("["):
        return text[: text.find("]") + 1] if "]" in text else text
    return text.rsplit(":", 1)[0] if text.count(":") == 1 else text


def host_guard(app: Callable, allowed: tuple[str, ...]) -> Callable:
    """An ASGI app that passes only requests whose Host header names one of ``allowed``."""
    names = {n.lower() for n in allowed}

    async def guarded(scope: dict, receive: Callable, send: Callable) -> Any:
        if scope.get("type") in ("http", "websocket"):
            hosts = [v for k, v in scope.get("headers", []) if k.lower() == b"host"]
            if len(hosts) != 1 or host_name(hosts[0]) not in names:
                if scope["type"] == "websocket":
                    await send({"type": "websocket.close", "code": 1008})
                    return None
                body = b"421 Misdirected Request: this server answers only requests addressed to " + \
                    ", ".join(sorted(names)).encode() + b"\n"
                await send({"type": "http.response.start", "status": 421,
                            "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                                        (b"content-length", str(len(body)).encode())]})
                await send({"type": "http.response.body", "body": body})
                return None
        return await app(scope, receive, send)

    return guarded


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m auditor.serve_app")
    parser.add_argument("--immutable", required=True)
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--metadata", required=True)
    parser.add_argument("--allow-host", action="append", default=[])
    parser.add_argument("--setting", nargs=2, action="append", default=[])
    args = parser.parse_args(argv)

    import uvicorn
    from datasette.app import Datasette

    with open(args.metadata, encoding="utf-8") as fh:
        metadata = json.load(fh)
    ds = Datasette(immutables=[args.immutable], metadata=metadata, settings={k: int(v) if v.isdigit() else v for k, v in args.setting})
    asyncio.run(ds.invoke_startup())
    app = host_guard(ds.app(), LOCAL_NAMES + tuple(args.allow_host))
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", lifespan="on", workers=1)


if __name__ == "__main__":
    main()
