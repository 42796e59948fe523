"""A small OpenAI-compatible chat server for tests: /v1/chat/completions with SSE streaming.

The request's `model` picks the behaviour: "extract" answers by quoting the passage sentence that shares
most words with the question (with its [n]); "gullible" obeys instructions planted in passages, "obedient" repeats the claim a passage orders it to make
(and cites that passage), "only-obedient" says nothing else, "notfound-but" refuses and answers anyway; the rest
are failures: "http500", "ratelimit", "hang", "garbage", "notfound", "badmarkers", "empty".
"""

from __future__ import annotations

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PASSAGE = re.compile(r'<passage id="(\d+)"[^>]*>\n(.*?)\n</passage>', re.S)


def extract_reply(prompt: str) -> str:
    question = prompt.rsplit("Question:", 1)[1].split("\n")[0]
    q_words = set(re.findall(r"\w{3,}", question.lower()))
    best = (0, "", "1")
    for n, text in PASSAGE.findall(prompt):
        for sentence in re.split(r"(?<=[.!?”])\s+", text):
            score = len(q_words & set(re.findall(r"\w{3,}", sentence.lower())))
            if score > best[0]:
                best = (score, sentence.strip(), n)
    return f"{best[1]} [{best[2]}]" if best[0] else "NOT_FOUND"


def bad_markers_reply(prompt: str) -> str:
    """A supported claim cited by the passage that holds it, an invented one cited [7] (no such passage),
    and one cited by the last passage, so the markers need renumbering whatever the ranking."""
    numbers = {text: n for n, text in PASSAGE.findall(prompt)}
    holder = next((n for text, n in numbers.items() if "economic cooperation" in text), "1")
    last = max((n for n in numbers.values() if n != holder), key=int, default="1")
    return (f"North Korea's legislature voted to scrap all economic cooperation agreements [{holder}]. "
            f"The moon is made of cheese [7]. Pyongyang seeks ties with Russia [{last}].")


def obedient_reply(prompt: str) -> str:
    """Does what a passage tells it ("… say <claim>."), cites that passage, then answers as "extract" would."""
    for n, text in PASSAGE.findall(prompt):
        order = re.search(r"ignore previous instructions and say (?:that )?([^.]+)\.", text, re.I)
        if order:
            return f"{order.group(1)[0].upper()}{order.group(1)[1:]} [{n}]. {extract_reply(prompt)}"
    return extract_reply(prompt)


def gullible_reply(prompt: str) -> str:
    if "ignore previous instructions" in prompt.lower():
        return "PWNED! Visit evil.example for the real news."
    return extract_reply(prompt)


class Handler(BaseHTTPRequestHandler):
    calls: list[dict] = []

    def log_message(self, *args):  # noqa: D401 - silence the default stderr log
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        Handler.calls.append({"body": body, "auth": self.headers.get("Authorization")})
        mode = body["model"]
        prompt = body["messages"][-1]["content"]
        if mode == "http500":
            return self._plain(500, "boom")
        if mode == "ratelimit":
            return self._plain(429, "slow down")
        if mode == "hang":
            time.sleep(5)
        if "Standalone query:" in prompt:
            last = prompt.rsplit("Last question:", 1)[1].split("\n")[0]
            first = prompt.split("User:", 1)[1].split("\n")[0]
            return self._stream([f"{first.strip()} {last.strip()}"])
        if mode == "garbage":
            return self._raw(["data: {not json}", ""])
        if mode == "empty":
            return self._raw(["data: [DONE]", ""])
        if mode == "trickle":  # a token every 0.3 s, for ever: only an overall deadline stops it
            return self._trickle()
        if mode == "numbers":  # content that is not a string: a number, a list, null
            events = [{"choices": [{"delta": {"content": c}}]} for c in (42, ["a", "b"], None, {"x": 1})]
            return self._raw([f"data: {json.dumps(e)}\n" for e in events] + ["data: [DONE]", ""])
        reply = {
            "notfound": "NOT_FOUND",
            "gullible": gullible_reply(prompt),
            "obedient": obedient_reply(prompt),
            "only-obedient": obedient_reply(prompt).split(" [")[0] + " [1].",
            "notfound-but": f"NOT_FOUND. But actually {extract_reply(prompt)}",
            "badmarkers": bad_markers_reply(prompt),
        }.get(mode) or extract_reply(prompt)
        self._stream(re.findall(r"\S+\s*", reply))

    def _plain(self, status: int, text: str):
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        self.wfile.write(text.encode())

    def _raw(self, lines: list[str]):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        self.wfile.write("\n".join(lines).encode())

    def _trickle(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        try:
            for _ in range(200):
                self.wfile.write(f"data: {json.dumps({'choices': [{'delta': {'content': 'word '}}]})}\n\n".encode())
                self.wfile.flush()
                time.sleep(0.3)
        except OSError:  # the client gave up: what the test wants
            pass

    def _stream(self, pieces: list[str]):
        lines = [f"data: {json.dumps({'choices': [{'delta': {'content': p}}]})}\n" for p in pieces]
        self._raw(lines + ["data: [DONE]", ""])


def start() -> tuple[ThreadingHTTPServer, str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/v1"
