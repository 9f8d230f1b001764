# SPDX-License-Identifier: Apache-2.0
"""The Python binding (bindings/python/trygg) against a real tryggd.

A partner app in Python enrols its device through the library (the admin
approves at the command line after comparing the safety number), opens a
case, records consent, finds a service, and refers; the receiver accepts
with the C++ command line; Python reads the accepted referral, watches the
receiver complete it, and every refusal raises TryggError with its code and
changes nothing.

    TRYGG_BUILD_DIR=build TRYGG_LIBRARY=build/client-lib/libtrygg_c.so \\
      PYTHONPATH=bindings/python:tests/python python3 -m unittest partner_flow_test
"""

import os
import tempfile
import threading
import time
import unittest

import trygg
from trygg_platform import Platform

RECORD = {
    "person": {"first_name": "Ioana", "second_name": "Popescu", "primary_language": "ro"},
    "needs": [{"service": "legal-advice", "details": "Lönefordran mot arbetsgivaren"}],
    "comments": ["Rekryterad via jobbannons"],
}


class PartnerFlowTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.TemporaryDirectory(prefix="trygg-python-")
        cls.platform = Platform(os.environ["TRYGG_BUILD_DIR"], cls.work.name).start()
        cls.shelter = cls.platform.admit("Skyddat boende Syd", "shelter-admin")
        cls.legal = cls.platform.admit("Juridisk rådgivning", "legal-admin")
        cls.platform.enrol_cli("lina", "legal-admin", cls.legal)
        cls.listing = cls.platform.publish("legal-admin", {
            "category": "legal-advice", "regions": ["SE-M"], "languages": ["ro", "sv"], "response_time_hours": 48})
        cls.key_store = os.path.join(cls.work.name, "app", "device.keystore")

    @classmethod
    def tearDownClass(cls):
        cls.platform.stop()
        cls.work.cleanup()

    def open(self, passphrase=None, **kwargs):
        p = self.platform
        return trygg.Session.open(self.key_store, passphrase or bytearray(b"python passphrase"), p.address,
                                  p.root_key, **kwargs)

    def test_refer_from_python_accept_from_cpp_read_from_python(self):
        self.assertEqual(trygg.ABI_VERSION, 1)
        self.assertTrue(trygg.library_version().startswith("0."))

        # The enrolment ceremony, the device's half in Python.
        passphrase = bytearray(b"python passphrase")
        device = trygg.device_init(self.key_store, passphrase, self.shelter)
        with self.open(login=False) as fresh:
            ticket = fresh.enrol_request("caseworker", "Python app")
        self.assertEqual(ticket["safety_number"], device["safety_number"])
        self.platform.approve("shelter-admin", ticket["enrolment_id"], ticket["safety_number"])
        with self.open(passphrase, keep_passphrase=True) as session:
            self.assertEqual(session.activate(), {"added": 1})
        trygg.wipe(passphrase)
        self.assertEqual(passphrase, bytearray(len(passphrase)))

        session = self.open()
        try:
            case_id = session.case_create(RECORD)["case_id"]
            self.assertEqual(session.case_read(case_id)["latest"]["person"]["first_name"], "Ioana")
            consent = session.consent_record(case_id, ["legal-advice"], time.time() * 1000 + 30 * 86400e3,
                                             "Muntligt samtycke med tolk", to_org=self.legal)["consent_id"]
            found = session.directory_search(category="legal-advice", language="ro")
            self.assertEqual([l["listing_id"] for l in found["listings"]], [self.listing])

            referral = session.refer(case_id, self.listing, ["needs"], note="Ring före besök",
                                     consent_id=consent, urgency="urgent")
            referral_id = referral["referral_id"]
            self.assertEqual(referral["state"], "sent")

            # The receiver accepts with the C++ command line.
            self.assertEqual(self.platform.cli("lina", "referral", "accept", referral_id)["state"], "accepted")

            read = session.referral(referral_id)
            self.assertEqual(read["state"], "accepted")
            self.assertEqual(read["to_org"], self.legal)
            self.assertEqual([t["to"] for t in read["transitions"]], ["accepted"])
            self.assertEqual(read["packet"]["shared"]["needs"][0]["details"], "Lönefordran mot arbetsgivaren")
            self.assertNotIn("person", read["packet"]["shared"])
            self.assertEqual(session.outbox(state="accepted")["referrals"][0]["referral_id"], referral_id)

            # Watching: the receiver completes once the watch is open.
            events = []

            def on_notice(notice):
                events.append(notice)
                if notice["event"] == "open":
                    self.platform.cli("lina", "referral", "complete", referral_id, "--outcome", "service-provided")
                    return True
                return not (notice["referral_id"] == referral_id and notice["state"] == "completed")

            session.watch(on_notice, timeout_ms=60000)
            self.assertEqual(events[0], {"event": "open"})
            self.assertEqual(events[-1]["state"], "completed")
            self.assertEqual(session.referral(referral_id)["outcome"], "service-provided")

            # One session from several threads: libtrygg serialises the calls.
            results = []
            threads = [threading.Thread(target=lambda: results.append(len(session.outbox()["referrals"])))
                       for _ in range(4)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            self.assertEqual(results, [1, 1, 1, 1])

            # Refusals: a code, a message, and nothing changed.
            with self.assertRaises(trygg.TryggError) as bad_section:
                session.refer(case_id, self.listing, ["passport"], vital_interests="akut")
            self.assertEqual(bad_section.exception.code_name, "INVALID_ARGUMENT")
            self.assertIn("passport", bad_section.exception.message)
            with self.assertRaises(trygg.TryggError) as bad_id:
                session.referral("not-an-id")
            self.assertEqual(bad_id.exception.code, 3)
            with self.assertRaises(trygg.TryggError) as own:
                session.accept(referral_id)
            self.assertNotEqual(own.exception.code, 0)
            self.assertEqual(len(session.outbox()["referrals"]), 1)
            self.assertEqual(len(session.case_list()), 1)

            # A malformed record is refused without quoting it.
            with self.assertRaises(trygg.TryggError) as malformed:
                session.case_create('{"person": {"first_name": "Ioana Popescu" "second_name": "Secretescu"}}')
            self.assertEqual(malformed.exception.code_name, "INVALID_ARGUMENT")
            self.assertNotIn("Popescu", str(malformed.exception))
            self.assertNotIn("Secretescu", str(malformed.exception))

            # The audit trail: refused while no platform root certifies the
            # server's key, then every write of this device proven in one check.
            with self.assertRaises(trygg.TryggError) as uncertified:
                session.audit_verify()
            self.assertEqual(uncertified.exception.code_name, "FAILED_PRECONDITION")
            self.assertIn("certified by the platform root", uncertified.exception.message)
            self.platform.certify_server("shelter-admin")
            proven = session.audit_verify()
            self.assertGreaterEqual(proven["writes_verified"], 3)  # the case, the consent, the referral
            self.assertEqual(proven["writes_pending"], 0)
            self.assertEqual(proven["previous_tree_size"], 0)
            self.assertEqual(len(proven["root_hash"]), 64)
            again = session.audit_verify()
            self.assertEqual(again["writes_verified"], 0)
            self.assertEqual(again["previous_tree_size"], proven["tree_size"])

            # A watch callback calling into its own session is refused, and
            # the watch ends at once (at the open event, without a timeout).
            with self.assertRaises(trygg.TryggError) as reentry:
                session.watch(lambda notice: session.case_list())
            self.assertEqual(reentry.exception.code_name, "FAILED_PRECONDITION")
            self.assertIn("its own session", reentry.exception.message)
            self.assertEqual(len(session.case_list()), 1)
        finally:
            session.close()
        with self.assertRaises(trygg.TryggError) as closed:
            session.inbox()
        self.assertEqual(closed.exception.code_name, "FAILED_PRECONDITION")

        # Closing a session shared with a thread that watches on it: the
        # watch ends with CANCELLED, no crash, later calls are refused.
        shared = self.open()
        opened = threading.Event()
        watch_error = []

        def watch():
            try:
                shared.watch(lambda notice: opened.set() if notice["event"] == "open" else True)
            except trygg.TryggError as e:
                watch_error.append(e)

        watcher = threading.Thread(target=watch)
        watcher.start()
        opened.wait()
        shared.close()  # cancels the watch and returns once it has
        watcher.join()
        self.assertEqual([e.code_name for e in watch_error], ["CANCELLED"])
        with self.assertRaises(trygg.TryggError) as after:
            shared.case_list()
        self.assertEqual(after.exception.code_name, "FAILED_PRECONDITION")
        shared.close()  # a second close does nothing
        with self.assertRaises(trygg.TryggError) as wrong:
            self.open(bytearray(b"not the passphrase"))
        self.assertEqual(wrong.exception.reason, "wrong-passphrase")
        with self.assertRaises(trygg.TryggError) as again:
            trygg.device_init(self.key_store, bytearray(b"x"), self.shelter)
        self.assertEqual(again.exception.code_name, "ALREADY_EXISTS")


if __name__ == "__main__":
    unittest.main()
