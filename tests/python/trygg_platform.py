# SPDX-License-Identifier: Apache-2.0
"""A throw-away Trygg platform for the SDK's tests and examples.

A platform root (trygg-admin), a tryggd on a free loopback port, member
organisations admitted by the root, their people at their own devices with
the trygg command line (each with a HOME of their own), and the admin's half
of a partner app's enrolment ceremony. Built from one build tree's tools.
The CLI's key stores use the tests-only fast KDF (TRYGG_INSECURE_FAST_KDF):
nothing here is for real keys.
"""

import json
import os
import subprocess
import time

CLI_PASSPHRASE = "cli test passphrase"


class Platform:
    def __init__(self, build_dir, work_dir):
        self.build = os.path.abspath(build_dir)
        self.work = os.path.abspath(work_dir)
        self.tryggd_bin = os.path.join(self.build, "server/daemon/tryggd")
        self.trygg_bin = os.path.join(self.build, "tools/trygg/trygg")
        self.admin_bin = os.path.join(self.build, "tools/trygg-admin/trygg-admin")
        self.server = None
        self.address = None
        self.root_key = None

    def _env(self, home):
        os.makedirs(home, exist_ok=True)
        return {"HOME": home, "XDG_CONFIG_HOME": "", "PATH": "/usr/bin:/bin", "TRYGG_INSECURE_FAST_KDF": "1",
                "TRYGG_PASSPHRASE": CLI_PASSPHRASE, "TZ": "UTC"}

    def _run(self, argv, home):
        done = subprocess.run(argv, env=self._env(home), stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=120, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr.strip()}")
        return done.stdout

    def root(self, *args):
        return self._run([self.admin_bin, "--keystore", os.path.join(self.work, "root.keystore"), *args],
                         os.path.join(self.work, "root-holder"))

    def cli(self, person, *args):
        """`trygg --json ARGS` as `person` at their own device; the JSON result."""
        return json.loads(self._run([self.trygg_bin, "--json", *args], os.path.join(self.work, person)))

    def start(self, deadline_s=30):
        self.root_key = json.loads(self.root("init", "--json"))["public_key"]
        data = os.path.join(self.work, "data")
        os.makedirs(data, mode=0o700)
        out_path = os.path.join(self.work, "tryggd.out")
        with open(out_path, "w") as out, open(os.path.join(self.work, "tryggd.log"), "w") as err:
            self.server = subprocess.Popen([self.tryggd_bin, "--listen", "127.0.0.1:0", "--data-dir", data,
                                            "--platform-root-key", self.root_key], stdout=out, stderr=err,
                                           stdin=subprocess.DEVNULL)
        # Waits for the line tryggd prints once it listens, up to a deadline.
        deadline = time.monotonic() + deadline_s
        while time.monotonic() < deadline and self.server.poll() is None:
            with open(out_path) as out:
                for line in out:
                    if line.startswith("tryggd listening on "):
                        self.address = line[len("tryggd listening on "):].split(";")[0].strip()
                        return self
            time.sleep(0.05)
        raise RuntimeError("tryggd did not start; see " + os.path.join(self.work, "tryggd.log"))

    def stop(self):
        if self.server is not None and self.server.poll() is None:
            self.server.terminate()
            self.server.wait(timeout=30)

    def _connection(self):
        return ["--server", self.address, "--root-key", self.root_key]

    def admit(self, name, admin):
        """A member organisation whose first admin is `admin`; its org id."""
        init = self.cli(admin, "device", "init", "--admin-of-new-org", *self._connection(), "--label", admin)
        cert = os.path.join(self.work, f"org-{init['org_id'][:8]}.cert.json")
        self.root("admit-org", "--name", name, "--org-id", init["org_id"], "--admin-device-id", init["device_id"],
                  "--admin-sign-key", init["sign_key"], "--admin-box-key", init["box_key"], "--out", cert)
        self.cli(admin, "upload-certificate", cert)
        self.cli(admin, "org", "init-key")
        return init["org_id"]

    def certify_server(self, admin):
        """The platform root certifies tryggd's signing key, and `admin`
        uploads the certificate: from then on its audit heads prove something."""
        key = self.cli(admin, "server-info")["public_key"]
        cert = os.path.join(self.work, "server.cert.json")
        self.root("certify-server", "--server-key", key, "--out", cert)
        self.cli(admin, "upload-certificate", cert)

    def approve(self, admin, enrolment_id, safety_number):
        """The admin's half of the ceremony, with the number the device showed."""
        return self.cli(admin, "enrol", "approve", enrolment_id, "--fingerprint", safety_number)

    def enrol_cli(self, person, admin, org_id):
        """A caseworker at the command line, enrolled and activated."""
        self.cli(person, "device", "init", "--org", org_id, *self._connection(), "--label", person)
        request = self.cli(person, "enrol", "request")
        self.approve(admin, request["enrolment_id"], request["safety_number"])
        self.cli(person, "device", "activate")

    def publish(self, admin, listing):
        path = os.path.join(self.work, f"{admin}-listing.json")
        with open(path, "w") as f:
            json.dump(listing, f)
        return self.cli(admin, "directory", "publish", "--file", path)["listing_id"]
