"""``volmgr_rpc_queue_messages`` reads the depth of RPC queues from a real RabbitMQ."""

from __future__ import annotations

from pathlib import Path

import kombu

from tests.conftest import make_conf
from tests.integration import daemons
from volmgr_common import metrics


def test_queue_depth_is_read_from_rabbitmq(transport_url: str, tmp_path: Path) -> None:
    queue_name = daemons.unique_name("volmgr-depth-")
    conf = make_conf(tmp_path, transport_url=transport_url)
    url = transport_url.replace("rabbit://", "amqp://", 1)
    # Publisher confirms: each publish returns once the broker holds the message,
    # so the depth read afterwards is the depth published.
    with kombu.Connection(url, transport_options={"confirm_publish": True}) as connection:
        queue = kombu.Queue(queue_name, auto_delete=False)
        producer = connection.Producer()
        for number in range(3):
            producer.publish({"n": number}, routing_key=queue_name, declare=[queue])
        try:
            collector = metrics.QueueDepthCollector(conf, [queue_name, "volmgr-absent-queue"])
            [family] = list(collector.collect())
            depths = {sample.labels["queue"]: sample.value for sample in family.samples}
        finally:
            queue(connection.default_channel).delete()
    assert depths == {queue_name: 3}  # the absent queue has no sample
