#!/usr/bin/env python3
"""A plain pyscard program against one cardvm reader (run by pcsc_clients.py).

usage: pyscard_client.py READER_NAME EXPECTED_ATR_HEX
Prints "pyscard client: ok" when every check passes; raises otherwise.
"""
import sys

from smartcard.CardConnection import CardConnection
from smartcard.System import readers
from smartcard.util import toBytes, toHexString


def main():
    name, want_atr = sys.argv[1], sys.argv[2].upper()
    found = [r for r in readers() if str(r) == name]
    assert found, f"reader {name!r} not in {readers()}"
    conn = found[0].createConnection()
    conn.connect(CardConnection.T1_protocol)
    atr = toHexString(conn.getATR()).replace(" ", "")
    assert atr == want_atr, f"ATR {atr} != {want_atr}"

    data, sw1, sw2 = conn.transmit(toBytes("00A4040008A000000151000000"))
    assert (data, sw1, sw2) == ([], 0x61, 0x12), (data, hex(sw1), hex(sw2))
    data, sw1, sw2 = conn.transmit(toBytes("00C0000012"))
    assert (sw1, sw2) == (0x90, 0x00) and data[:2] == [0x6F, 0x10], (toHexString(data), hex(sw1), hex(sw2))

    # A 255-byte echo: the largest short APDU, both ways.
    payload = [(i * 7) & 0xFF for i in range(255)]
    data, sw1, sw2 = conn.transmit([0x80, 0xEE, 0x00, 0x00, 0xFF] + payload + [0x00])
    assert (data, sw1, sw2) == (payload, 0x90, 0x00), (len(data), hex(sw1), hex(sw2))

    # Write, reconnect with a cold reset, read back (NVM stays, RAM goes).
    data, sw1, sw2 = conn.transmit(toBytes("80DA0042021234"))
    assert (sw1, sw2) == (0x90, 0x00), (hex(sw1), hex(sw2))
    conn.reconnect(CardConnection.T1_protocol, disposition=2)  # SCARD_UNPOWER_CARD
    data, sw1, sw2 = conn.transmit(toBytes("80CA004200"))
    assert (data, sw1, sw2) == ([0x42, 0x02, 0x12, 0x34], 0x90, 0x00), (toHexString(data), hex(sw1), hex(sw2))
    conn.disconnect()
    print("pyscard client: ok")


if __name__ == "__main__":
    main()
