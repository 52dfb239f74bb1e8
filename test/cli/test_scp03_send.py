#!/usr/bin/env python3
"""The nine real-card SCP03 sessions of the published vectors, replayed
through `cardvm send` on card images made by `cardvm create` with the
vectors' keys, security domain AID and i = 70.

For each session the card's sequence counter is brought to one below the
recorded value (by INITIALIZE UPDATEs with another host challenge), then the
recorded INITIALIZE UPDATE must get exactly the recorded response, the
recorded EXTERNAL AUTHENTICATE 9000, and every recorded wrapped command must
pass its C-MAC check (anything but 6982), all in one power session."""
import json
import os
import subprocess
import sys
import tempfile

cardvm, vectors = sys.argv[1], sys.argv[2]
data = json.load(open(vectors))
AID = "A0000005591010FFFFFFFF8900000100"
failures = 0
with tempfile.TemporaryDirectory(prefix="cardvm-scp03-send-") as tmp:
    for s in data["sessions"]:
        kvn = s["initialize_update"][4:6]
        rsp = s["initialize_update_response"]
        counter = int(rsp[-6:], 16)
        img = os.path.join(tmp, s["name"] + ".img")
        subprocess.run([cardvm, "create", "--quiet", "--isd-aid", AID, "--scp-i", "70",
                        "--keys", "%s:%s:%s:%s" % (kvn, s["key_enc"], s["key_mac"], s.get("key_dek") or s["key_enc"]), img],
                       check=True)
        apdus = ["00A4040010" + AID]
        apdus += ["8050%s00080000000000000000" % kvn] * (counter - 1)
        apdus += [s["initialize_update"], s["external_authenticate"]] + s["wrapped_commands"]
        out = subprocess.run([cardvm, "send", img] + apdus, check=True, capture_output=True,
                             text=True).stdout.split()
        lines = out[1 + counter - 1:]
        ok = lines[0] == rsp.upper() + "9000" and lines[1] == "9000" and \
            all(not l.endswith("6982") for l in lines[2:])
        print("%-10s %s  init-update %s  ext-auth %s  wrapped %s" %
              (s["name"], "ok  " if ok else "FAIL", lines[0][-10:], lines[1], " ".join(l[-4:] for l in lines[2:])))
        failures += not ok
sys.exit(1 if failures else 0)
