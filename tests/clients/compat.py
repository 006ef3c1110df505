"""What the client checks share: the running a2i-local's endpoints (refusing anything but
loopback, so no check can ever reach AWS), names, and the local control surface."""

import json
import os
import time
import urllib.parse
import urllib.request
import uuid

FLOW_DEFINITION_ARN = "arn:aws:sagemaker:us-east-1:111122223333:flow-definition/compat-flow"
LOOP_ARN_PREFIX = "arn:aws:sagemaker:us-east-1:111122223333:human-loop/"


def _loopback(variable: str) -> str:
    url = os.environ.get(variable, "")
    host = urllib.parse.urlsplit(url).hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise RuntimeError(f"{variable}={url!r} is not a loopback URL; refusing to run")
    return url


A2I_ENDPOINT = _loopback("AWS_ENDPOINT_URL_SAGEMAKER_A2I_RUNTIME")
S3_ENDPOINT = _loopback("AWS_ENDPOINT_URL_S3")
SAGEMAKER_ENDPOINT = _loopback("AWS_ENDPOINT_URL_SAGEMAKER")
# `serve --max-flow-definitions` in scripts/client-compat.sh.
MAX_FLOW_DEFINITIONS = int(os.environ.get("A2I_LOCAL_MAX_FLOW_DEFINITIONS", "0"))
WORK = os.environ["A2I_LOCAL_WORK"]
INPUT_PATH = os.environ["A2I_LOCAL_INPUT_PATH"]
OUTPUT_PATH = os.environ["A2I_LOCAL_OUTPUT_PATH"]
S3_EVENTS_FILE = os.environ["A2I_LOCAL_S3_EVENTS_FILE"]
STATUS_EVENTS_FILE = os.environ["A2I_LOCAL_EVENTS_FILE"]


def unique(prefix: str) -> str:
    """A loop name no other check uses."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def control(path: str, body=None):
    """Calls the local control surface (answer, fail, expire) and returns its JSON answer."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        f"{A2I_ENDPOINT}/_local/{path}",
        data=data,
        method="GET" if data is None else "POST",
        headers={"content-type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def json_lines(path: str, predicate, timeout: float = 10.0):
    """The records of a JSON Lines event file that satisfy `predicate`, waiting for at least
    one (events are delivered in the background)."""
    deadline = time.monotonic() + timeout
    while True:
        found = []
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                found = [r for r in (json.loads(line) for line in f if line.strip()) if predicate(r)]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.05)
