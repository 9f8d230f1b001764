// SPDX-License-Identifier: Apache-2.0

// Drives `trygg-admin` and `trygg` as their users would: the platform root
// admits an organisation, its first admin creates the organisation key, a
// second device enrols with the fingerprint ceremony and is activated, then
// revoked. Each tool runs as a child process with its own HOME, the
// passphrase in TRYGG_PASSPHRASE and the tests-only fast KDF.
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "testing/temp_dir.h"
#include "testing/tryggd_process.h"

namespace trygg::testing {
namespace {

struct Run {
  int code = -1;
  std::string out;
  std::string err;
  nlohmann::json Json() const { return nlohmann::json::parse(out); }
};

std::string BuildDir() { return std::getenv("TRYGG_BUILD_DIR"); }
std::string TryggPath() { return BuildDir() + "/tools/trygg/trygg"; }
std::string AdminPath() { return BuildDir() + "/tools/trygg-admin/trygg-admin"; }
std::string AuditPath() { return BuildDir() + "/tools/trygg-audit/trygg-audit"; }

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Runs `program args...` with HOME=`home` and the given passphrase, in a new
// session (no controlling terminal, so nothing can prompt), stdin /dev/null.
// `extra_env` adds NAME=VALUE entries (e.g. TZ); a non-empty `cwd` is the
// working directory, else the test's own.
Run Spawn(const std::string& program, const std::vector<std::string>& args, const std::string& home,
          const std::string& passphrase = "correct horse", const std::vector<std::string>& extra_env = {},
          const std::string& cwd = "") {
  std::vector<std::string> env = {"HOME=" + home, "TRYGG_INSECURE_FAST_KDF=1", "PATH=/usr/bin:/bin"};
  if (!passphrase.empty()) env.push_back("TRYGG_PASSPHRASE=" + passphrase);
  env.insert(env.end(), extra_env.begin(), extra_env.end());
  std::vector<std::string> argv_strings = {program};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& s : argv_strings) argv.push_back(s.data());
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (std::string& s : env) envp.push_back(s.data());
  envp.push_back(nullptr);

  const std::string out_path = home + "/.stdout";
  const std::string err_path = home + "/.stderr";
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (!cwd.empty()) posix_spawn_file_actions_addchdir_np(&actions, cwd.c_str());
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID);
  pid_t pid = -1;
  Run run;
  if (posix_spawn(&pid, program.c_str(), &actions, &attr, argv.data(), envp.data()) == 0) {
    int status = 0;
    waitpid(pid, &status, 0);
    run.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  run.out = Slurp(out_path);
  run.err = Slurp(err_path);
  return run;
}

// A person at one device: their own HOME, so their own key store and config.
class Person {
 public:
  explicit Person(const TempDir& base, const std::string& name) : home_(base.file(name)) {
    std::filesystem::create_directories(home_);
  }
  Run Trygg(std::vector<std::string> args, const std::string& passphrase = "correct horse") const {
    return Spawn(TryggPath(), args, home_, passphrase);
  }
  Run TryggInZone(const std::string& tz, std::vector<std::string> args) const {
    return Spawn(TryggPath(), args, home_, "correct horse", {"TZ=" + tz});
  }
  const std::string& home() const { return home_; }

 private:
  std::string home_;
};

#define REQUIRE_OK(run)                                         \
  do {                                                          \
    const Run& r_ = (run);                                      \
    INFO("stdout: " << r_.out << "\nstderr: " << r_.err);       \
    REQUIRE(r_.code == 0);                                      \
  } while (false)

TEST_CASE("the enrolment ceremony, activation and revocation through the CLI") {
  TempDir dir;
  const std::string root_store = dir.file("root.keystore");
  const std::string admin_home = dir.file("root-holder");
  std::filesystem::create_directories(admin_home);
  auto admin_tool = [&](std::vector<std::string> args, const std::string& passphrase = "root pass") {
    args.insert(args.begin(), {"--keystore", root_store});
    return Spawn(AdminPath(), args, admin_home, passphrase);
  };

  // The platform root, offline.
  Run init = admin_tool({"init", "--json"});
  REQUIRE_OK(init);
  const std::string root_key = init.Json()["public_key"];
  REQUIRE(root_key.size() == 64);
  Run show = admin_tool({"show"});
  REQUIRE_OK(show);
  CHECK(show.out.find(root_key) != std::string::npos);
  CHECK(show.out.find("safety number") != std::string::npos);

  Run wrong = admin_tool({"show"}, "not the root pass");
  CHECK(wrong.code == 1);
  CHECK(wrong.err == "trygg-admin: error: wrong passphrase for the key store\n");

  TempDir data;
  TryggdProcess server({"--listen", "127.0.0.1:0", "--data-dir", data.path(), "--platform-root-key", root_key});
  REQUIRE(server.ok());
  const std::string addr = server.address();

  // First admin: device keys, then the root certifies the server and admits the organisation.
  Person anna(dir, "anna");
  Run info = anna.Trygg({"--server", addr, "--root-key", root_key, "server-info", "--json"});
  REQUIRE_OK(info);
  CHECK(info.Json()["certificate_verified"] == false);
  REQUIRE_OK(admin_tool({"certify-server", "--server-key", info.Json()["public_key"], "--out",
                         dir.file("server.cert.json")}));
  REQUIRE_OK(
      anna.Trygg({"--server", addr, "--root-key", root_key, "upload-certificate", dir.file("server.cert.json")}));

  Run anna_init =
      anna.Trygg({"device", "init", "--admin-of-new-org", "--server", addr, "--root-key", root_key, "--json"});
  REQUIRE_OK(anna_init);
  const nlohmann::json a = anna_init.Json();
  const std::string org_id = a["org_id"];
  // The line it prints for the root holder runs as printed: it names the root
  // key store and a certificate file of this organisation's own.
  const std::string org_cert = "org-" + org_id.substr(0, 8) + ".cert.json";
  const std::string admit_line = a["admit_org"];
  CHECK(admit_line.starts_with("trygg-admin admit-org --keystore root.keystore --name NAME --org-id " + org_id));
  CHECK(admit_line.ends_with(" --out " + org_cert));
  REQUIRE_OK(admin_tool({"admit-org", "--name", "Safe Harbour", "--org-id", org_id, "--admin-device-id",
                         a["device_id"], "--admin-sign-key", a["sign_key"], "--admin-box-key", a["box_key"],
                         "--out", dir.file(org_cert)}));
  const nlohmann::json org_file = nlohmann::json::parse(Slurp(dir.file(org_cert)));
  CHECK(org_file["kind"] == "organisation");
  CHECK(org_file.contains("bytes"));
  CHECK(org_file.contains("signature"));

  // From here on, the server and root come from anna's config file.
  REQUIRE_OK(anna.Trygg({"upload-certificate", dir.file(org_cert)}));
  Run init_key = anna.Trygg({"org", "init-key", "--json"});
  REQUIRE_OK(init_key);
  CHECK(init_key.Json()["generation"] == 1);
  CHECK(anna.Trygg({"org", "init-key"}).code == 1);  // only once

  // A second device asks to join and shows its safety number.
  Person ben(dir, "ben");
  REQUIRE_OK(ben.Trygg({"device", "init", "--org", org_id, "--server", addr, "--root-key", root_key, "--label",
                        "Ben's laptop"}));
  Run request = ben.Trygg({"enrol", "request", "--json"});
  REQUIRE_OK(request);
  const std::string enrolment_id = request.Json()["enrolment_id"];
  const std::string ben_device = request.Json()["device_id"];
  const std::string ben_number = request.Json()["safety_number"];

  Run pending = anna.Trygg({"enrol", "list", "--json"});
  REQUIRE_OK(pending);
  REQUIRE(pending.Json()["enrolments"].size() == 1);
  CHECK(pending.Json()["enrolments"][0]["safety_number"] == ben_number);
  CHECK(pending.Json()["enrolments"][0]["label"] == "Ben's laptop");

  // Not activated before approval.
  Run early = ben.Trygg({"device", "activate"});
  CHECK(early.code == 1);
  CHECK(early.err.find("authentication failed") != std::string::npos);

  // The admin must confirm the number: none, a wrong one, then the right one.
  Run unconfirmed = anna.Trygg({"enrol", "approve", enrolment_id});
  CHECK(unconfirmed.code == 1);
  CHECK(unconfirmed.err.find("--fingerprint") != std::string::npos);
  std::string wrong_number = ben_number;
  wrong_number[0] = wrong_number[0] == '1' ? '2' : '1';
  Run mismatch = anna.Trygg({"enrol", "approve", enrolment_id, "--fingerprint", wrong_number});
  CHECK(mismatch.code == 1);
  CHECK(mismatch.err.find("does not match") != std::string::npos);
  REQUIRE_OK(anna.Trygg({"enrol", "approve", enrolment_id, "--fingerprint", ben_number}));

  Run activate = ben.Trygg({"device", "activate", "--json"});
  REQUIRE_OK(activate);
  CHECK(activate.Json()["generations"] == nlohmann::json::array({1}));
  Run ben_status = ben.Trygg({"status", "--json"});
  REQUIRE_OK(ben_status);
  CHECK(ben_status.Json()["session"]["role"] == "caseworker");
  CHECK(ben_status.Json()["server"]["certificate_verified"] == true);
  CHECK(ben_status.Json()["org_log"]["generation"] == 1);

  Run devices = anna.Trygg({"device", "list", "--json"});
  REQUIRE_OK(devices);
  REQUIRE(devices.Json()["devices"].size() == 2);
  Run ben_fp = anna.Trygg({"fingerprint", "--device", ben_device, "--json"});
  REQUIRE_OK(ben_fp);
  CHECK(ben_fp.Json()["safety_number"] == ben_number);

  // A case ben could read, before he leaves.
  {
    std::ofstream record(anna.home() + "/case.json");
    record << R"({"person": {"first_name": "Maria"}})";
  }
  Run opened = anna.Trygg({"case", "create", "--file", anna.home() + "/case.json", "--json"});
  REQUIRE_OK(opened);
  const std::string case_id = opened.Json()["case_id"];

  // Revocation: the organisation key moves on, the organisation's cases move
  // to new keys, and the device is refused.
  Run revoke = anna.Trygg({"device", "revoke", ben_device, "--json"});
  REQUIRE_OK(revoke);
  CHECK(revoke.Json()["generation"] == 2);
  CHECK(revoke.Json()["cases_checked"] == 1);
  CHECK(revoke.Json()["cases_rekeyed"] == 1);
  // Running the re-key again (as after an interruption) finds nothing left.
  Run rekey = anna.Trygg({"org", "rekey", "--json"});
  REQUIRE_OK(rekey);
  CHECK(rekey.Json()["cases_rekeyed"] == 0);
  Run shown = anna.Trygg({"case", "show", case_id, "--json"});
  REQUIRE_OK(shown);
  Run refused = ben.Trygg({"status"});
  CHECK(refused.code == 1);
  CHECK(refused.err.rfind("trygg: error: authentication failed", 0) == 0);
  Run refused_json = ben.Trygg({"status", "--json"});
  CHECK(refused_json.code == 1);
  CHECK(refused_json.Json()["code"] == "UNAUTHENTICATED");

  Run anna_status = anna.Trygg({"status", "--json"});
  REQUIRE_OK(anna_status);
  CHECK(anna_status.Json()["generations_held"] == nlohmann::json::array({1, 2}));
  Run after = anna.Trygg({"device", "list", "--json"});
  REQUIRE_OK(after);
  // Held in a variable: a range-for over a temporary's member would dangle.
  const nlohmann::json listed = after.Json()["devices"];
  REQUIRE(listed.size() == 2);
  for (const auto& d : listed) {
    CHECK(d["revoked"] == (d["device_id"] == ben_device));
  }

  // A wrong passphrase is one clear line and exit 1.
  Run bad = anna.Trygg({"login"}, "wrong");
  CHECK(bad.code == 1);
  CHECK(bad.err == "trygg: error: wrong passphrase for the key store\n");
  REQUIRE_OK(anna.Trygg({"login"}));
}

TEST_CASE("every command answers --help, and usage errors exit 2") {
  TempDir dir;
  const std::vector<std::vector<std::string>> trygg_commands = {
      {},
      {"device"},
      {"device", "init"},
      {"device", "activate"},
      {"device", "revoke"},
      {"device", "role"},
      {"device", "list"},
      {"upload-certificate"},
      {"enrol"},
      {"enrol", "request"},
      {"enrol", "list"},
      {"enrol", "approve"},
      {"keys"},
      {"keys", "sync"},
      {"org"},
      {"org", "init-key"},
      {"org", "rotate"},
      {"fingerprint"},
      {"status"},
      {"login"},
      {"server-info"},
      {"audit"},
      {"audit", "verify"},
      {"audit", "forget"},
      {"directory", "search"},
      {"case", "create"},
      {"consent", "record"},
      {"refer"},
      {"referral", "decline"},
  };
  for (std::vector<std::string> args : trygg_commands) {
    args.push_back("--help");
    Run run = Spawn(TryggPath(), args, dir.path());
    INFO("trygg " << args.front());
    CHECK(run.code == 0);
    CHECK(run.out.find("Usage:") != std::string::npos);
  }
  const std::vector<std::string> admin_commands = {"init", "show", "admit-org", "certify-server",
                                                   "certify-coordinator"};
  for (const std::string& command : admin_commands) {
    Run run = Spawn(AdminPath(), {command, "--help"}, dir.path());
    INFO("trygg-admin " << command);
    CHECK(run.code == 0);
    CHECK(run.out.find("Usage:") != std::string::npos);
  }
  Run unknown = Spawn(TryggPath(), {"no-such-command"}, dir.path());
  CHECK(unknown.code == 2);
  CHECK(unknown.err == "unknown command 'no-such-command'; see trygg --help\n");
  Run unknown_json = Spawn(TryggPath(), {"--json", "nonsense"}, dir.path());
  CHECK(unknown_json.code == 2);
  CHECK(unknown_json.err == "unknown command 'nonsense'; see trygg --help\n");
  Run unknown_sub = Spawn(TryggPath(), {"device", "nonsense"}, dir.path());
  CHECK(unknown_sub.code == 2);
  CHECK(unknown_sub.err == "unknown command 'nonsense'; see trygg device --help\n");
  CHECK(Spawn(TryggPath(), {"device", "revoke"}, dir.path()).code == 2);
  CHECK(Spawn(TryggPath(), {"enrol", "request", "--role", "boss"}, dir.path()).code == 2);
  CHECK(Spawn(AdminPath(), {"admit-org", "--keystore", "x"}, dir.path()).code == 2);

  // device init refuses, before writing anything, what could never enrol.
  const std::string keystore = dir.file(".local/share/trygg/device.keystore");
  Run no_org = Spawn(TryggPath(), {"device", "init", "--root-key", std::string(64, 'a')}, dir.path());
  CHECK(no_org.code == 2);
  CHECK(no_org.err.find("--org ORG_ID is required") != std::string::npos);
  Run no_root = Spawn(TryggPath(), {"device", "init", "--org", std::string(32, 'b')}, dir.path());
  CHECK(no_root.code == 2);
  CHECK(no_root.err.find("--root-key HEX is required") != std::string::npos);
  CHECK(!std::filesystem::exists(keystore));
  CHECK(!std::filesystem::exists(dir.file(".config/trygg/config.json")));
}

// Two organisations with one admin device each (an admin may also do
// casework), for the output a person reads.
TEST_CASE("output a person reads: names, times in the user's zone, case files in documented forms") {
  TempDir dir;
  const std::string root_store = dir.file("root.keystore");
  const std::string admin_home = dir.file("root-holder");
  std::filesystem::create_directories(admin_home);
  auto admin_tool = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"--keystore", root_store});
    return Spawn(AdminPath(), args, admin_home, "root pass");
  };
  Run init = admin_tool({"init", "--json"});
  REQUIRE_OK(init);
  const std::string root_key = init.Json()["public_key"];
  TempDir data;
  TryggdProcess server({"--listen", "127.0.0.1:0", "--data-dir", data.path(), "--platform-root-key", root_key});
  REQUIRE(server.ok());
  const std::string addr = server.address();

  Person anna(dir, "anna");  // Safe Harbour: refers
  Person sara(dir, "sara");  // Shelter North: lists a shelter, receives
  Run info = anna.Trygg({"--server", addr, "--root-key", root_key, "server-info", "--json"});
  REQUIRE_OK(info);
  REQUIRE_OK(admin_tool({"certify-server", "--server-key", info.Json()["public_key"], "--out", dir.file("server.json")}));
  REQUIRE_OK(anna.Trygg({"--server", addr, "--root-key", root_key, "upload-certificate", dir.file("server.json")}));
  std::string anna_device;
  for (auto [person, name] : {std::pair{&anna, "Safe Harbour"}, std::pair{&sara, "Shelter North"}}) {
    Run device = person->Trygg(
        {"device", "init", "--admin-of-new-org", "--server", addr, "--root-key", root_key, "--json"});
    REQUIRE_OK(device);
    const nlohmann::json d = device.Json();
    if (person == &anna) anna_device = d["device_id"];
    const std::string cert = dir.file(std::string(name) + ".json");
    REQUIRE_OK(admin_tool({"admit-org", "--name", name, "--org-id", d["org_id"], "--admin-device-id", d["device_id"],
                           "--admin-sign-key", d["sign_key"], "--admin-box-key", d["box_key"], "--out", cert}));
    REQUIRE_OK(person->Trygg({"upload-certificate", cert}));
    REQUIRE_OK(person->Trygg({"org", "init-key"}));
  }

  // The directory names the organisation, its target groups and forms of exploitation.
  {
    std::ofstream listing(sara.home() + "/shelter.json");
    listing << R"({"category": "shelter", "regions": ["SE-M"], "languages": ["ro", "sv"],
                   "target_groups": ["women", "children"], "exploitation_forms": ["labour", "sexual"],
                   "capacity_free": 2, "response_time_hours": 24})";
  }
  Run published = sara.Trygg({"directory", "publish", "--file", sara.home() + "/shelter.json", "--json"});
  REQUIRE_OK(published);
  const std::string listing_id = published.Json()["listing_id"];
  Run search = anna.Trygg({"directory", "search", "--exploitation", "labour"});
  REQUIRE_OK(search);
  CHECK(search.out.find(listing_id) != std::string::npos);
  CHECK(search.out.find("by Shelter North (") != std::string::npos);
  CHECK(search.out.find("target groups: women, children") != std::string::npos);
  CHECK(search.out.find("forms of exploitation: sexual, labour") != std::string::npos);
  CHECK(anna.Trygg({"directory", "search", "--exploitation", "begging"}).out == "no listings match\n");
  Run search_json = anna.Trygg({"directory", "search", "--exploitation", "labour", "--json"});
  REQUIRE_OK(search_json);
  CHECK(search_json.Json()["listings"][0]["org_name"] == "Shelter North");
  // --json keeps RFC 3339 in UTC.
  CHECK(std::regex_match(search_json.Json()["listings"][0]["capacity_updated_at"].get<std::string>(),
                         std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)")));
  Run show = anna.Trygg({"directory", "show", listing_id});
  REQUIRE_OK(show);
  CHECK(show.out.find("by Shelter North (") != std::string::npos);
  CHECK(show.out.find("target groups: women, children") != std::string::npos);
  // Times for a person: Europe/Stockholm unless TZ says otherwise, with the zone named.
  CHECK(std::regex_search(show.out, std::regex(R"(free as of \d{4}-\d\d-\d\d \d\d:\d\d CES?T)")));
  Run show_utc = anna.TryggInZone("UTC", {"directory", "show", listing_id});
  REQUIRE_OK(show_utc);
  CHECK(std::regex_search(show_utc.out, std::regex(R"(free as of \d{4}-\d\d-\d\d \d\d:\d\d UTC)")));
  Run show_london = anna.TryggInZone("Europe/London", {"directory", "show", listing_id});
  REQUIRE_OK(show_london);
  CHECK(std::regex_search(show_london.out, std::regex(R"(free as of \d{4}-\d\d-\d\d \d\d:\d\d (GMT|BST))")));

  // Case files: documented forms are checked, the field is named, the value is not repeated.
  auto case_file = [&](const std::string& name, const std::string& json) {
    std::ofstream(anna.home() + "/" + name) << json;
    return anna.home() + "/" + name;
  };
  Run bad_date = anna.Trygg(
      {"case", "create", "--file", case_file("date.json", R"({"person": {"birthdate": "02/04/1999"}})")});
  CHECK(bad_date.code == 1);
  CHECK(bad_date.err.find("person.birthdate must be an ISO 8601 date YYYY-MM-DD") != std::string::npos);
  CHECK(bad_date.err.find("02/04/1999") == std::string::npos);
  Run bad_country = anna.Trygg({"case", "create", "--file",
                                case_file("country.json", R"({"person": {"citizenship": ["RO", "Romania"]}})"),
                                "--json"});
  CHECK(bad_country.code == 1);
  CHECK(bad_country.Json()["code"] == "INVALID_ARGUMENT");
  CHECK(bad_country.err.find("person.citizenship[1] must be an ISO 3166-1 alpha-2 country code") !=
        std::string::npos);
  Run bad_plan = anna.Trygg({"case", "create", "--file",
                             case_file("plan.json", R"({"support_plan": {"planned_end_date": "2027-02-30"}})")});
  CHECK(bad_plan.code == 1);
  CHECK(bad_plan.err.find("support_plan.planned_end_date") != std::string::npos);
  Run bad_service = anna.Trygg(
      {"case", "create", "--file", case_file("service.json", R"({"needs": [{"service": "housing"}]})")});
  CHECK(bad_service.code == 1);

  // Services in kebab-case, as everywhere else; the proto enum name still works.
  Run opened = anna.Trygg(
      {"case", "create", "--file",
       case_file("case.json", R"({"person": {"first_name": "Ioana", "birthdate": "1999-04-02",
                                  "citizenship": ["RO"], "primary_language": "ro", "mobile_phone": "+40700000000"},
                                  "needs": [{"service": "shelter", "urgent": true},
                                            {"service": "SERVICE_CATEGORY_LEGAL_ADVICE"}],
                                  "case_status": "Open", "comments": ["first meeting"]})"),
       "--json"});
  REQUIRE_OK(opened);
  const std::string case_id = opened.Json()["case_id"];
  Run case_json = anna.Trygg({"case", "show", case_id, "--json"});
  REQUIRE_OK(case_json);
  const nlohmann::json needs = case_json.Json()["versions"][0]["content"]["needs"];
  REQUIRE(needs.size() == 2);
  CHECK(needs[0]["service"] == "shelter");
  CHECK(needs[1]["service"] == "legal-advice");
  Run case_text = anna.Trygg({"case", "show", case_id});
  REQUIRE_OK(case_text);
  CHECK(case_text.out.find("\"service\": \"legal-advice\"") != std::string::npos);
  CHECK(case_text.out.find("SERVICE_CATEGORY") == std::string::npos);

  // Consent list names the purpose.
  Run consent = anna.Trygg({"consent", "record", case_id, "--service", "shelter", "--days", "30", "--evidence",
                            "said yes with an interpreter", "--purpose", "coordination-of-support", "--json"});
  REQUIRE_OK(consent);
  const std::string consent_id = consent.Json()["consent_id"];
  Run consents = anna.Trygg({"consent", "list", case_id});
  REQUIRE_OK(consents);
  CHECK(consents.out.find("for coordination-of-support") != std::string::npos);
  CHECK(std::regex_search(consents.out, std::regex(R"(recorded \d{4}-\d\d-\d\d \d\d:\d\d CES?T)")));
  // --expires names the last day: the consent ends at midnight after it in
  // Swedish time (23:00 UTC in winter), not at UTC midnight at its start.
  Run dated = anna.Trygg({"consent", "record", case_id, "--service", "shelter", "--expires", "2030-01-15",
                          "--evidence", "said yes", "--json"});
  REQUIRE_OK(dated);
  CHECK(dated.Json()["expires_at"] == "2030-01-15T23:00:00Z");
  Run bad_expiry = anna.Trygg({"consent", "record", case_id, "--service", "shelter", "--expires", "2030-02-30",
                               "--evidence", "said yes"});
  CHECK(bad_expiry.code == 1);
  CHECK(bad_expiry.err.find("consent expiry must be a date YYYY-MM-DD") != std::string::npos);

  // Referral show says who sent it and when.
  Run referred = anna.Trygg(
      {"refer", case_id, "--listing", listing_id, "--consent", consent_id, "--share", "needs", "--json"});
  REQUIRE_OK(referred);
  const std::string referral_id = referred.Json()["referral_id"];
  Run received = sara.Trygg({"referral", "show", referral_id});
  REQUIRE_OK(received);
  CHECK(received.out.find("from Safe Harbour (") != std::string::npos);
  CHECK(received.out.find(") to Shelter North (") != std::string::npos);
  CHECK(std::regex_search(received.out,
                          std::regex(R"(sent \d{4}-\d\d-\d\d \d\d:\d\d CES?T by device )" + anna_device +
                                     " of Safe Harbour")));
  Run received_json = sara.Trygg({"referral", "show", referral_id, "--json"});
  REQUIRE_OK(received_json);
  CHECK(received_json.Json()["sent_by_device"] == anna_device);
  CHECK(std::regex_match(received_json.Json()["created_at"].get<std::string>(),
                         std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)")));
}

TEST_CASE("trygg refuses to run without a key store or a pinned root") {
  TempDir dir;
  Run no_store = Spawn(TryggPath(), {"--root-key", std::string(64, 'a'), "login"}, dir.path());
  CHECK(no_store.code == 1);
  CHECK(no_store.err.find("no key store") != std::string::npos);
  Run no_root = Spawn(TryggPath(), {"server-info"}, dir.path());
  CHECK(no_root.code == 1);
  CHECK(no_root.err.find("--root-key") != std::string::npos);
}

TEST_CASE("a TLS server: trygg and trygg-audit take --tls-roots, and plaintext gets a hint") {
  TempDir dir;
  const std::string cert = dir.file("cert.pem");
  const std::string cmd = "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 "
                          "-subj /CN=localhost -addext subjectAltName=IP:127.0.0.1 -keyout " +
                          dir.file("key.pem") + " -out " + cert + " 2>/dev/null";
  REQUIRE(std::system(cmd.c_str()) == 0);
  std::filesystem::create_directories(dir.file("data"));
  TryggdProcess server({"--listen", "127.0.0.1:0", "--data-dir", dir.file("data"), "--tls-cert", cert,
                        "--tls-key", dir.file("key.pem")});
  REQUIRE(server.ok());
  const std::string root = std::string(64, 'a');

  Run plain = Spawn(TryggPath(), {"--server", server.address(), "--root-key", root, "server-info"}, dir.path());
  INFO(plain.err);
  CHECK(plain.code == 1);
  CHECK(plain.err.find("if the server listens with TLS, pass --tls-roots PEM") != std::string::npos);

  Run tls = Spawn(TryggPath(), {"--server", server.address(), "--tls-roots", cert, "--root-key", root, "server-info"},
                  dir.path());
  INFO(tls.err);
  CHECK(tls.code == 0);

  // device init remembers a relative --tls-roots (and --keystore) as absolute
  // paths, so later commands work from any directory without the flags.
  Run init = Spawn(TryggPath(),
                   {"--server", server.address(), "--tls-roots", "cert.pem", "--keystore", "device.keystore",
                    "device", "init", "--org", std::string(32, 'b'), "--root-key", root},
                   dir.path(), "correct horse", {}, dir.path());
  INFO(init.err);
  REQUIRE(init.code == 0);
  const nlohmann::json config = nlohmann::json::parse(Slurp(dir.file(".config/trygg/config.json")));
  CHECK(config["tls_roots"] == std::filesystem::canonical(cert).string());
  CHECK(config["keystore"] == std::filesystem::canonical(dir.file("device.keystore")).string());
  Run remembered = Spawn(TryggPath(), {"server-info"}, dir.path());
  INFO(remembered.err);
  CHECK(remembered.code == 0);

  // --tls-roots as in trygg, and --ca-file, its older name: both are options
  // (exit 1 for the missing key store, not 2 for usage).
  for (const char* flag : {"--tls-roots", "--ca-file"}) {
    Run audit = Spawn(AuditPath(), {"verify", "--server", server.address(), flag, cert, "--root-key", root},
                      dir.path());
    INFO(flag << ": " << audit.err);
    CHECK(audit.code == 1);
  }
  CHECK(Spawn(AuditPath(), {"verify", "--no-such-flag", cert}, dir.path()).code == 2);
}

}  // namespace
}  // namespace trygg::testing
