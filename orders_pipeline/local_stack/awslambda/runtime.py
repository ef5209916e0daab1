"""Runs a deployed Lambda zip's handler in a warm subprocess per function version, as AWS does."""

# Run as a script (`python -I lambda_runtime.py`) this file is the child: stdlib only, on purpose.
# Wire format both ways: one JSON header line carrying `size`, then exactly `size` bytes of payload.

from __future__ import annotations

import atexit
import base64
import contextlib
import hashlib
import importlib
import io
import json
import logging
import os
import select
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any

LOG_TAIL_BYTES = 4096
# Start-up (interpreter + handler import) is not billed against the function's Timeout on AWS.
_STARTUP_TIMEOUT_SECONDS = 30


@dataclass(frozen=True)
class FunctionSpec:
    """What decides which warm process may serve an invocation."""

    function_name: str
    function_arn: str
    version: str
    handler: str
    timeout: float
    memory_size: int
    environment: tuple[tuple[str, str], ...]
    code_sha256: str


@dataclass(frozen=True)
class InvocationResult:
    """Invoke's response contract: payload bytes, FunctionError (None on success), log text."""

    payload: bytes
    function_error: str | None
    log: str

    @property
    def log_tail(self) -> str:
        """Base64 of the last 4 KB of the log, as the X-Amz-Log-Result header carries it."""
        return base64.b64encode(self.log.encode()[-LOG_TAIL_BYTES:]).decode()


class _WorkerDied(RuntimeError):
    pass


class FunctionProcess:
    """One warm child interpreter serving one function version, one invocation at a time."""

    def __init__(self, spec: FunctionSpec, code_dir: str) -> None:
        self.spec = spec
        self.code_dir = code_dir
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._stderr_log: IO[bytes] | None = None
        self._buffer = bytearray()

    def invoke(self, event: bytes) -> InvocationResult:
        with self._lock:
            request_id = str(uuid.uuid4())
            try:
                self._ensure_started()
                return self._round_trip(request_id, event)
            except TimeoutError:
                self._kill()
                return _timeout_result(request_id, self.spec)
            except _WorkerDied as exc:
                self._kill()
                message = f"RequestId: {request_id} Error: Runtime exited with error: {exc}"
                return _error_result(request_id, "Runtime.ExitError", message, [], "")

    def close(self) -> None:
        with self._lock:
            self._kill()

    def _ensure_started(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            return
        self._buffer = bytearray()
        env = _child_environment(self.spec)
        # The child's stray fd-level output and crashes, kept beside its code for a person to read.
        self._stderr_log = open(os.path.join(os.path.dirname(self.code_dir), "stderr.log"), "ab")
        # -I: the child sees the zip and the interpreter's site-packages, never this repo.
        self._proc = subprocess.Popen(
            [sys.executable, "-I", os.path.abspath(__file__), self.code_dir, self.spec.handler],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr_log,
            env=env,
            cwd=self.code_dir,
        )
        header = self._read_message(time.monotonic() + _STARTUP_TIMEOUT_SECONDS)[0]
        if header.get("ready") is not True:
            raise _WorkerDied(f"unexpected start-up message {header}")

    def _round_trip(self, request_id: str, event: bytes) -> InvocationResult:
        assert self._proc is not None and self._proc.stdin is not None
        deadline = time.monotonic() + self.spec.timeout
        header = {
            "request_id": request_id,
            "size": len(event),
            "deadline_epoch_ms": int((time.time() + self.spec.timeout) * 1000),
        }
        try:
            self._proc.stdin.write(json.dumps(header).encode() + b"\n" + event)
            self._proc.stdin.flush()
        except BrokenPipeError as exc:
            raise _WorkerDied(self._death_message()) from exc
        reply, payload = self._read_message(deadline)
        return InvocationResult(payload, reply.get("function_error"), reply["log"])

    def _read_message(self, deadline: float) -> tuple[dict[str, Any], bytes]:
        # A bytearray grows in place: a payload arrives in pipe-sized chunks (64 KiB), and
        # joining megabytes of them as bytes copied the whole buffer for every chunk.
        self._read_until(lambda: b"\n" in self._buffer, deadline)
        end = self._buffer.index(b"\n")
        header = json.loads(self._buffer[:end])
        del self._buffer[: end + 1]
        size = header.get("size", 0)
        self._read_until(lambda: len(self._buffer) >= size, deadline)
        payload = bytes(self._buffer[:size])
        del self._buffer[:size]
        return header, payload

    def _read_until(self, done: Callable[[], bool], deadline: float) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        fd = self._proc.stdout.fileno()
        while not done():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            ready, _, _ = select.select([fd], [], [], remaining)
            if not ready:
                raise TimeoutError
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                raise _WorkerDied(self._death_message())
            self._buffer += chunk

    def _death_message(self) -> str:
        assert self._proc is not None
        try:
            code: int | str = self._proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            code = "unknown (closed its output)"
        return f"exit status {code}"

    def _kill(self) -> None:
        if self._proc is None:
            return
        if self._proc.poll() is None:
            self._proc.kill()
        self._proc.wait()
        for stream in (self._proc.stdin, self._proc.stdout, self._stderr_log):
            with contextlib.suppress(OSError):
                stream.close()  # type: ignore[union-attr]
        self._proc = None


class LambdaRuntime:
    """Warm processes for every deployed function version, keyed by name and version."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._processes: dict[tuple[str, str], FunctionProcess] = {}
        self._root: str | None = None

    def invoke(self, spec: FunctionSpec, code_zip: bytes, event: bytes) -> InvocationResult:
        return self._process_for(spec, code_zip).invoke(event)

    def shutdown(self) -> None:
        with self._lock:
            processes, self._processes = list(self._processes.values()), {}
            root, self._root = self._root, None
        for process in processes:
            process.close()
        if root is not None:
            shutil.rmtree(root, ignore_errors=True)

    def _process_for(self, spec: FunctionSpec, code_zip: bytes) -> FunctionProcess:
        key = (spec.function_arn, spec.version)
        with self._lock:
            current = self._processes.get(key)
            if current is not None and current.spec == spec:
                return current
            if current is not None:
                current.close()
            process = FunctionProcess(spec, self._extract(spec.code_sha256, code_zip))
            self._processes[key] = process
            return process

    def _extract(self, code_sha256: str, code_zip: bytes) -> str:
        if self._root is None:
            self._root = tempfile.mkdtemp(prefix="orders-pipeline-lambda-")
        # CodeSha256 is base64; its hex form is a safe directory name.
        digest = base64.b64decode(code_sha256).hex() if code_sha256 else _sha256_hex(code_zip)
        code_dir = os.path.join(self._root, digest, "task")
        if not os.path.isdir(code_dir):
            staging = tempfile.mkdtemp(dir=self._root)
            with zipfile.ZipFile(io.BytesIO(code_zip)) as archive:
                archive.extractall(staging)
            os.makedirs(os.path.dirname(code_dir), exist_ok=True)
            with contextlib.suppress(OSError):  # another thread extracted the same code first
                os.rename(staging, code_dir)
            shutil.rmtree(staging, ignore_errors=True)
        return code_dir


_runtime = LambdaRuntime()
# Children exit by themselves when this process ends (their stdin closes); the code does not.
atexit.register(_runtime.shutdown)


def invoke(spec: FunctionSpec, code_zip: bytes, event: bytes) -> InvocationResult:
    """Run `event` (JSON bytes) through the function's handler in its warm process."""
    return _runtime.invoke(spec, code_zip, event)


def shutdown_all() -> None:
    """Stop every warm process and remove the extracted code."""
    _runtime.shutdown()


def _sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _child_environment(spec: FunctionSpec) -> dict[str, str]:
    env = {
        key: os.environ[key]
        for key in (
            "PATH",
            "LANG",
            "TZ",
            "AWS_ENDPOINT_URL",
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
        )
        if key in os.environ
    }
    region = spec.function_arn.split(":")[3]
    env.update(
        {
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
            "AWS_LAMBDA_FUNCTION_NAME": spec.function_name,
            "AWS_LAMBDA_FUNCTION_VERSION": spec.version,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_size),
            "AWS_LAMBDA_FUNCTION_TIMEOUT": str(int(spec.timeout)),
            "AWS_LAMBDA_FUNCTION_ARN": spec.function_arn,
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.function_name}",
            "LAMBDA_TASK_ROOT": ".",
            "_HANDLER": spec.handler,
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(dict(spec.environment))
    return env


def _timeout_result(request_id: str, spec: FunctionSpec) -> InvocationResult:
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    message = f"{stamp} {request_id} Task timed out after {spec.timeout:.2f} seconds"
    log = (
        f"START RequestId: {request_id} Version: {spec.version}\n{message}\n"
        f"END RequestId: {request_id}\n"
        f"REPORT RequestId: {request_id}\tDuration: {spec.timeout * 1000:.2f} ms\t"
        f"Status: timeout\n"
    )
    return InvocationResult(json.dumps({"errorMessage": message}).encode(), "Unhandled", log)


def _error_result(
    request_id: str, error_type: str, message: str, stack: list[str], log: str
) -> InvocationResult:
    body = {
        "errorMessage": message,
        "errorType": error_type,
        "requestId": request_id,
        "stackTrace": stack,
    }
    return InvocationResult(json.dumps(body).encode(), "Unhandled", log)


# ---- child side: runs in the isolated interpreter started by FunctionProcess ----------------


class _Context:
    """The handler's `context` argument, with the attributes AWS's Python runtime provides."""

    def __init__(self, request_id: str, deadline_epoch_ms: int) -> None:
        self.aws_request_id = request_id
        self.function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
        self.function_version = os.environ["AWS_LAMBDA_FUNCTION_VERSION"]
        self.invoked_function_arn = os.environ["AWS_LAMBDA_FUNCTION_ARN"]
        self.memory_limit_in_mb = os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"]
        self.log_group_name = os.environ["AWS_LAMBDA_LOG_GROUP_NAME"]
        self.log_stream_name = f"{time.strftime('%Y/%m/%d')}/[{self.function_version}]{request_id}"
        self._deadline_epoch_ms = deadline_epoch_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_epoch_ms - int(time.time() * 1000))


class _CurrentStdoutHandler(logging.Handler):
    """Root log handler writing to whatever sys.stdout is now (the per-invocation capture)."""

    def emit(self, record: logging.LogRecord) -> None:
        sys.stdout.write(self.format(record) + "\n")


def _load_handler(handler: str) -> Any:
    module_name, _, function_name = handler.rpartition(".")
    try:
        module = importlib.import_module(module_name.replace("/", "."))
    except Exception as exc:
        raise _HandlerError(
            "Runtime.ImportModuleError", f"Unable to import module '{module_name}': {exc}"
        ) from exc
    try:
        return getattr(module, function_name)
    except AttributeError as exc:
        raise _HandlerError(
            "Runtime.HandlerNotFound",
            f"Handler '{function_name}' missing on module '{module_name}'",
        ) from exc


class _HandlerError(Exception):
    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type


def _run_one(handler: Any, request_id: str, deadline_ms: int, event: bytes) -> tuple[dict, bytes]:
    version = os.environ["AWS_LAMBDA_FUNCTION_VERSION"]
    captured = io.StringIO()
    started = time.perf_counter()
    function_error = None
    with contextlib.redirect_stdout(captured), contextlib.redirect_stderr(captured):
        try:
            if isinstance(handler, _HandlerError):
                raise handler
            result = handler(json.loads(event) if event else {}, _Context(request_id, deadline_ms))
            try:
                payload = json.dumps(result).encode()
            except (TypeError, ValueError) as exc:
                raise _HandlerError(
                    "Runtime.MarshalError", f"Unable to marshal response: {exc}"
                ) from exc
        except Exception as exc:  # every handler failure becomes AWS's error payload
            function_error = "Unhandled"
            error_type = getattr(exc, "error_type", type(exc).__name__)
            stack = traceback.format_list(traceback.extract_tb(exc.__traceback__)[1:])
            print(
                f"[ERROR] {error_type}: {exc}\nTraceback (most recent call last):\n"
                + "".join(stack),
                end="",
            )
            payload = json.dumps(
                {
                    "errorMessage": str(exc),
                    "errorType": error_type,
                    "requestId": request_id,
                    "stackTrace": stack,
                }
            ).encode()
    duration_ms = (time.perf_counter() - started) * 1000
    max_rss_mb = _max_rss_mb()
    log = (
        f"START RequestId: {request_id} Version: {version}\n{captured.getvalue()}"
        f"END RequestId: {request_id}\n"
        f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms\t"
        f"Billed Duration: {int(duration_ms) + 1} ms\t"
        f"Memory Size: {os.environ['AWS_LAMBDA_FUNCTION_MEMORY_SIZE']} MB\t"
        f"Max Memory Used: {max_rss_mb} MB\n"
    )
    return {"function_error": function_error, "log": log, "size": len(payload)}, payload


def _max_rss_mb() -> int:
    # VmHWM, not getrusage: ru_maxrss survives exec and would report the parent's peak.
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) // 1024
    return 0


def _serve(code_dir: str, handler_name: str) -> None:
    # The protocol owns the real stdout; anything else written to fd 1 lands in stderr.log.
    protocol: IO[bytes] = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    requests = sys.stdin.buffer
    sys.path.insert(0, code_dir)
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    log_handler = _CurrentStdoutHandler()
    formatter = logging.Formatter(
        "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s",
        "%Y-%m-%dT%H:%M:%S",
    )
    formatter.converter = time.gmtime
    log_handler.setFormatter(formatter)
    root.addHandler(log_handler)
    try:
        handler: Any = _load_handler(handler_name)
    except _HandlerError as exc:
        handler = exc
    protocol.write(b'{"ready": true}\n')
    protocol.flush()
    for line in iter(requests.readline, b""):
        header = json.loads(line)
        event = requests.read(header["size"])
        request_id = header["request_id"]
        log_filter = _RequestIdFilter(request_id)
        log_handler.addFilter(log_filter)
        reply, payload = _run_one(handler, request_id, header["deadline_epoch_ms"], event)
        log_handler.removeFilter(log_filter)
        protocol.write(json.dumps(reply).encode() + b"\n" + payload)
        protocol.flush()


class _RequestIdFilter(logging.Filter):
    def __init__(self, request_id: str) -> None:
        super().__init__()
        self.request_id = request_id

    def filter(self, record: logging.LogRecord) -> bool:
        record.aws_request_id = self.request_id
        return True


if __name__ == "__main__":
    _serve(sys.argv[1], sys.argv[2])
