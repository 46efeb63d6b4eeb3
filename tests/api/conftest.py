# SPDX-License-Identifier: Apache-2.0
"""Fixtures for the API tests: a real weftd process on a free loopback port
with its own SQLite file, and a small HTTP client around it.

WEFT_BUILD names the Meson build directory whose binaries are tested
(the Makefile points it at the ASan/UBSan build)."""

import json
import os
import signal
import socket
import subprocess
import time

import pytest
import requests

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("WEFT_BUILD", os.path.join(ROOT, "build"))
WEFTD = os.path.join(BUILD, "controller", "weftd")
WEFTCTL = os.path.join(BUILD, "cli", "weftctl")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Weftd:
    """One weftd process. start() waits until the API answers."""

    def __init__(self, tmpdir, extra_args=(), config=None):
        self.tmpdir = str(tmpdir)
        self.db = os.path.join(self.tmpdir, "weft.db")
        self.port = free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        self.extra_args = list(extra_args)
        self.config = config
        self.proc = None
        self.log_path = os.path.join(self.tmpdir, "weftd.log")
        self.sb_path = os.path.join(self.tmpdir, "sb.sock")

    def args(self):
        # The southbound service listens on a unix socket of the test's own
        # (never on the default TCP port 9697, which parallel tests or a real
        # weftd would share).
        args = [WEFTD, "--listen", "127.0.0.1:%d" % self.port, "--db", self.db,
                "--southbound", "unix:" + self.sb_path]
        if self.config is not None:
            path = os.path.join(self.tmpdir, "weftd.conf")
            with open(path, "w") as f:
                f.write(self.config)
            args += ["--config", path]
        return args + self.extra_args

    def start(self):
        log = open(self.log_path, "a")
        env = dict(os.environ)
        env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
        self.proc = subprocess.Popen(self.args(), stdout=log, stderr=log, env=env)
        log.close()
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("weftd exited with %d:\n%s" % (self.proc.returncode, self.log()))
            try:
                requests.get(self.url + "/", timeout=1)
                return self
            except requests.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("weftd did not answer within 20 s:\n" + self.log())

    def log(self):
        with open(self.log_path) as f:
            return f.read()

    def stop(self):
        """Stops weftd with SIGTERM and checks that it exited cleanly (under
        ASan a leak or memory error makes the exit status non-zero)."""
        if self.proc is None:
            return 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self.proc = None
        return rc

    def kill9(self):
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None


class Api:
    """A thin client: methods return the requests.Response."""

    def __init__(self, url, headers=None):
        self.url = url
        self.session = requests.Session()
        self.headers = dict(headers or {})

    def request(self, method, path, body=None, headers=None, raw=None, params=None):
        h = dict(self.headers)
        h.update(headers or {})
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        if data is not None:
            h.setdefault("Content-Type", "application/json")
        return self.session.request(method, self.url + path, data=data, headers=h,
                                    params=params, timeout=30)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body, **kw)

    def put(self, path, body=None, **kw):
        return self.request("PUT", path, body, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    # Shortcuts that assert success and return the member object.
    def create(self, kind, collection=None, **attrs):
        r = self.post("/v2.0/%s" % (collection or kind + "s"), {kind: attrs})
        assert r.status_code == 201, r.text
        return r.json()[kind]


def neutron_error(r, status, type_=None):
    """Asserts that 'r' is a Neutron-style error with 'status'."""
    assert r.status_code == status, (r.status_code, r.text)
    body = r.json()
    assert set(body) == {"NeutronError"}, body
    err = body["NeutronError"]
    assert set(err) >= {"type", "message", "detail"}, err
    assert err["message"], err
    if type_ is not None:
        assert err["type"] == type_, err
    return err


@pytest.fixture
def weftd(tmp_path):
    d = Weftd(tmp_path).start()
    yield d
    rc = d.stop()
    assert rc == 0, "weftd exited with %d:\n%s" % (rc, d.log())


@pytest.fixture
def api(weftd):
    return Api(weftd.url)


# The tokens of 'tokend': an admin and members of two projects.
TOKENS = """# token project role
adm-token p-admin admin
a-token p-a member
b-token p-b member

"""


@pytest.fixture
def tokend(tmp_path):
    """A weftd with token authentication and the tokens of TOKENS."""
    tokens = tmp_path / "tokens"
    tokens.write_text(TOKENS)
    d = Weftd(tmp_path, config="auth = token\ntoken_file = %s\n" % tokens).start()
    yield d
    rc = d.stop()
    assert rc == 0, "weftd exited with %d:\n%s" % (rc, d.log())
