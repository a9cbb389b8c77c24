"""The blind rating page's server: a static page and a three-route JSON API on loopback.

Why a server at all: a rater needs nothing but a browser, and every rating must reach
disk the moment it is given. The page (`rating_page.html`, plain HTML and a few lines of
script, shipped as package data) asks the API for the next unrated pair and posts each
rating; the server appends it to the rater's ratings file (schema:
`analysis/human_ratings.py`) before answering.

Routes: `GET /` the page; `GET /api/state` the progress and the next pair; `POST
/api/rate` `{"token", "choice": "1"|"2"|"tie", "scores": {"1": {criterion: n}, "2": ...},
"seconds"}`, answered with the new state. A pair is known to the browser only by an
opaque token; the API sends the bare task, the axis, the rubric criteria and the two
outputs in this rater's shown order, and nothing else (`BlindPair.public`).

The server binds 127.0.0.1 only, on a free port unless one is given, and stops on
Ctrl-C / SIGTERM and when the process that started it dies (Linux PDEATHSIG, plus a
parent-pid watchdog for other systems).
"""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any

from aiohttp import web

from utility_gap.analysis.human_ratings import CHOICES, RatingsError, append_rating, rated_pairs, rating_record
from utility_gap.analysis.rating_sample import BlindPair, RatingSample, shown_first
from utility_gap.models.embedded import die_with_parent

HOST = "127.0.0.1"
PAGE = "rating_page.html"
WATCHDOG_SECONDS = 1.0


@dataclass
class RatingSession:
    """One rater's pass through a sample: what is rated, and where ratings go."""

    sample: RatingSample
    out: Path
    rater: str
    done: set[str] = field(default_factory=set)  # pair keys rated

    def __post_init__(self) -> None:
        self.done = rated_pairs(self.out, self.rater) & {p.pair_key for p in self.sample.pairs}
        self._tokens = self.sample.by_token()

    def next_pair(self) -> BlindPair | None:
        return next((p for p in self.sample.pairs if p.pair_key not in self.done), None)

    def state(self) -> dict[str, Any]:
        pair = self.next_pair()
        view = None
        if pair is not None:
            view = pair.public(shown_first(self.rater, pair.pair_key, self.sample.seed), self.sample.seed)
        return {"rater": self.rater, "total": len(self.sample.pairs), "done": len(self.done), "pair": view}

    def rate(self, body: Any) -> dict[str, Any]:
        """Validate one posted rating, append it to the file, and return the new state."""
        if not isinstance(body, dict):
            raise RatingsError("the rating must be a JSON object")
        pair = self._tokens.get(str(body.get("token")))
        if pair is None:
            raise RatingsError("unknown pair token")
        if pair.pair_key in self.done:  # a double submit: already on disk
            return self.state() | {"duplicate": True}
        choice = body.get("choice")
        if choice not in CHOICES:
            raise RatingsError(f"choice must be one of {', '.join(CHOICES)}")
        first = shown_first(self.rater, pair.pair_key, self.sample.seed)
        sides = {"1": first, "2": "b" if first == "a" else "a"}
        scores: dict[str, dict[str, int]] = {}
        for shown, values in (body.get("scores") or {}).items():
            if shown not in sides or not isinstance(values, dict):
                raise RatingsError("scores must be {'1': {criterion: score}, '2': {...}}")
            unknown = set(values) - set(pair.criteria)
            if unknown:
                raise RatingsError(f"unknown criteria {sorted(unknown)}")
            scores[sides[shown]] = {c: v for c, v in values.items() if v is not None}
        seconds = body.get("seconds")
        record = rating_record(
            rater=self.rater,
            pair_key=pair.pair_key,
            shown_first=first,
            choice=choice,
            scores=scores or None,
            seconds=float(seconds) if isinstance(seconds, (int, float)) and not isinstance(seconds, bool) else None,
        )
        append_rating(self.out, record)
        self.done.add(pair.pair_key)
        return self.state()


def build_app(session: RatingSession) -> web.Application:
    page = files("utility_gap.pipeline").joinpath(PAGE).read_text(encoding="utf-8")

    async def index(request: web.Request) -> web.Response:
        return web.Response(text=page, content_type="text/html", headers={"Cache-Control": "no-store"})

    async def state(request: web.Request) -> web.Response:
        return web.json_response(session.state(), headers={"Cache-Control": "no-store"})

    async def rate(request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except json.JSONDecodeError:
            return web.json_response({"error": "the body is not JSON"}, status=400)
        try:
            return web.json_response(session.rate(body), headers={"Cache-Control": "no-store"})
        except RatingsError as ex:
            return web.json_response({"error": str(ex)}, status=400)

    app = web.Application(client_max_size=64 * 1024)
    app.add_routes([web.get("/", index), web.get("/api/state", state), web.post("/api/rate", rate)])
    return app


async def _serve(session: RatingSession, port: int, ready: Any, parent: int) -> None:
    runner = web.AppRunner(build_app(session), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, HOST, port)
    await site.start()
    try:
        ready(f"http://{HOST}:{runner.addresses[0][1]}/")
        while os.getppid() == parent:  # the watchdog: stop when the parent is gone
            await asyncio.sleep(WATCHDOG_SECONDS)
    finally:
        await runner.cleanup()


def serve(session: RatingSession, port: int = 0, ready: Any = print, parent: int | None = None) -> None:
    """Serve until Ctrl-C, SIGTERM or the death of `parent` (default: our parent process).

    `ready(url)` is called once the server listens.
    """
    parent = os.getppid() if parent is None else parent
    die_with_parent()
    if os.getppid() != parent:  # it died before the death signal was armed
        return
    asyncio.run(_serve(session, port, ready, parent))
