"""A minimal org.kde.StatusNotifierWatcher for desktop tests (jeepney, blocking).

    python tests/e2e/sni_watcher.py          # on the session bus in DBUS_SESSION_BUS_ADDRESS

With a watcher on the bus that says a host is registered, Qt's QSystemTrayIcon
registers a StatusNotifierItem instead of docking into an XEmbed tray, and
`showMessage` becomes an org.freedesktop.Notifications.Notify call.

Prints one line per event on stdout (flushed), for the test to read:
    ready                       the name is owned, calls are answered
    item <service><path>        RegisterStatusNotifierItem
    host <service>              RegisterStatusNotifierHost
Qt builds a QDBusInterface on the watcher, which introspects it before it reads
IsStatusNotifierHostRegistered, so Introspect is implemented too. Runs until
killed (SIGTERM).
"""

from __future__ import annotations

import sys

from jeepney import HeaderFields, MessageType, new_error, new_method_return, new_signal
from jeepney.bus_messages import message_bus
from jeepney.io.blocking import open_dbus_connection
from jeepney.wrappers import DBusAddress

NAME = "org.kde.StatusNotifierWatcher"
PATH = "/StatusNotifierWatcher"
IFACE = "org.kde.StatusNotifierWatcher"

INTROSPECTION = f"""<!DOCTYPE node PUBLIC "-//freedesktop//DTD D-BUS Object Introspection 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/introspect.dtd">
<node>
  <interface name="{IFACE}">
    <method name="RegisterStatusNotifierItem"><arg name="service" type="s" direction="in"/></method>
    <method name="RegisterStatusNotifierHost"><arg name="service" type="s" direction="in"/></method>
    <property name="RegisteredStatusNotifierItems" type="as" access="read"/>
    <property name="IsStatusNotifierHostRegistered" type="b" access="read"/>
    <property name="ProtocolVersion" type="i" access="read"/>
    <signal name="StatusNotifierItemRegistered"><arg type="s"/></signal>
    <signal name="StatusNotifierItemUnregistered"><arg type="s"/></signal>
    <signal name="StatusNotifierHostRegistered"/>
  </interface>
  <interface name="org.freedesktop.DBus.Properties">
    <method name="Get"><arg type="s" direction="in"/><arg type="s" direction="in"/>
      <arg type="v" direction="out"/></method>
    <method name="GetAll"><arg type="s" direction="in"/><arg type="a{{sv}}" direction="out"/></method>
  </interface>
  <interface name="org.freedesktop.DBus.Introspectable">
    <method name="Introspect"><arg type="s" direction="out"/></method>
  </interface>
</node>
"""


def say(line: str) -> None:
    print(line, flush=True)


def main() -> int:
    conn = open_dbus_connection(bus="SESSION")
    # 4 = DBUS_NAME_FLAG_DO_NOT_QUEUE; reply 1 = primary owner
    reply = conn.send_and_get_reply(message_bus.RequestName(NAME, 4), timeout=10)
    if reply.body[0] != 1:
        print(f"could not own {NAME} (RequestName -> {reply.body[0]})", file=sys.stderr)
        return 1
    items: list[str] = []
    me = DBusAddress(PATH, interface=IFACE)

    def properties() -> dict[str, tuple[str, object]]:
        return {
            "RegisteredStatusNotifierItems": ("as", list(items)),
            "IsStatusNotifierHostRegistered": ("b", True),
            "ProtocolVersion": ("i", 0),
        }

    say("ready")
    while True:
        msg = conn.receive()
        header = msg.header
        if header.message_type is not MessageType.method_call:
            continue
        fields = header.fields
        iface = fields.get(HeaderFields.interface)
        member = fields.get(HeaderFields.member)
        sender = fields.get(HeaderFields.sender, "")
        if member == "Introspect":
            conn.send(new_method_return(msg, "s", (INTROSPECTION,)))
        elif member == "Ping":
            conn.send(new_method_return(msg))
        elif iface == "org.freedesktop.DBus.Properties" and member == "Get":
            _iface, prop = msg.body
            value = properties().get(prop)
            if value is None:
                conn.send(new_error(msg, "org.freedesktop.DBus.Error.UnknownProperty", "s", (prop,)))
            else:
                conn.send(new_method_return(msg, "v", (value,)))
        elif iface == "org.freedesktop.DBus.Properties" and member == "GetAll":
            conn.send(new_method_return(msg, "a{sv}", (properties(),)))
        elif member == "RegisterStatusNotifierItem":
            (service,) = msg.body
            # Either a bus name (path defaults to /StatusNotifierItem) or an object path on the sender.
            item = f"{sender}{service}" if service.startswith("/") else f"{service}/StatusNotifierItem"
            if item not in items:
                items.append(item)
            conn.send(new_method_return(msg))
            conn.send(new_signal(me, "StatusNotifierItemRegistered", "s", (item,)))
            say(f"item {item}")
        elif member == "RegisterStatusNotifierHost":
            conn.send(new_method_return(msg))
            say(f"host {msg.body[0]}")
        else:
            conn.send(new_error(msg, "org.freedesktop.DBus.Error.UnknownMethod", "s", (f"no method {member}",)))


if __name__ == "__main__":
    sys.exit(main())
