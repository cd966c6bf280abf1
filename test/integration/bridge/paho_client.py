"""A stock Paho MQTT client (Debian's python3-paho-mqtt 1.6) driven by the bridge tests.

Run with Debian's interpreter: /usr/bin/python3 paho_client.py '<json options>'
Options: host, port, client_id, protocol (4 or 5), clean (bool), session_expiry (v5, seconds),
will ({topic, payload, qos, retain}), keepalive.

Reads one JSON command per line on stdin:
  {"cmd": "subscribe", "topic": "...", "qos": 1}
  {"cmd": "publish", "topic": "...", "payload": "...", "qos": 2, "retain": false}
  {"cmd": "own", "prefix": "...", "rounds": 100, "qos": 1, "window": 10, "gap_ms": 2, "wait_s": 10}
      SUBSCRIBE then PUBLISH without waiting for the SUBACK, round after round: round r subscribes
      to prefix/r and publishes "r<r>" there at once. Nothing is read from the socket between the
      two calls (Paho handles input only in loop()), so the PUBLISH always leaves before the SUBACK
      can have been seen; gap_ms apart, so that they are likely two TCP segments, hence two
      WebSocket messages upstream. Rounds go `window` at a time (at most Paho's 20 messages in
      flight, so that no PUBLISH is held back in Paho's queue, and below the broker's Receive
      Maximum); after each window it reads until that window's messages are back and its flows
      complete, or wait_s has passed. Reports one "own" event: the messages received per round.
  {"cmd": "reconnect"}   after a lost connection (it never reconnects on its own)
  {"cmd": "disconnect"}  a clean DISCONNECT, then exit
Writes one JSON event per line on stdout: connected, subscribed, published (the QoS 1/2 flow
completed), message, disconnected, own.
"""
import json
import queue
import sys
import threading
import time

import paho.mqtt.client as mqtt
from paho.mqtt.properties import Properties
from paho.mqtt.packettypes import PacketTypes


def emit(event, **fields):
    print(json.dumps({"event": event, **fields}), flush=True)


def read_commands(commands):
    for line in sys.stdin:
        line = line.strip()
        if line:
            commands.put(json.loads(line))
    commands.put({"cmd": "disconnect"})


class OwnMessages:
    """The "own" command: which rounds' messages came back, and how often."""

    def __init__(self):
        self.prefix = None
        self.counts = {}
        self.pending = set()  # mids of this window's publishes whose flow has not completed
        self.subscribes = set()  # mids of this window's SUBSCRIBEs not yet acknowledged

    def acknowledged(self, mid):
        """A PUBLISH flow completed or a SUBACK came; answers False if it is not one of ours."""
        if mid in self.pending or mid in self.subscribes:
            self.pending.discard(mid)
            self.subscribes.discard(mid)
            return True
        return False

    def take(self, msg):
        """Counts a message of the current run; answers False for any other message."""
        if self.prefix is None or not msg.topic.startswith(self.prefix + "/"):
            return False
        round_ = int(msg.topic[len(self.prefix) + 1:])
        self.counts[round_] = self.counts.get(round_, 0) + 1
        return True

    def run(self, client, command):
        self.prefix, self.counts = command["prefix"], {}
        rounds, qos = command["rounds"], command.get("qos", 0)
        window, gap = command.get("window", 10), command.get("gap_ms", 2) / 1000
        for first in range(0, rounds, window):
            batch = range(first, min(first + window, rounds))
            for r in batch:
                topic = f"{self.prefix}/{r}"
                self.subscribes.add(client.subscribe(topic, qos)[1])
                time.sleep(gap)  # no loop() call: the SUBACK is not read before the PUBLISH leaves
                info = client.publish(topic, f"r{r}", qos)
                if qos > 0:  # a QoS 0 publish is reported while it is written, inside publish()
                    self.pending.add(info.mid)
            # The window's messages back, and its flows complete: Paho never holds more in flight.
            deadline = time.monotonic() + command.get("wait_s", 10)
            while time.monotonic() < deadline and not (all(r in self.counts for r in batch) and not self.pending and not self.subscribes):
                client.loop(timeout=0.02)
            self.pending.clear()
            self.subscribes.clear()
        settle = time.monotonic() + 0.3
        while time.monotonic() < settle:  # a duplicate would land here
            client.loop(timeout=0.02)
        emit("own", qos=qos, rounds=rounds, counts={str(r): n for r, n in sorted(self.counts.items())})
        self.prefix = None


def main():
    options = json.loads(sys.argv[1])
    v5 = options.get("protocol", 4) == 5
    client = mqtt.Client(
        client_id=options["client_id"],
        clean_session=None if v5 else options.get("clean", True),
        protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311,
    )

    def on_connect(_client, _userdata, flags, rc, _properties=None):
        emit("connected", rc=int(rc if not hasattr(rc, "value") else rc.value),
             session_present=bool(flags.get("session present", 0)))

    def on_disconnect(_client, _userdata, rc, *_rest):
        emit("disconnected", rc=int(rc if not hasattr(rc, "value") else rc.value))

    own = OwnMessages()

    def on_message(_client, _userdata, msg):
        if own.take(msg):
            return
        emit("message", topic=msg.topic, payload=msg.payload.decode("utf-8"), qos=msg.qos, retain=bool(msg.retain))

    client.on_connect = on_connect
    client.on_disconnect = on_disconnect
    client.on_message = on_message
    client.on_publish = lambda _c, _u, mid: own.acknowledged(mid) or emit("published", mid=mid)
    client.on_subscribe = lambda _c, _u, mid, *_rest: own.acknowledged(mid) or emit("subscribed", mid=mid)

    will = options.get("will")
    if will:
        client.will_set(will["topic"], will["payload"], will.get("qos", 0), will.get("retain", False))

    connect_args = {"keepalive": options.get("keepalive", 60)}
    if v5:
        connect_args["clean_start"] = options.get("clean", True)
        if "session_expiry" in options:
            properties = Properties(PacketTypes.CONNECT)
            properties.SessionExpiryInterval = options["session_expiry"]
            connect_args["properties"] = properties
    client.connect(options["host"], options["port"], **connect_args)

    commands = queue.Queue()
    threading.Thread(target=read_commands, args=(commands,), daemon=True).start()
    while True:
        client.loop(timeout=0.05)
        try:
            command = commands.get_nowait()
        except queue.Empty:
            continue
        name = command["cmd"]
        if name == "subscribe":
            client.subscribe(command["topic"], command.get("qos", 0))
        elif name == "publish":
            client.publish(command["topic"], command["payload"], command.get("qos", 0), command.get("retain", False))
        elif name == "own":
            own.run(client, command)
        elif name == "reconnect":
            client.reconnect()
        elif name == "disconnect":
            client.disconnect()
            client.loop(timeout=0.2)
            return


if __name__ == "__main__":
    main()
