// SPDX-License-Identifier: Apache-2.0

// docs/operator-guide.md against what tryggd accepts, both ways: every flag in
// the guide's flag table is one `tryggd --help` lists and every flag it lists
// is in the guide; the same for `tryggd backup` and `tryggd restore` and the
// guide's section "Backups"; every config key in the table is one the parser
// (server/daemon/config.cc) reads and every key it reads is in the table; the
// guide's example configuration file parses.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "server/daemon/config.h"
#include "testing/tryggd_process.h"

namespace trygg {
namespace {

std::string SourceFile(const std::string& relative) {
  const std::string path = std::string(std::getenv("TRYGG_SOURCE_DIR")) + "/" + relative;
  std::ifstream in(path);
  REQUIRE(in.good());
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::set<std::string> Matches(const std::string& text, const std::regex& pattern, int group = 1) {
  std::set<std::string> found;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), pattern); it != std::sregex_iterator(); ++it) {
    found.insert((*it)[group].str());
  }
  return found;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// The rows of the guide's `| flag | key | default |` table.
std::vector<std::string> FlagTableRows(const std::string& guide) {
  std::vector<std::string> rows;
  bool in_table = false;
  for (const std::string& line : Lines(guide)) {
    if (line.rfind("| flag | key | default |", 0) == 0) {
      in_table = true;
    } else if (in_table && line.rfind("|---", 0) == 0) {
      continue;
    } else if (in_table && line.rfind("| ", 0) == 0) {
      rows.push_back(line);
    } else if (in_table) {
      break;
    }
  }
  return rows;
}

std::string Column(const std::string& row, int index) {
  size_t start = 0;
  for (int i = 0; i <= index; ++i) start = row.find('|', start) + 1;
  return row.substr(start, row.find('|', start) - start);
}

const std::regex kFlag(R"((?:^|[\s,`])(--?[a-z][a-z0-9-]*))");

std::set<std::string> GuideFlags(const std::string& guide) {
  std::set<std::string> flags;
  for (const std::string& row : FlagTableRows(guide)) {
    for (const std::string& flag : Matches(Column(row, 0), kFlag)) flags.insert(flag);
  }
  // Flags shown in prose as `tryggd --flag` (a subcommand's are its own).
  for (const std::string& span : Matches(guide, std::regex("`tryggd (?!backup|restore)([^`]*)`"))) {
    for (const std::string& flag : Matches(span, kFlag)) flags.insert(flag);
  }
  return flags;
}

std::set<std::string> GuideKeys(const std::string& guide) {
  std::set<std::string> keys;
  for (const std::string& row : FlagTableRows(guide)) {
    for (const std::string& key : Matches(Column(row, 1), std::regex("`([a-z_.]+)`"))) keys.insert(key);
  }
  return keys;
}

bool ParserKnows(const std::string& key) {
  const size_t dot = key.find('.');
  const std::string toml = dot == std::string::npos
                               ? key + " = 1\n"
                               : "[" + key.substr(0, dot) + "]\n" + key.substr(dot + 1) + " = 1\n";
  server::ServerConfig config;
  absl::Status status = server::ApplyConfigToml(toml, "drift.toml", config);
  return status.message().find("unknown key") == absl::string_view::npos;
}

// The options a `tryggd ARGS --help` lists, each of its names.
std::set<std::string> HelpFlags(std::vector<std::string> args) {
  args.push_back("--help");
  const testing::ExitResult help = testing::RunTryggd(args);
  REQUIRE(help.exited);
  REQUIRE(help.code == 0);
  std::set<std::string> listed;
  for (const std::string& line : Lines(help.stdout_text)) {
    std::smatch option;
    if (!std::regex_search(line, option, std::regex(R"(^\s+(-[-a-z0-9,]+))"))) continue;
    std::istringstream names(option[1].str());
    for (std::string name; std::getline(names, name, ',');) listed.insert(name);
  }
  return listed;
}

TEST_CASE("every tryggd flag in the operator guide is in tryggd --help, and back", "[docs]") {
  const std::string guide = SourceFile("docs/operator-guide.md");
  const std::set<std::string> listed = HelpFlags({});
  REQUIRE(listed.count("--config") == 1);  // the help's format is understood
  const std::set<std::string> documented = GuideFlags(guide);
  for (const std::string& flag : documented) {
    INFO("in docs/operator-guide.md but not in tryggd --help: " << flag);
    CHECK(listed.count(flag) == 1);
  }
  for (const std::string& flag : listed) {
    INFO("in tryggd --help but not in docs/operator-guide.md's flag table: " << flag);
    CHECK(documented.count(flag) == 1);
  }
}

TEST_CASE("every flag of tryggd backup and restore in the operator guide is in its --help, and back", "[docs]") {
  const std::string guide = SourceFile("docs/operator-guide.md");
  const size_t start = guide.find("## Backups\n");
  REQUIRE(start != std::string::npos);
  const std::string section = guide.substr(start, guide.find("\n## ", start + 1) - start);
  for (const std::string subcommand : {"backup", "restore"}) {
    INFO("tryggd " << subcommand);
    std::set<std::string> listed = HelpFlags({subcommand});
    REQUIRE(listed.count("--data-dir") == 1);  // the help's format is understood
    // The commands the guide runs, with their continuation lines.
    std::string commands;
    bool continued = false;
    for (const std::string& line : Lines(section)) {
      if (continued || line.rfind("tryggd " + subcommand + " ", 0) == 0) commands += line + "\n";
      continued = (continued || line.rfind("tryggd " + subcommand + " ", 0) == 0) && !line.empty() &&
                  line.back() == '\\';
    }
    REQUIRE(commands.find("--data-dir") != std::string::npos);  // the guide runs it
    for (const std::string& flag : Matches(commands, kFlag)) {
      INFO("in the guide's `tryggd " << subcommand << "` but not in its --help: " << flag);
      CHECK(listed.count(flag) == 1);
    }
    const std::set<std::string> mentioned = Matches(section, kFlag);
    for (const std::string& flag : listed) {
      if (flag == "-h" || flag == "--help" || flag.rfind("--", 0) != 0) continue;
      INFO("in tryggd " << subcommand << " --help but not in the guide's section \"Backups\": " << flag);
      CHECK(mentioned.count(flag) == 1);
    }
  }
}

TEST_CASE("every config key in the operator guide is one the parser reads, and back", "[docs]") {
  const std::string guide = SourceFile("docs/operator-guide.md");
  const std::set<std::string> documented = GuideKeys(guide);
  REQUIRE(documented.count("listen") == 1);  // the table's format is understood
  CHECK_FALSE(ParserKnows("no_such_key"));
  CHECK_FALSE(ParserKnows("tls.no_such_key"));

  std::set<std::string> parsed;
  // The keys config.cc compares against, and those of its kLimitKeys table;
  // a table's own name is not a key.
  const std::string config_cc = SourceFile("server/daemon/config.cc");
  std::set<std::string> compared = Matches(config_cc, std::regex(R"re((?:\bk|\bname) == "([a-z_.]+)")re"));
  compared.merge(Matches(config_cc, std::regex(R"re(\{"(limits\.[a-z_]+)",)re")));
  for (const std::string& key : compared) {
    bool is_table = false;
    for (const std::string& other : compared) is_table |= other.rfind(key + ".", 0) == 0;
    if (!is_table) parsed.insert(key);
  }
  REQUIRE(parsed.count("listen") == 1);

  for (const std::string& key : documented) {
    INFO("in docs/operator-guide.md but not read by the config parser: " << key);
    CHECK(ParserKnows(key));
    CHECK(parsed.count(key) == 1);
  }
  for (const std::string& key : parsed) {
    INFO("read by the config parser but not in docs/operator-guide.md's flag table: " << key);
    CHECK(ParserKnows(key));
    CHECK(documented.count(key) == 1);
  }
}

TEST_CASE("the operator guide's example configuration file parses", "[docs]") {
  const std::string guide = SourceFile("docs/operator-guide.md");
  const size_t start = guide.find("```toml\n");
  REQUIRE(start != std::string::npos);
  const size_t body = start + std::string("```toml\n").size();
  const std::string example = guide.substr(body, guide.find("```", body) - body);
  server::ServerConfig config;
  absl::Status status = server::ApplyConfigToml(example, "operator-guide.md", config);
  INFO(status.ToString());
  CHECK(status.ok());
  CHECK(config.listen_address == "0.0.0.0:443");
}

}  // namespace
}  // namespace trygg
