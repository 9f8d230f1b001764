#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A partner app in Python over the trygg package (bindings/python).

The device's whole life, one command each:

  partner_app.py init ORG_ID        create the key store (once)
  partner_app.py enrol LABEL        send the enrolment request; prints the
                                    safety number to read to the admin
  partner_app.py activate           after approval: receive the organisation keys
  partner_app.py inbox              the referrals waiting for an answer
  partner_app.py read REFERRAL_ID   one referral, verified, with its packet

Common options: --key-store FILE --server HOST:PORT --root-key HEX [--json].
The passphrase comes from TRYGG_APP_PASSPHRASE (a real app asks the person;
the variable is for demos) and is wiped from this process after use.
The trygg package and libtrygg_c must be findable: PYTHONPATH with the SDK's
lib/python3/dist-packages, and LD_LIBRARY_PATH (or TRYGG_LIBRARY) with its lib.
Exit status: 0 done, 1 an error (printed as CODE: message).
"""

import argparse
import json
import os
import sys

import trygg


def passphrase():
    value = os.environ.get("TRYGG_APP_PASSPHRASE")
    if not value:
        sys.exit("partner_app: set TRYGG_APP_PASSPHRASE")
    return bytearray(value.encode("utf-8"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--key-store", required=True)
    parser.add_argument("--server", required=True)
    parser.add_argument("--root-key", required=True)
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("init").add_argument("org_id")
    commands.add_parser("enrol").add_argument("label")
    commands.add_parser("activate")
    commands.add_parser("inbox")
    commands.add_parser("read").add_argument("referral_id")
    args = parser.parse_args()

    secret = passphrase()
    try:
        if args.command == "init":
            result = trygg.device_init(args.key_store, secret, args.org_id)
            text = f"device {result['device_id']} created; safety number {result['safety_number']}"
        elif args.command == "enrol":
            with trygg.Session.open(args.key_store, secret, args.server, args.root_key, login=False) as session:
                result = session.enrol_request("caseworker", args.label)
            text = (f"enrolment {result['enrolment_id']} sent. Read this safety number to your admin:\n"
                    f"  {result['safety_number']}")
        elif args.command == "activate":
            with trygg.Session.open(args.key_store, secret, args.server, args.root_key,
                                    keep_passphrase=True) as session:
                result = session.activate()
                result.update(session.info())
            text = f"active as {result['role']}; organisation key generations {result['org_key_generations']}"
        else:
            with trygg.Session.open(args.key_store, secret, args.server, args.root_key) as session:
                if args.command == "inbox":
                    result = session.inbox(state="sent")
                    text = "\n".join(f"{r['referral_id']}  {r['service']}  {r['urgency']}  from {r['from_org_name']}"
                                     for r in result["referrals"]) or "inbox empty"
                else:
                    result = session.referral(args.referral_id)
                    text = (f"{result['referral_id']}  {result['state']}  {result['service']}  "
                            f"to {result['to_org_name']}\n" + json.dumps(result.get("packet"), ensure_ascii=False,
                                                                         indent=2))
    except trygg.TryggError as e:
        print(f"partner_app: {e.code_name}: {e.message}", file=sys.stderr)
        return 1
    finally:
        trygg.wipe(secret)
    print(json.dumps(result, ensure_ascii=False) if args.json else text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
