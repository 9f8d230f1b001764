#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Runs the three examples/, built against an installed SDK, on a throw-away
platform (ctest -L install, from install_test.sh):

  1. examples/python/partner_app.py enrols two app devices (the shelter's
     sara, the legal service's lars): init, enrol, the admin's approval at the
     command line with the safety number the app printed, activate;
  2. examples/cpp-refer-and-watch (sara) opens a case, finds the legal
     service, refers sharing only the needs, and watches;
  3. examples/c-inbox-and-accept (lars) accepts it from the inbox;
  4. the C++ example sees the answer and verifies it; partner_app.py read
     shows sara the accepted referral.

  run_examples.py BUILD_DIR PREFIX LIBDIR EXAMPLES_BUILD_DIR WORK_DIR
"""

import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
from trygg_platform import Platform  # noqa: E402

SOURCE = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
CASE = {"person": {"first_name": "Ioana", "second_name": "Popescu", "primary_language": "ro"},
        "needs": [{"service": "legal-advice", "details": "Lönefordran mot arbetsgivaren"}]}


def fail(message):
    sys.exit(f"run_examples: {message}")


def main():
    build, prefix, libdir, examples, work = sys.argv[1:6]
    platform = Platform(build, work).start()
    try:
        run(platform, prefix, libdir, examples, work)
    finally:
        platform.stop()
    print("run_examples: the C++, C and Python examples ran against the installed SDK")


def run(platform, prefix, libdir, examples, work):
    shelter = platform.admit("Skyddat boende Syd", "shelter-admin")
    legal = platform.admit("Juridisk rådgivning", "legal-admin")
    platform.publish("legal-admin", {"category": "legal-advice", "regions": ["SE-M"], "languages": ["ro", "sv"],
                                     "response_time_hours": 48})
    # The installed package and library only: nothing of the source tree.
    env = {"PATH": "/usr/bin:/bin", "HOME": work, "TRYGG_APP_PASSPHRASE": "app passphrase",
           "PYTHONPATH": os.path.join(prefix, "lib/python3/dist-packages"), "LD_LIBRARY_PATH": libdir,
           "PYTHONDONTWRITEBYTECODE": "1"}
    found = subprocess.run([sys.executable, "-c", "import trygg; print(trygg.__file__)"], env=env,
                           capture_output=True, text=True, check=False)
    where = found.stdout.strip()
    if found.returncode != 0 or not where.startswith(prefix):
        fail(f"the trygg package came from '{where}', not the installed prefix: {found.stderr.strip()}")
    connection = ["--server", platform.address, "--root-key", platform.root_key]

    def app(key_store, *args):
        done = subprocess.run([sys.executable, os.path.join(SOURCE, "examples/python/partner_app.py"),
                               "--key-store", key_store, *connection, "--json", *args], env=env,
                              capture_output=True, text=True, timeout=120, check=False)
        if done.returncode != 0:
            fail(f"partner_app.py {args[0]}: {done.stderr.strip()}")
        return json.loads(done.stdout)

    stores = {}
    for person, admin, org in (("sara", "shelter-admin", shelter), ("lars", "legal-admin", legal)):
        stores[person] = os.path.join(work, person, "device.keystore")
        app(stores[person], "init", org)
        ticket = app(stores[person], "enrol", f"{person}s app")
        platform.approve(admin, ticket["enrolment_id"], ticket["safety_number"])
        if app(stores[person], "activate")["added"] != 1:
            fail(f"{person}'s device received no organisation key")
        print(f"{person}'s app device enrolled after the safety-number check")

    case_file = os.path.join(work, "case.json")
    with open(case_file, "w") as f:
        json.dump(CASE, f, ensure_ascii=False)
    refer = subprocess.Popen([os.path.join(examples, "cpp/refer-and-watch"), "--key-store", stores["sara"],
                              *connection, "--case", case_file, "--service", "legal-advice", "--share", "needs",
                              "--note", "Ring före besök", "--seconds", "90"],
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    referral_id = None
    # Its lines in order; the receiver answers once the watch is open.
    for line in refer.stdout:
        print("refer-and-watch: " + line.rstrip())
        if line.startswith("referral ") and line.rstrip().endswith(" sent"):
            referral_id = line.split()[1]
        if line.strip() == "watching":
            break
    if referral_id is None:
        refer.kill()
        fail("refer-and-watch did not refer: " + refer.stderr.read())

    accept = subprocess.run([os.path.join(examples, "c/inbox-and-accept"), stores["lars"], platform.address,
                             platform.root_key], env=env, capture_output=True, text=True, timeout=120, check=False)
    if accept.returncode != 0:
        refer.kill()
        fail(f"inbox-and-accept exited {accept.returncode}: {accept.stderr.strip()}")
    answered = [json.loads(line) for line in accept.stdout.splitlines()]
    if [(a["referral_id"], a["state"]) for a in answered] != [(referral_id, "accepted")]:
        refer.kill()
        fail(f"inbox-and-accept answered {answered}")
    print(f"inbox-and-accept: accepted {referral_id}")

    rest, errors = refer.communicate(timeout=120)
    for line in rest.splitlines():
        print("refer-and-watch: " + line)
    if refer.returncode != 0 or "verified: accepted by Juridisk rådgivning" not in rest:
        fail(f"refer-and-watch exited {refer.returncode}: {errors.strip()}")

    read = app(stores["sara"], "read", referral_id)
    if read["state"] != "accepted" or read["packet"]["note"] != "Ring före besök" or \
            "person" in read["packet"]["shared"] or not read["packet"]["shared"]["needs"]:
        fail(f"partner_app.py read shows {read}")
    print("partner_app.py read: accepted, the packet holds the needs and the note only")


if __name__ == "__main__":
    main()
