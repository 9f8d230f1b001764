// SPDX-License-Identifier: Apache-2.0

// Reading and editing a test server's SQLite file behind its back, as a
// malicious operator or a database thief would. Each call opens its own
// connection (with a busy timeout, since the server holds the file open) and
// fails the current test on any SQLite error, naming the statement.
#ifndef TRYGG_TESTS_TESTING_DB_EDIT_H_
#define TRYGG_TESTS_TESTING_DB_EDIT_H_

#include <cstdint>
#include <string>
#include <vector>

namespace trygg::testing {

// Runs `sql` (any number of statements).
void Exec(const std::string& db_path, const std::string& sql);
// The first column of the first row of `sql`, as an integer.
int64_t QueryInt(const std::string& db_path, const std::string& sql);
// Every row of `sql`, each column hex-encoded (NULL as "NULL"), one line a
// row: for checking that a refused attack changed nothing.
std::string Snapshot(const std::string& db_path, const std::string& sql);
// The first column of every row of `sql`, as bytes.
std::vector<std::vector<uint8_t>> QueryBlobs(const std::string& db_path, const std::string& sql);
// An SQL expression for the BLOB `column` with the byte at `offset` (0-based)
// changed. (`||` makes text, which a STRICT BLOB column refuses: hence a cast.)
std::string FlippedByte(const std::string& column, int offset);

}  // namespace trygg::testing

#endif  // TRYGG_TESTS_TESTING_DB_EDIT_H_
