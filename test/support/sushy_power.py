#!/usr/bin/env python3
"""Reads a BMC's chassis power with OpenStack's sushy (Debian: python3-sushy), independently of
kepler-ts, so that a test can check that the fake BMC (test/support/fakeBmc.ts) is shaped like
Redfish as a real client reads it, and that both clients find the same watts.

sushy does the connection, TLS verification (verify= takes a CA file), the login (a session,
falling back to basic auth) and the chassis collection. sushy 4.x has no typed PowerSubsystem or
EnvironmentMetrics resources, and its Power class does not parse PowerControl, so those are read as
raw JSON through sushy's own authenticated connector, in the issue's order: power supplies' input
watts, else EnvironmentMetrics.PowerWatts, else Power.PowerControl[].PowerConsumedWatts.

Usage: sushy_power.py URL USER PASSWORD [CA_FILE]
Prints {"chassis": {"<Id>": {"source": "<type>", "watts": <sum>, "readings": n}}, "auth": "..."}.
"""

import json
import logging
import sys

import sushy
import sushy.connector


def reading(resource, key):
    value = (resource or {}).get(key)
    if isinstance(value, dict):
        r = value.get('Reading')
        if isinstance(r, (int, float)) and not isinstance(r, bool) and r >= 0:
            return r
    return None


def link(resource, key):
    value = (resource or {}).get(key)
    return value.get('@odata.id') if isinstance(value, dict) else None


def get(conn, path):
    """A linked resource's JSON, or None when it is not linked or not there."""
    if not path:
        return None
    try:
        return conn.get(path).json()
    except sushy.exceptions.ResourceNotFoundError:
        return None


def chassis_power(conn, chassis):
    doc = chassis.json
    # 1. Power supplies' input watts.
    watts = []
    subsystem = get(conn, link(doc, 'PowerSubsystem'))
    supplies = get(conn, link(subsystem, 'PowerSupplies'))
    for member in (supplies or {}).get('Members', []):
        psu = get(conn, member.get('@odata.id'))
        if not psu or (psu.get('Status') or {}).get('State') == 'Absent':
            continue
        w = reading(get(conn, link(psu, 'Metrics')), 'InputPowerWatts')
        if w is not None:
            watts.append(w)
    if watts:
        return 'PowerSupply', watts
    # 2. The chassis' environment metrics.
    w = reading(get(conn, link(doc, 'EnvironmentMetrics')), 'PowerWatts')
    if w is not None:
        return 'EnvironmentMetrics', [w]
    # 3. The deprecated Power resource, through sushy's own (typed) Power class.
    if link(doc, 'Power'):
        power = chassis.power
        controls = power.json.get('PowerControl') or []
        watts = [pc['PowerConsumedWatts'] for pc in controls if isinstance(pc.get('PowerConsumedWatts'), (int, float)) and pc['PowerConsumedWatts'] >= 0]
        if watts:
            return 'PowerControl', watts
    return 'none', []


def main():
    logging.basicConfig(level=logging.ERROR, stream=sys.stderr)
    url, user, password = sys.argv[1:4]
    verify = sys.argv[4] if len(sys.argv) > 4 else True
    # requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE from the environment win over a session's
    # verify= (psf/requests#3829): without trust_env off, the BMC's CA file would be ignored.
    connector = sushy.connector.Connector(url, verify=verify)
    connector._session.trust_env = False
    root = sushy.Sushy(url, username=user, password=password, connector=connector)
    conn = root._conn  # sushy's authenticated connector: the same session for the raw reads
    out = {}
    for chassis in root.get_chassis_collection().get_members():
        source, watts = chassis_power(conn, chassis)
        out[chassis.identity] = {'source': source, 'watts': sum(watts), 'readings': len(watts)}
    auth = root._auth
    mode = 'session' if auth.can_refresh_session() else 'basic'
    print(json.dumps({'chassis': out, 'auth': mode}))
    auth.close()  # deletes the session: the test checks that none is left behind


if __name__ == '__main__':
    main()
