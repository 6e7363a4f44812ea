"""The messaging limit: a two-hop oslo.messaging cast chain, client → A → B.

Three processes on one RabbitMQ (a throwaway vhost): this client casts ``hop1`` to
process A, which casts ``hop2`` to process B. Both hops use volmgr's own
``Messaging`` (same serializer, same request context, same exchange) and carry
messages of the size a manage's casts have: hop 1 the size of the API → scheduler
cast, hop 2 the size of the scheduler → volume cast (sizes measured on the wire with
a tap queue; ``bench.manage`` passes the sizes it measured on the real daemons).

Measured:

* flood: ``--messages`` casts sent as fast as one client thread can; end-to-end
  rate = messages received by B / (last receipt - first send);
* paced: casts at half that rate for ``--paced-seconds``; latency send → receipt at
  B, p50 and p99 (``time.monotonic`` is one clock for every process of the machine).

Run alone: ``python -m bench.chain`` (prints a table and one JSON line).
"""

from __future__ import annotations

import argparse
import json
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from bench import _daemons as d

TOPIC_A = "bench-chain-a"
TOPIC_B = "bench-chain-b"
EXCHANGE = "volmgr"
READY_TIMEOUT = 60.0
DRAIN_TIMEOUT = 120.0
MAX_MESSAGES = 200_000
MAX_LATENCIES = 100_000

# Sizes of the two casts of a manage when nothing better is known (measured on this
# machine by bench.manage's tap; the ids and host names make them vary slightly).
DEFAULT_HOP1_BYTES = 1500
DEFAULT_HOP2_BYTES = 1150


def _messaging(url: str, name: str) -> Any:
    from volmgr_common import rpc
    from volmgr_common.conf import startup

    conf = startup.new_conf()
    conf([], project=None, default_config_files=[], default_config_dirs=[])
    conf.set_override("transport_url", url)
    return rpc.Messaging(conf, publisher=name)


def bench_context() -> Any:
    """A request context shaped like the one a manage request carries."""
    from volmgr_common.context import RequestContext

    return RequestContext(user_id="bench-user", project_id="bench-project-0", roles=["admin"])


def request_spec(volume_id: str) -> dict[str, Any]:
    """The scheduler cast's ``request_spec`` of a manage on the fake backend."""
    from volmgr_common.manage_request import RequestSpec

    vtype = {"name": "__DEFAULT__", "extra_specs": {}}
    return RequestSpec.for_manage("benchhost@fake", "nova", vtype, volume_id).to_wire()


# -- the two servers ----------------------------------------------------------------------


class _Receiver:
    """Endpoint of B: records when each hop-2 cast arrives."""

    def __init__(self) -> None:
        import oslo_messaging

        self.target = oslo_messaging.Target(version="1.0")
        self._lock = threading.Lock()
        self._reset()

    def _reset(self) -> None:
        self.count = 0
        self.first = 0.0
        self.last = 0.0
        self.latencies: list[float] = []

    def ping(self, ctxt: Any) -> str:
        return "pong"

    def hop2(self, ctxt: Any, volume_id: str, sent_ns: int, pad: str) -> None:
        now = time.monotonic_ns()
        with self._lock:
            if not self.count:
                self.first = now / 1e9
            self.count += 1
            self.last = now / 1e9
            if len(self.latencies) < MAX_LATENCIES:
                self.latencies.append((now - sent_ns) / 1e6)

    def stats(self, ctxt: Any, latencies: bool = False) -> dict[str, Any]:
        with self._lock:
            return {
                "count": self.count,
                "first": self.first,
                "last": self.last,
                "latencies_ms": list(self.latencies) if latencies else [],
            }

    def reset(self, ctxt: Any) -> None:
        with self._lock:
            self._reset()


class _Forwarder:
    """Endpoint of A: forwards every hop-1 cast to B as a hop-2 cast."""

    def __init__(self, messaging: Any) -> None:
        import oslo_messaging

        self.target = oslo_messaging.Target(version="1.0")
        self._b = messaging.client(TOPIC_B, "1.0")

    def ping(self, ctxt: Any) -> str:
        return "pong"

    def hop1(
        self,
        ctxt: Any,
        volume_id: str,
        request_spec: dict[str, Any],
        sent_ns: int,
        pad: str,
        pad2_len: int,
    ) -> None:
        self._b.prepare(server="bench-b").cast(
            ctxt, "hop2", volume_id=volume_id, sent_ns=sent_ns, pad="x" * pad2_len
        )


def serve(role: str, url: str, seconds: float) -> None:
    """Run server ``role`` (``a`` or ``b``) until SIGTERM or ``seconds`` have passed."""
    import signal

    messaging = _messaging(url, f"bench-chain-{role}")
    if role == "a":
        endpoint: Any = _Forwarder(messaging)
        server = messaging.server(TOPIC_A, "bench-a", [endpoint])
    else:
        server = messaging.server(TOPIC_B, "bench-b", [_Receiver()])
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    server.start()
    print(f"chain {role} serving", flush=True)
    stop.wait(seconds)
    server.stop()
    server.wait()
    messaging.cleanup()


# -- the client ---------------------------------------------------------------------------


class ChainClient:
    """Drives A and B from this process."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.messaging = _messaging(url, "bench-chain-client")
        self.a = self.messaging.client(TOPIC_A, "1.0", timeout=10)
        self.b = self.messaging.client(TOPIC_B, "1.0", timeout=30)
        self.ctxt = bench_context()
        self.pad1 = 0
        self.pad2 = 0

    def wait_ready(self) -> None:
        import oslo_messaging

        deadline = time.monotonic() + READY_TIMEOUT
        for client, server in ((self.a, "bench-a"), (self.b, "bench-b")):
            while True:
                try:
                    client.prepare(server=server, timeout=2).call(self.ctxt, "ping")
                    break
                except oslo_messaging.MessagingTimeout:
                    if time.monotonic() > deadline:
                        raise d.BenchError(f"chain server {server} does not answer") from None

    def send(self, pad1: int | None = None, pad2: int | None = None) -> None:
        volume_id = str(uuid.uuid4())
        self.a.prepare(server="bench-a").cast(
            self.ctxt,
            "hop1",
            volume_id=volume_id,
            request_spec=request_spec(volume_id),
            sent_ns=time.monotonic_ns(),
            pad="x" * (self.pad1 if pad1 is None else pad1),
            pad2_len=self.pad2 if pad2 is None else pad2,
        )

    def stats(self, latencies: bool = False) -> dict[str, Any]:
        return self.b.prepare(server="bench-b").call(self.ctxt, "stats", latencies=latencies)

    def reset(self) -> None:
        self.b.prepare(server="bench-b").call(self.ctxt, "reset")

    def calibrate(self, hop1_bytes: int, hop2_bytes: int) -> dict[str, int]:
        """Pad the hops so that their bodies on the wire have the sizes asked for."""
        keys = [f"{TOPIC_A}.bench-a", f"{TOPIC_B}.bench-b"]
        tap = d.Tap(self.url, EXCHANGE, keys)
        try:
            self.send(pad1=0, pad2=0)
            bare = tap.collect(want=1)
            self.pad1 = max(0, hop1_bytes - bare[keys[0]][0])
            self.pad2 = max(0, hop2_bytes - bare[keys[1]][0])
            tap.sizes = {key: [] for key in keys}
            self.send()
            padded = tap.collect(want=1)
        finally:
            tap.close()
        self.wait_count(2)
        return {"hop1_bytes": padded[keys[0]][0], "hop2_bytes": padded[keys[1]][0]}

    def wait_count(self, count: int, timeout: float = DRAIN_TIMEOUT) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            stats = self.stats()
            if stats["count"] >= count:
                return stats
            if time.monotonic() > deadline:
                raise d.BenchError(f"chain: {stats['count']} of {count} arrived in {timeout}s")
            time.sleep(0.1)

    def close(self) -> None:
        self.messaging.cleanup()


def _paced(client: ChainClient, rate: float, seconds: float) -> tuple[int, list[float]]:
    """Cast at ``rate`` per second for ``seconds``; returns (sent, latencies in ms)."""
    client.reset()
    count = max(1, int(rate * seconds))
    start = time.monotonic()
    for i in range(count):
        delay = start + i / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        client.send()
    client.wait_count(count)
    return count, client.stats(latencies=True)["latencies_ms"]


def run_chain(
    url: str,
    cleanup: d.Cleanup,
    workdir: Path,
    messages: int = 4000,
    paced_seconds: float = 6.0,
    hop1_bytes: int = DEFAULT_HOP1_BYTES,
    hop2_bytes: int = DEFAULT_HOP2_BYTES,
) -> dict[str, Any]:
    """Start A and B on vhost ``url``, measure flood rate and paced latency, stop them."""
    messages = max(1, min(messages, MAX_MESSAGES))
    lifetime = str(int(DRAIN_TIMEOUT * 4 + paced_seconds))
    servers = []
    for role in ("a", "b"):
        proc = d.python_module(
            f"chain-{role}",
            "bench.chain",
            ["--role", role, "--url", url, "--lifetime", lifetime],
            workdir / f"chain-{role}.out",
        )
        servers.append(proc.start(cleanup))
    client = ChainClient(url)
    cleanup.push("close the chain client", client.close)
    client.wait_ready()
    sizes = client.calibrate(hop1_bytes, hop2_bytes)
    client.reset()

    cpu0 = {p.name: d.cpu_seconds(p.pid) for p in servers}
    client_cpu0 = time.process_time()
    busy0, total0 = d.machine_busy_seconds()
    start = time.monotonic()
    for _ in range(messages):
        client.send()
    send_s = time.monotonic() - start
    stats = client.wait_count(messages)
    elapsed = stats["last"] - start
    busy1, total1 = d.machine_busy_seconds()
    cpu_ms = {p.name: (d.cpu_seconds(p.pid) - cpu0[p.name]) * 1000 / messages for p in servers}
    cpu_ms["chain-client"] = (time.process_time() - client_cpu0) * 1000 / messages
    flood_rate = messages / elapsed

    paced_rate = flood_rate / 2
    paced_count, latencies = _paced(client, paced_rate, paced_seconds)
    for proc in servers:
        proc.stop()
    return {
        "chain_limit_per_s": round(flood_rate, 1),
        "client_send_per_s": round(messages / send_s, 1),
        "messages": messages,
        "machine_busy": round((busy1 - busy0) / max(total1 - total0, 1e-9), 3),
        "cpu_ms_per_message": {k: round(v, 3) for k, v in cpu_ms.items()},
        "paced_per_s": round(paced_rate, 1),
        "paced_messages": paced_count,
        "chain_p50_ms": round(d.percentile(latencies, 0.50), 2),
        "chain_p99_ms": round(d.percentile(latencies, 0.99), 2),
        **sizes,
    }


def print_result(result: dict[str, Any]) -> None:
    print(
        f"two-hop cast chain: {result['chain_limit_per_s']:.0f} msg/s under flood "
        f"({result['messages']} messages, client sent {result['client_send_per_s']:.0f}/s, "
        f"machine {result['machine_busy'] * 100:.0f}% busy); paced at "
        f"{result['paced_per_s']:.0f}/s: p50 {result['chain_p50_ms']} ms, "
        f"p99 {result['chain_p99_ms']} ms; bodies {result['hop1_bytes']} + "
        f"{result['hop2_bytes']} bytes; CPU ms/message {result['cpu_ms_per_message']}"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.chain", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--role", choices=["a", "b"], help=argparse.SUPPRESS)
    parser.add_argument("--lifetime", type=float, default=600.0, help=argparse.SUPPRESS)
    parser.add_argument("--url", help="transport URL of an existing vhost (default: a new one)")
    parser.add_argument("--messages", type=int, default=4000, help="casts in the flood")
    parser.add_argument("--paced-seconds", type=float, default=6.0)
    parser.add_argument("--hop1-bytes", type=int, default=DEFAULT_HOP1_BYTES)
    parser.add_argument("--hop2-bytes", type=int, default=DEFAULT_HOP2_BYTES)
    args = parser.parse_args(argv)
    if args.role:
        serve(args.role, args.url, min(args.lifetime, 3600.0))
        return
    with d.cleanup_on_exit() as cleanup:
        url = args.url or d.make_vhost(cleanup, "volmgr-bench-chain-")
        workdir = d.temp_dir(cleanup, "volmgr-bench-chain-")
        result = run_chain(
            url,
            cleanup,
            workdir,
            messages=args.messages,
            paced_seconds=args.paced_seconds,
            hop1_bytes=args.hop1_bytes,
            hop2_bytes=args.hop2_bytes,
        )
    print_result(result)
    print(json.dumps(result, sort_keys=True))


if __name__ == "__main__":
    main()
