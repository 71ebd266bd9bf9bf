#!/usr/bin/env python3
"""Sends CDEvents with the CNCF CloudEvents SDK, as a producer of CDEvents would (a test aid).

usage: send-cdevents.py --http URL [--kafka BROKERS --topic TOPIC] --service NAME --day YYYY-MM-DD

Over HTTP (POST URL): a service.deployed in structured mode and an incident.detected in binary
mode. To Kafka (confluent-kafka): an incident.resolved in binary mode (ce_ headers) and a
service.rolledback in structured mode. All are CDEvents v0.4.1, ids fixed by the day, so running
it twice sends the same events again.
"""
import argparse
import json
import urllib.request

from cloudevents.v1.http import CloudEvent
from cloudevents.v1.conversion import to_binary, to_structured
from cloudevents.v1 import kafka as cekafka


def cdevent(kind, id, time, subject, content, custom=None):
    data = {
        "context": {"version": "0.4.1", "id": id, "source": "/ci/sdk", "type": f"dev.cdevents.{kind}.0.2.0", "timestamp": time},
        "subject": {"id": subject, "source": "/ci/sdk", "type": kind.split(".")[0], "content": content},
    }
    if custom is not None:
        data["customData"] = custom
    attributes = {"type": f"dev.cdevents.{kind}.0.2.0", "source": "/ci/sdk", "id": id, "time": time, "datacontenttype": "application/json"}
    return CloudEvent(attributes, data)


def post(url, headers, body):
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=30) as answer:
        print(answer.status, answer.read().decode().strip())


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--http", required=True)
    p.add_argument("--kafka")
    p.add_argument("--topic")
    p.add_argument("--service", required=True)
    p.add_argument("--day", required=True)
    a = p.parse_args()
    env = {"environment": {"id": "production"}}
    d = a.day
    deployed = cdevent("service.deployed", f"dep-{d}", f"{d}T10:00:00Z", a.service, {**env, "artifactId": "pkg:oci/app@v2"})
    detected = cdevent("incident.detected", f"inc-{d}-d", f"{d}T10:04:00Z", f"inc-{d}",
                       {**env, "service": {"id": a.service}, "description": "5xx"})
    resolved = cdevent("incident.resolved", f"inc-{d}-r", f"{d}T10:11:00Z", f"inc-{d}", {**env, "service": {"id": a.service}})
    rolled = cdevent("service.rolledback", f"rb-{d}", f"{d}T10:08:30Z", a.service, {**env, "artifactId": "pkg:oci/app@v1"},
                     {"startedAt": f"{d}T10:06:00Z", "fromVersion": "pkg:oci/app@v2"})
    headers, body = to_structured(deployed)
    post(a.http, headers, body)
    headers, body = to_binary(detected)
    post(a.http, headers, body)
    if a.kafka:
        from confluent_kafka import Producer
        producer = Producer({"bootstrap.servers": a.kafka, "acks": "all", "enable.idempotence": True})
        delivered = []
        for message in (cekafka.to_binary(resolved), cekafka.to_structured(rolled)):
            headers = [(k, v if isinstance(v, bytes) else str(v).encode()) for k, v in message.headers.items()]
            producer.produce(a.topic, key=a.service.encode(), value=message.value, headers=headers,
                             on_delivery=lambda error, m: delivered.append(error))
        producer.flush(30)
        if len(delivered) != 2 or any(delivered):
            raise SystemExit(f"kafka: not delivered: {delivered}")
        print("kafka: 2 delivered")


main()
