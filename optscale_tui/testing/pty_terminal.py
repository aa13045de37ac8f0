"""Run a program in a real pseudo-terminal and read its screen with pyte (a VT100 emulator).

This is how the terminal-level tests and the first-frame benchmark see the app exactly as a user over SSH would:
real escape sequences, a real tty size, real key bytes.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import select
import signal
import struct
import subprocess
import termios
import time
from collections.abc import Callable, Mapping, Sequence

import pyte

KEYS = {
    "enter": "\r",
    "tab": "\t",
    "shift+tab": "\x1b[Z",
    "escape": "\x1b",
    "backspace": "\x7f",
    "up": "\x1b[A",
    "down": "\x1b[B",
    "right": "\x1b[C",
    "left": "\x1b[D",
    "f1": "\x1bOP",
    "f2": "\x1bOQ",
    "f3": "\x1bOR",
    "f4": "\x1bOS",
    "f5": "\x1b[15~",
    "f6": "\x1b[17~",
    "f7": "\x1b[18~",
    "f8": "\x1b[19~",
    "ctrl+n": "\x0e",
    "ctrl+q": "\x11",
    "ctrl+u": "\x15",
    "space": " ",
    "pagedown": "\x1b[6~",
    "pageup": "\x1b[5~",
}


class PtyTerminal:
    def __init__(self, argv: Sequence[str], *, cols: int = 80, rows: int = 24, env: Mapping[str, str] | None = None,
                 cwd: str | None = None) -> None:
        self.cols, self.rows = cols, rows
        self.screen = pyte.Screen(cols, rows)
        self.stream = pyte.ByteStream(self.screen)
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        full_env = dict(os.environ if env is None else env)
        full_env.setdefault("TERM", "xterm-256color")
        full_env["COLUMNS"], full_env["LINES"] = str(cols), str(rows)
        self.started = time.perf_counter()
        self.process = subprocess.Popen(
            list(argv), stdin=slave, stdout=slave, stderr=slave, env=full_env, cwd=cwd, start_new_session=True,
            close_fds=True,
        )
        os.close(slave)
        self.master = master
        self.bytes_read = 0

    # --- reading ------------------------------------------------------------------------------------------

    def _pump(self, timeout: float) -> bool:
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return False
        try:
            data = os.read(self.master, 65536)
        except OSError:
            return False
        if not data:
            return False
        self.bytes_read += len(data)
        self._answer_queries(data)
        self.stream.feed(data)
        return True

    def _answer_queries(self, data: bytes) -> None:
        # Textual asks the terminal a few questions at start-up; a real terminal answers, so do we (briefly).
        if b"\x1b[6n" in data:  # cursor position report
            os.write(self.master, b"\x1b[1;1R")

    def text(self) -> str:
        return "\n".join(self.screen.display)

    def cursor_on(self, text: str, *, after: bool = False) -> bool:
        """Whether a text field draws its cursor on the first cell of `text` (e.g. a placeholder), or with
        `after=True` on the cell just after it (the end of a value): Textual draws the cursor itself, as a cell whose
        background differs from the next one's, so this is how a test sees which field has the focus before it
        types."""
        for row, line in enumerate(self.screen.display):
            col = line.find(text)
            if col >= 0 and after:
                col += len(text)
            if col >= 0 and col + 1 < self.cols:
                cells = self.screen.buffer[row]
                return cells[col].bg != cells[col + 1].bg or cells[col].reverse != cells[col + 1].reverse
        return False

    def wait_for(self, predicate: Callable[[str], bool] | str, timeout: float = 15.0) -> float:
        """Read until the screen satisfies `predicate` (or contains the string). Returns seconds since start."""
        check = (lambda text: predicate in text) if isinstance(predicate, str) else predicate
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            self._pump(0.02)
            if check(self.text()):
                return time.perf_counter() - self.started
            if self.process.poll() is not None:
                while self._pump(0.05):
                    pass
                if check(self.text()):
                    return time.perf_counter() - self.started
                raise RuntimeError(f"program exited ({self.process.returncode}) before the screen matched:\n"
                                   f"{self.text()}")
        raise TimeoutError(f"screen did not match within {timeout} s:\n{self.text()}")

    def wait_until_steady(self, predicate: Callable[[str], bool], hold: float = 0.7, timeout: float = 60.0) -> None:
        """Wait until `predicate` stays true for `hold` seconds: longer than a cursor blink (0.5 s), so that "the
        field no longer draws its cursor" is not mistaken for a blink's off phase."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            self.wait_for(predicate, timeout=max(0.1, deadline - time.perf_counter()))
            held_until = time.perf_counter() + hold
            while time.perf_counter() < held_until and predicate(self.text()):
                self._pump(0.05)
            if predicate(self.text()):
                return
        raise TimeoutError(f"screen did not stay matched for {hold} s within {timeout} s:\n{self.text()}")

    def settle(self, quiet: float = 0.3, timeout: float = 5.0) -> None:
        """Read until nothing new arrives for `quiet` seconds."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            if not self._pump(quiet):
                return

    # --- writing ------------------------------------------------------------------------------------------

    def press(self, *keys: str) -> None:
        for key in keys:
            os.write(self.master, KEYS.get(key, key).encode())
            self._pump(0.05)

    def type(self, text: str) -> None:
        os.write(self.master, text.encode())

    # --- lifetime -----------------------------------------------------------------------------------------

    def close(self, timeout: float = 5.0) -> int | None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout)
        with contextlib.suppress(OSError):
            os.close(self.master)
        return self.process.returncode

    def wait_exit(self, timeout: float = 10.0) -> int:
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            self._pump(0.05)
            code = self.process.poll()
            if code is not None:
                return code
        raise TimeoutError("program did not exit")

    def __enter__(self) -> PtyTerminal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
