"""A stock Paho MQTT client (Debian's python3-paho-mqtt 1.6) driven by the bridge tests.

Run with Debian's interpreter: /usr/bin/python3 paho_client.py '<json options>'
Options: host, port, client_id, protocol (4 or 5), clean (bool), session_expiry (v5, seconds),
will ({topic, payload, qos, retain}), keepalive.

Reads one JSON command per line on stdin:
  {"cmd": "subscribe", "topic": "...", "qos": 1}
  {"cmd": "publish", "topic": "...", "payload": "...", "qos": 2, "retain": false}
  {"cmd": "reconnect"}   after a lost connection (it never reconnects on its own)
  {"cmd": "disconnect"}  a clean DISCONNECT, then exit
Writes one JSON event per line on stdout: connected, subscribed, published (the QoS 1/2 flow
completed), message, disconnected.
"""
import json
import queue
import sys
import threading

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

    def on_message(_client, _userdata, msg):
        emit("message", topic=msg.topic, payload=msg.payload.decode("utf-8"), qos=msg.qos, retain=bool(msg.retain))

    client.on_connect = on_connect
    client.on_disconnect = on_disconnect
    client.on_message = on_message
    client.on_publish = lambda _c, _u, mid: emit("published", mid=mid)
    client.on_subscribe = lambda _c, _u, mid, *_rest: emit("subscribed", mid=mid)

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
        elif name == "reconnect":
            client.reconnect()
        elif name == "disconnect":
            client.disconnect()
            client.loop(timeout=0.2)
            return


if __name__ == "__main__":
    main()
