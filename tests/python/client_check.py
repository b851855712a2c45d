#!/usr/bin/python3
"""Independent end-to-end check of a `recd` server binary, written only from
proto/recd/v1/recd.proto (and the standard gRPC health / reflection protos).

Run with Debian's interpreter (python3-grpcio, python3-protobuf):

    /usr/bin/python3 tests/python/client_check.py --recd build/server/recd

It generates Python stubs into a temp dir, starts
`recd serve --listen 127.0.0.1:0 --metrics-listen 127.0.0.1:0 --data-dir <tmp>
--ready-file <tmp>/ready.json`, waits for the ready file, exercises the API,
stops the server with SIGTERM and expects exit code 0 within 15 s.
Exit code 0 when every check passed, 1 otherwise; the last line is
"N passed, M failed".

Stub generation: `grpc_tools.protoc` (python3-grpc-tools), with the
well-known types from its `_proto` dir. Debian 12's grpc_tools bundles an old
protoc (3.6) that rejects newer syntax such as proto3 `optional`; when it
fails, the system `protoc` (protobuf-compiler 3.21) with `grpc_python_plugin`
(protobuf-compiler-grpc) is used instead.
"""

import argparse
import json
import os
import random
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.request

SCRIPT_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_DIR = os.path.normpath(os.path.join(SCRIPT_DIR, "..", ".."))
PROTO_DIR = os.path.join(REPO_DIR, "proto")
RECD_PROTO = "recd/v1/recd.proto"
GRPC_PROTO_DIR = "/usr/share/grpc-proto"
HEALTH_PROTO = os.path.join(GRPC_PROTO_DIR, "grpc/health/v1/health.proto")
REFLECTION_PROTO = os.path.join(GRPC_PROTO_DIR, "grpc/reflection/v1alpha/reflection.proto")

DIM = 32          # default model.dimension
RPC_TIMEOUT = 15  # seconds, per call


class Fatal(Exception):
    """A failure after which the remaining checks cannot run."""


# ---------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------

class Results:
    def __init__(self):
        self.passed = 0
        self.failed = 0
        self.failures = []

    def check(self, name, cond, detail=""):
        if cond:
            self.passed += 1
            print(f"PASS {name}", flush=True)
        else:
            self.failed += 1
            msg = f"{name}" + (f": {detail}" if detail else "")
            self.failures.append(msg)
            print(f"FAIL {msg}", flush=True)
        return bool(cond)

    def section(self, name, fn, *args):
        """Runs fn; an unexpected exception counts as one failed check."""
        try:
            return fn(*args)
        except Fatal:
            raise
        except Exception as e:  # noqa: BLE001 - report and continue
            self.check(f"{name} (no unexpected exception)", False,
                       f"{type(e).__name__}: {e}")
            traceback.print_exc()
            return None


# ---------------------------------------------------------------------------
# Stub generation
# ---------------------------------------------------------------------------

def well_known_include():
    """Directory holding google/protobuf/timestamp.proto."""
    try:
        import grpc_tools  # noqa: F401
        d = os.path.join(os.path.dirname(grpc_tools.__file__), "_proto")
        if os.path.isfile(os.path.join(d, "google/protobuf/timestamp.proto")):
            return d
    except ImportError:
        pass
    if os.path.isfile("/usr/include/google/protobuf/timestamp.proto"):
        return "/usr/include"
    return None


def run_protoc(includes, out_dir, protos, with_grpc):
    """Generates *_pb2.py (and *_pb2_grpc.py when with_grpc) into out_dir.
    Returns the name of the tool that worked."""
    inc_args = [f"-I{d}" for d in includes]
    outs = [f"--python_out={out_dir}"]
    errors = []
    try:
        from grpc_tools import protoc as gt_protoc
        args = ["grpc_tools.protoc"] + inc_args + outs
        if with_grpc:
            args.append(f"--grpc_python_out={out_dir}")
        if gt_protoc.main(args + protos) == 0:
            return "grpc_tools.protoc"
        errors.append("grpc_tools.protoc failed (see its messages above)")
        print("grpc_tools.protoc failed; trying the system protoc", flush=True)
    except ImportError as e:
        errors.append(f"grpc_tools not importable: {e}")
    protoc = shutil.which("protoc")
    plugin = shutil.which("grpc_python_plugin")
    if protoc and (plugin or not with_grpc):
        args = [protoc] + inc_args + outs
        if with_grpc:
            args += [f"--plugin=protoc-gen-grpc_python={plugin}",
                     f"--grpc_python_out={out_dir}"]
        p = subprocess.run(args + protos, capture_output=True, text=True)
        if p.returncode == 0:
            return "protoc+grpc_python_plugin" if with_grpc else "protoc"
        errors.append(f"{' '.join(args + protos)}: {p.stderr.strip()}")
    else:
        errors.append("no system protoc / grpc_python_plugin")
    raise Fatal("stub generation failed: " + " | ".join(errors))


def generate_stubs(gen_dir):
    """Returns (recd_pb2, recd_pb2_grpc, health module or None, reflection module or None)."""
    os.makedirs(gen_dir, exist_ok=True)
    includes = [PROTO_DIR]
    wkt = well_known_include()
    if wkt:
        includes.append(wkt)
    tool = run_protoc(includes, gen_dir, [os.path.join(PROTO_DIR, RECD_PROTO)], True)
    print(f"stubs for {RECD_PROTO} generated with {tool} into {gen_dir}", flush=True)

    # The standard protos are copied to a flat dir first: stubs generated under
    # grpc/health/v1/ would shadow the installed `grpc` package.
    flat = os.path.join(gen_dir, "flat")
    os.makedirs(flat, exist_ok=True)
    extra = []
    for src, name in ((HEALTH_PROTO, "health.proto"), (REFLECTION_PROTO, "reflection.proto")):
        if os.path.isfile(src):
            shutil.copyfile(src, os.path.join(flat, name))
            extra.append(os.path.join(flat, name))
    if extra:
        run_protoc([flat] + ([wkt] if wkt else []), gen_dir, extra, False)

    sys.path.insert(0, gen_dir)
    from recd.v1 import recd_pb2, recd_pb2_grpc  # noqa: E402
    health_pb2 = reflection_pb2 = None
    if os.path.isfile(os.path.join(gen_dir, "health_pb2.py")):
        import health_pb2  # noqa: E402
    if os.path.isfile(os.path.join(gen_dir, "reflection_pb2.py")):
        import reflection_pb2  # noqa: E402
    return recd_pb2, recd_pb2_grpc, health_pb2, reflection_pb2


# ---------------------------------------------------------------------------
# Health client: grpc_health if installed, else a generic stub
# ---------------------------------------------------------------------------

def _varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


class HealthClient:
    """Check(service) -> status name ("SERVING", ...)."""

    NAMES = {0: "UNKNOWN", 1: "SERVING", 2: "NOT_SERVING", 3: "SERVICE_UNKNOWN"}

    def __init__(self, grpc, channel, health_pb2):
        self.kind = None
        try:
            from grpc_health.v1 import health_pb2 as gh_pb2, health_pb2_grpc as gh_grpc
            stub = gh_grpc.HealthStub(channel)
            self._check = lambda s: gh_pb2.HealthCheckResponse.ServingStatus.Name(
                stub.Check(gh_pb2.HealthCheckRequest(service=s), timeout=RPC_TIMEOUT).status)
            self.kind = "grpc_health package"
            return
        except ImportError:
            pass
        if health_pb2 is not None:
            call = channel.unary_unary(
                "/grpc.health.v1.Health/Check",
                request_serializer=health_pb2.HealthCheckRequest.SerializeToString,
                response_deserializer=health_pb2.HealthCheckResponse.FromString)
            self._check = lambda s: health_pb2.HealthCheckResponse.ServingStatus.Name(
                call(health_pb2.HealthCheckRequest(service=s), timeout=RPC_TIMEOUT).status)
            self.kind = "generic stub from grpc-proto health.proto"
            return
        # Last resort: hand-encoded messages (field 1 of both messages).
        call = channel.unary_unary("/grpc.health.v1.Health/Check",
                                   request_serializer=lambda b: b,
                                   response_deserializer=lambda b: b)

        def check(s):
            raw = s.encode()
            resp = call((b"\x0a" + _varint(len(raw)) + raw) if raw else b"", timeout=RPC_TIMEOUT)
            status, i = 0, 0
            while i < len(resp):
                key = resp[i]
                i += 1
                if key == 0x08:
                    status, shift = 0, 0
                    while True:
                        b = resp[i]
                        i += 1
                        status |= (b & 0x7F) << shift
                        shift += 7
                        if not b & 0x80:
                            break
                else:
                    break
            return self.NAMES.get(status, str(status))
        self._check = check
        self.kind = "hand-encoded generic call"

    def check(self, service):
        return self._check(service)


# ---------------------------------------------------------------------------
# Server process
# ---------------------------------------------------------------------------

class Server:
    def __init__(self, recd, work, config=None):
        self.recd = recd
        self.work = work
        self.data_dir = os.path.join(work, "data")
        self.ready_file = os.path.join(work, "ready.json")
        self.log_path = os.path.join(work, "recd.log")
        self.config = config
        self.proc = None
        self.grpc_addr = None
        self.metrics_addr = None

    def start(self, timeout):
        args = [self.recd, "serve",
                "--listen", "127.0.0.1:0",
                "--metrics-listen", "127.0.0.1:0",
                "--data-dir", self.data_dir,
                "--ready-file", self.ready_file]
        if self.config:
            args += ["--config", self.config]
        print("starting: " + " ".join(args), flush=True)
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise Fatal(f"recd exited with code {self.proc.returncode} before it was ready")
            if os.path.exists(self.ready_file):
                try:
                    with open(self.ready_file) as f:
                        ready = json.load(f)
                    self.grpc_addr = ready["grpc"]
                    self.metrics_addr = ready["metrics"]
                    print(f"ready: {ready}", flush=True)
                    return ready
                except (ValueError, KeyError):
                    pass  # partially written; retry
            time.sleep(0.1)
        raise Fatal(f"no valid ready file {self.ready_file} within {timeout:.0f} s")

    def stop(self, timeout):
        """SIGTERM, then wait; returns the exit code or None on timeout."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass

    def log_tail(self, lines=60):
        try:
            self.log.flush()
            with open(self.log_path, "rb") as f:
                text = f.read().decode("utf-8", "replace").splitlines()
            return "\n".join(text[-lines:])
        except OSError:
            return "(no log)"


# ---------------------------------------------------------------------------
# The checks
# ---------------------------------------------------------------------------

def f32(x):
    return struct.unpack("f", struct.pack("f", x))[0]


def set_value(event, x):
    """Sets Event.value, a google.protobuf.DoubleValue (or a plain double in an
    older revision of the proto). Returns the event."""
    if event.DESCRIPTOR.fields_by_name["value"].message_type is not None:
        event.value.value = x
    else:
        event.value = x
    return event


def make_vector(rng):
    return [f32(rng.uniform(-1.0, 1.0)) for _ in range(DIM)]


class Checks:
    def __init__(self, grpc, pb, pb_grpc, health_pb2, reflection_pb2, server, results):
        self.grpc = grpc
        self.pb = pb
        self.r = results
        self.server = server
        self.reflection_pb2 = reflection_pb2
        self.channel = grpc.insecure_channel(server.grpc_addr)
        grpc.channel_ready_future(self.channel).result(timeout=RPC_TIMEOUT)
        self.rec = pb_grpc.RecommenderStub(self.channel)
        self.cat = pb_grpc.CatalogStub(self.channel)
        self.health = HealthClient(grpc, self.channel, health_pb2)
        self.items = {}

    # -- helpers ------------------------------------------------------------
    def ts(self, seconds):
        from google.protobuf.timestamp_pb2 import Timestamp
        return Timestamp(seconds=int(seconds))

    def expect_error(self, name, fn, code, must_contain=()):
        """Runs fn, which must fail with `code` whose details contain each string."""
        try:
            fn()
        except self.grpc.RpcError as e:
            details = e.details() or ""
            ok = self.r.check(f"{name}: status {code.name}", e.code() == code,
                              f"got {e.code().name}: {details!r}")
            for s in must_contain:
                self.r.check(f"{name}: message mentions {s!r}", s in details,
                             f"message {details!r}")
            return details if ok else None
        self.r.check(f"{name}: status {code.name}", False, "call succeeded")
        return None

    def recommend(self, **kw):
        return list(self.rec.Recommend(self.pb.RecommendRequest(**kw), timeout=RPC_TIMEOUT))

    @staticmethod
    def slate(msgs):
        return [it for m in msgs for it in m.items]

    # -- health and reflection -----------------------------------------------
    def health_checks(self):
        print(f"health client: {self.health.kind}", flush=True)
        for service in ("", "recd.v1.Recommender"):
            status = self.health.check(service)
            self.r.check(f"health Check({service!r}) is SERVING", status == "SERVING",
                         f"got {status}")
        self.expect_error("health Check of an unknown service",
                          lambda: self.health.check("no.such.Service"),
                          self.grpc.StatusCode.NOT_FOUND)

    def reflection_checks(self):
        pb = self.reflection_pb2
        if pb is None:
            print("SKIP reflection: grpc-proto's reflection.proto not found", flush=True)
            return
        call = self.channel.stream_stream(
            "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
            request_serializer=pb.ServerReflectionRequest.SerializeToString,
            response_deserializer=pb.ServerReflectionResponse.FromString)
        responses = list(call(iter([pb.ServerReflectionRequest(list_services="")]),
                              timeout=RPC_TIMEOUT))
        names = {s.name for r in responses for s in r.list_services_response.service}
        for want in ("recd.v1.Recommender", "recd.v1.Catalog", "grpc.health.v1.Health"):
            self.r.check(f"reflection lists {want}", want in names, f"listed {sorted(names)}")

    # -- catalog -------------------------------------------------------------
    def upsert_and_get(self):
        pb = self.pb
        rng = random.Random(20240601)
        now = int(time.time())
        batches = []
        for b in range(2):
            items = []
            for j in range(3):
                n = b * 3 + j
                item = pb.Item(
                    id=f"py-item-{n}",
                    categories=["py-cat-a" if n % 2 == 0 else "py-cat-b", "py-all"],
                    tags=[f"py-tag-{n % 3}", "brand:py"],
                    properties={"title": f"Python item {n}", "series_id": "py-series",
                                "series_index": str(n)},
                    vector=make_vector(rng))
                if n == 0:
                    item.created_at.CopyFrom(self.ts(now - 3600))
                self.items[item.id] = item
                items.append(item)
            batches.append(pb.UpsertItemsRequest(items=items))
        # An item that must never be recommended.
        hidden = pb.Item(id="py-item-hidden", categories=["py-all"], tags=["brand:py"],
                         vector=make_vector(rng))
        if "unavailable" in pb.Item.DESCRIPTOR.fields_by_name:
            hidden.unavailable = True
        else:  # an older revision of the proto had `optional bool available`
            hidden.available = False
        batches[1].items.append(hidden)
        resp = self.cat.UpsertItems(iter(batches), timeout=RPC_TIMEOUT)
        self.r.check("UpsertItems (client stream of 2 messages) upserted 7", resp.upserted == 7,
                     f"upserted={resp.upserted}")

        want = self.items["py-item-0"]
        got = self.cat.GetItem(pb.GetItemRequest(item_id="py-item-0"), timeout=RPC_TIMEOUT)
        self.r.check("GetItem: id", got.id == want.id, f"{got.id!r}")
        self.r.check("GetItem: categories", list(got.categories) == list(want.categories),
                     f"{list(got.categories)}")
        self.r.check("GetItem: tags", list(got.tags) == list(want.tags), f"{list(got.tags)}")
        self.r.check("GetItem: properties", dict(got.properties) == dict(want.properties),
                     f"{dict(got.properties)}")
        self.r.check("GetItem: vector", len(got.vector) == DIM and
                     all(abs(a - b) <= 1e-6 for a, b in zip(got.vector, want.vector)),
                     f"len={len(got.vector)}")
        self.r.check("GetItem: created_at", got.created_at.seconds == want.created_at.seconds,
                     f"got {got.created_at.seconds}, want {want.created_at.seconds}")

        self.expect_error("GetItem of a missing item",
                          lambda: self.cat.GetItem(pb.GetItemRequest(item_id="py-no-such-item"),
                                                   timeout=RPC_TIMEOUT),
                          self.grpc.StatusCode.NOT_FOUND)
        bad = pb.Item(id="py-bad-vector", vector=[0.5] * (DIM - 1))
        self.expect_error("UpsertItems with a vector of the wrong dimension",
                          lambda: self.cat.UpsertItems(iter([pb.UpsertItemsRequest(items=[bad])]),
                                                       timeout=RPC_TIMEOUT),
                          self.grpc.StatusCode.INVALID_ARGUMENT, ("vector",))

    def delete_items(self):
        pb = self.pb
        resp = self.cat.DeleteItems(pb.DeleteItemsRequest(item_ids=["py-item-5", "py-missing"]),
                                    timeout=RPC_TIMEOUT)
        self.r.check("DeleteItems: deleted 1, not_found 1",
                     resp.deleted == 1 and resp.not_found == 1,
                     f"deleted={resp.deleted} not_found={resp.not_found}")
        self.expect_error("GetItem after DeleteItems",
                          lambda: self.cat.GetItem(pb.GetItemRequest(item_id="py-item-5"),
                                                   timeout=RPC_TIMEOUT),
                          self.grpc.StatusCode.NOT_FOUND)
        ids = [it.item_id for it in self.slate(self.recommend(
            session_id="py-fresh-session", k=20, include_categories=["py-all"]))]
        self.r.check("Recommend after DeleteItems never shows the deleted item",
                     "py-item-5" not in ids, f"{ids}")
        self.r.check("Recommend never shows an unavailable item",
                     "py-item-hidden" not in ids, f"{ids}")

    # -- events --------------------------------------------------------------
    def track(self):
        pb = self.pb
        now = int(time.time())
        events = [
            pb.Event(event_id="py-ev-1", user_id="py-user", session_id="py-session",
                     item_id="py-item-0", type="view", occurred_at=self.ts(now - 120)),
            pb.Event(event_id="py-ev-2", user_id="py-user", session_id="py-session",
                     item_id="py-item-1", type="click", occurred_at=self.ts(now - 60)),
            set_value(pb.Event(event_id="py-ev-3", user_id="py-user", session_id="py-session",
                               item_id="py-item-2", type="purchase"), 19.99),
            pb.Event(event_id="py-ev-4", user_id="py-user", session_id="py-session",
                     item_id="demo-item-1", type="view"),
        ]
        resp = self.rec.Track(pb.TrackRequest(events=events), timeout=RPC_TIMEOUT)
        self.r.check("Track: all 4 events accepted", resp.accepted == 4 and resp.duplicates == 0,
                     f"accepted={resp.accepted} duplicates={resp.duplicates}")
        self.r.check("Track: last_sequence > 0", resp.last_sequence > 0,
                     f"last_sequence={resp.last_sequence}")
        first_seq = resp.last_sequence

        again = self.rec.Track(pb.TrackRequest(events=events), timeout=RPC_TIMEOUT)
        self.r.check("Track retry with the same event_ids: 4 duplicates, 0 accepted",
                     again.accepted == 0 and again.duplicates == 4,
                     f"accepted={again.accepted} duplicates={again.duplicates}")

        stream_msgs = [
            pb.TrackRequest(events=[pb.Event(user_id="py-user-2", item_id="py-item-3", type="view")]),
            pb.TrackRequest(events=[pb.Event(user_id="py-user-2", item_id="py-item-4", type="click"),
                                    pb.Event(session_id="py-anon", item_id="py-item-3", type="view")]),
        ]
        sresp = self.rec.TrackStream(iter(stream_msgs), timeout=RPC_TIMEOUT)
        self.r.check("TrackStream (2 messages): 3 events accepted", sresp.accepted == 3,
                     f"accepted={sresp.accepted}")
        self.r.check("TrackStream: last_sequence after Track's", sresp.last_sequence > first_seq,
                     f"{sresp.last_sequence} <= {first_seq}")

    def track_errors(self):
        pb = self.pb
        good = pb.Event(user_id="py-user", item_id="py-item-3", type="view")
        bad = pb.Event(user_id="py-user", item_id="py-item-3", type="like")
        details = self.expect_error(
            "Track with an unknown event type",
            lambda: self.rec.Track(pb.TrackRequest(events=[good, bad]), timeout=RPC_TIMEOUT),
            self.grpc.StatusCode.INVALID_ARGUMENT, ("type",))
        if details is not None:
            self.r.check("Track error message starts with the field path events[1].type",
                         details.startswith("events[1].type"), f"message {details!r}")
        future = pb.Event(user_id="py-user", item_id="py-item-3", type="view",
                          occurred_at=self.ts(time.time() + 7 * 86400))
        self.expect_error(
            "Track with occurred_at a week in the future",
            lambda: self.rec.Track(pb.TrackRequest(events=[future]), timeout=RPC_TIMEOUT),
            self.grpc.StatusCode.INVALID_ARGUMENT, ("occurred_at",))
        self.expect_error(
            "Track with no events",
            lambda: self.rec.Track(pb.TrackRequest(), timeout=RPC_TIMEOUT),
            self.grpc.StatusCode.INVALID_ARGUMENT)

    # -- recommend -----------------------------------------------------------
    def recommend_user(self):
        k, page_size = 10, 4
        msgs = self.recommend(user_id="py-user", k=k, page_size=page_size)
        self.r.check("Recommend py-user: at least one message", len(msgs) >= 1, "no message")
        if not msgs:
            return
        self.r.check("Recommend py-user: first message has a recommendation_id",
                     msgs[0].recommendation_id != "")
        pages = [m.page for m in msgs]
        self.r.check("Recommend py-user: pages numbered 0..", pages == list(range(len(msgs))),
                     f"pages {pages}")
        self.r.check("Recommend py-user: last message has last_page", msgs[-1].last_page)
        self.r.check("Recommend py-user: only the last message has last_page",
                     not any(m.last_page for m in msgs[:-1]))
        self.r.check("Recommend py-user: full pages of page_size except the last",
                     all(len(m.items) == page_size for m in msgs[:-1]) and
                     len(msgs[-1].items) <= page_size,
                     f"page sizes {[len(m.items) for m in msgs]}")
        items = self.slate(msgs)
        ids = [it.item_id for it in items]
        self.r.check("Recommend py-user: at least one item", len(items) >= 1, "empty slate")
        self.r.check(f"Recommend py-user: at most k={k} items", len(items) <= k, f"{len(items)} items")
        self.r.check("Recommend py-user: no item repeated", len(set(ids)) == len(ids), f"{ids}")
        self.r.check("Recommend py-user: every item has a reason",
                     all(len(it.reasons) >= 1 for it in items),
                     f"without reasons: {[it.item_id for it in items if not it.reasons]}")
        self.r.check("Recommend py-user: positions 0.. across pages",
                     [it.position for it in items] == list(range(len(items))),
                     f"{[it.position for it in items]}")
        seen = {"py-item-0", "py-item-1", "py-item-2", "demo-item-1"}
        self.r.check("Recommend py-user: items just viewed/clicked/purchased are not shown",
                     not seen.intersection(ids), f"shown: {sorted(seen.intersection(ids))}")

    def recommend_demo(self):
        msgs = self.recommend(user_id="demo-user-0", k=5)
        items = self.slate(msgs)
        self.r.check("Recommend demo-user-0 returns items", len(items) >= 1, "empty slate")
        self.r.check("Recommend page_size=0: one message with last_page",
                     len(msgs) == 1 and msgs[0].last_page, f"{len(msgs)} messages")
        if items:
            first = items[0].item_id
            again = self.slate(self.recommend(user_id="demo-user-0", k=5, exclude_item_ids=[first]))
            self.r.check("Recommend with exclude_item_ids leaves the item out",
                         first not in [it.item_id for it in again], f"{first} returned")

        anon = self.slate(self.recommend(session_id="py-fresh-session", k=5))
        self.r.check("Recommend for a session with no history returns items", len(anon) >= 1,
                     "empty slate")

        # Only the py-item-* items carry category "py-all" (the proto does not
        # promise a non-empty answer here, so an empty slate passes).
        inc = self.slate(self.recommend(session_id="py-fresh-session", k=5,
                                        include_categories=["py-all"]))
        self.r.check("Recommend include_categories returns only items of that category",
                     all(it.item_id.startswith("py-item-") for it in inc),
                     f"{[it.item_id for it in inc]}")
        exc = self.slate(self.recommend(session_id="py-fresh-session", k=20,
                                        exclude_categories=["py-all"]))
        self.r.check("Recommend exclude_categories leaves those items out",
                     not any(it.item_id.startswith("py-item-") for it in exc),
                     f"{[it.item_id for it in exc]}")

    def recommend_errors(self):
        self.expect_error("Recommend with k=-1", lambda: self.recommend(user_id="py-user", k=-1),
                          self.grpc.StatusCode.INVALID_ARGUMENT, ("k",))
        self.expect_error("Recommend with page_size=-1",
                          lambda: self.recommend(user_id="py-user", k=5, page_size=-1),
                          self.grpc.StatusCode.INVALID_ARGUMENT, ("page_size",))
        self.expect_error("Recommend with an unknown surface",
                          lambda: self.recommend(user_id="py-user", surface="py-no-such-surface"),
                          self.grpc.StatusCode.INVALID_ARGUMENT, ("surface",))
        self.expect_error("Recommend with neither user_id nor session_id",
                          lambda: self.recommend(k=5),
                          self.grpc.StatusCode.INVALID_ARGUMENT)

    # -- metrics -------------------------------------------------------------
    def metrics(self):
        url = f"http://{self.server.metrics_addr}/metrics"
        with urllib.request.urlopen(url, timeout=RPC_TIMEOUT) as resp:
            status = resp.status
            body = resp.read().decode("utf-8", "replace")
        self.r.check("GET /metrics answers 200", status == 200, f"status {status}")
        recd_lines = [ln for ln in body.splitlines() if ln.startswith("recd_")]
        self.r.check("GET /metrics has recd_ metrics", len(recd_lines) > 0,
                     f"{len(body)} bytes, no line starting with recd_")

    def close(self):
        self.channel.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--recd", help="path to the recd binary (required unless --gen-only)")
    ap.add_argument("--config", help="optional config file passed to recd serve")
    ap.add_argument("--ready-timeout", type=float, default=60.0)
    ap.add_argument("--stop-timeout", type=float, default=15.0)
    ap.add_argument("--keep-tmp", action="store_true", help="keep the temp dir (logs, data)")
    ap.add_argument("--gen-only", action="store_true",
                    help="only generate and import the stubs, then exit")
    opts = ap.parse_args()
    if not opts.gen_only and not opts.recd:
        ap.error("--recd PATH is required")

    results = Results()
    work = tempfile.mkdtemp(prefix="recd-client-check-")
    server = None
    checks = None
    try:
        import grpc
        pb, pb_grpc, health_pb2, reflection_pb2 = generate_stubs(os.path.join(work, "gen"))
        results.check("stubs generated and imported",
                      hasattr(pb_grpc, "RecommenderStub") and hasattr(pb_grpc, "CatalogStub"))
        if opts.gen_only:
            print(f"health stub: {'generated' if health_pb2 else 'missing'}; "
                  f"reflection stub: {'generated' if reflection_pb2 else 'missing'}")
            return finish(results)

        recd = os.path.abspath(opts.recd)
        if not (os.path.isfile(recd) and os.access(recd, os.X_OK)):
            raise Fatal(f"not an executable: {recd}")
        server = Server(recd, work, opts.config)
        server.start(opts.ready_timeout)
        results.check("ready file written with grpc and metrics addresses", True)
        checks = Checks(grpc, pb, pb_grpc, health_pb2, reflection_pb2, server, results)

        results.section("health", checks.health_checks)
        results.section("reflection", checks.reflection_checks)
        results.section("upsert/get", checks.upsert_and_get)
        results.section("track", checks.track)
        results.section("track errors", checks.track_errors)
        results.section("recommend py-user", checks.recommend_user)
        results.section("recommend demo", checks.recommend_demo)
        results.section("recommend errors", checks.recommend_errors)
        results.section("delete", checks.delete_items)
        results.section("metrics", checks.metrics)
        checks.close()
        checks = None

        code = server.stop(opts.stop_timeout)
        results.check(f"SIGTERM: exits within {opts.stop_timeout:.0f} s", code is not None,
                      "still running")
        if code is not None:
            results.check("SIGTERM: exit code 0", code == 0, f"exit code {code}")
    except Fatal as e:
        results.check("fatal", False, str(e))
    except Exception as e:  # noqa: BLE001
        traceback.print_exc()
        results.check("unexpected error", False, f"{type(e).__name__}: {e}")
    finally:
        if checks is not None:
            checks.close()
        if server is not None:
            server.kill()
            if results.failed:
                print(f"---- last lines of the server log ({server.log_path}) ----")
                print(server.log_tail())
                print("---- end of server log ----")
        if opts.keep_tmp:
            print(f"temp dir kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return finish(results)


def finish(results):
    if results.failed:
        print("FAILED checks:")
        for f in results.failures:
            print(f"  - {f}")
    print(f"{results.passed} passed, {results.failed} failed", flush=True)
    return 0 if results.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
