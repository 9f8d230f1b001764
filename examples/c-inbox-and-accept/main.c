/* SPDX-License-Identifier: Apache-2.0 */

/* A partner app in C over libtrygg_c (trygg/trygg.h): a receiving
 * organisation's caseworker lists the referrals waiting in the inbox, reads
 * each one (its packet holds only what the sender chose to share) and
 * accepts it.
 *
 *   TRYGG_APP_PASSPHRASE=... inbox-and-accept KEY_STORE HOST:PORT ROOT_KEY
 *
 * The device must be enrolled and activated. A real app asks the person for
 * the passphrase; the variable is for demos. Prints the id and state of
 * each accepted referral, {"referral_id": ..., "state": ...} one per line,
 * and nothing of its packet (survivor data stays out of terminals and
 * logs); exits 0 when at least one was accepted, 2 when the inbox was
 * empty, 1 on an error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trygg/trygg.h"

/* The value of "key":"..." in a flat JSON object; enough for ids here. A
 * real app uses its JSON library. */
static int field(const char* json, const char* key, char* out, size_t size) {
  char pattern[64];
  const char* start;
  const char* end;
  snprintf(pattern, sizeof pattern, "\"%s\":\"", key);
  start = strstr(json, pattern);
  if (start == NULL) return 0;
  start += strlen(pattern);
  end = strchr(start, '"');
  if (end == NULL || (size_t)(end - start) >= size) return 0;
  memcpy(out, start, (size_t)(end - start));
  out[end - start] = '\0';
  return 1;
}

static int fail(const char* step, trygg_code code) {
  fprintf(stderr, "inbox-and-accept: %s: %s (code %d%s%s)\n", step, trygg_last_error(), (int)code,
          *trygg_last_error_reason() ? ", " : "", trygg_last_error_reason());
  return 1;
}

int main(int argc, char** argv) {
  const char* passphrase = getenv("TRYGG_APP_PASSPHRASE");
  trygg_session* session = NULL;
  char* inbox = NULL;
  const char* cursor;
  int accepted = 0;
  trygg_code code;

  if (argc == 2 && strcmp(argv[1], "--help") == 0) {
    printf("usage: inbox-and-accept KEY_STORE HOST:PORT ROOT_KEY (passphrase in TRYGG_APP_PASSPHRASE)\n");
    return 0;
  }
  if (argc != 4 || passphrase == NULL) {
    fprintf(stderr, "usage: inbox-and-accept KEY_STORE HOST:PORT ROOT_KEY (passphrase in TRYGG_APP_PASSPHRASE)\n");
    return 1;
  }
  if (trygg_abi_version() != TRYGG_ABI_VERSION) {
    fprintf(stderr, "inbox-and-accept: built for C ABI %d, the library has %d\n", TRYGG_ABI_VERSION,
            trygg_abi_version());
    return 1;
  }
  code = trygg_session_open(argv[1], passphrase, strlen(passphrase), argv[2], argv[3], NULL, TRYGG_OPEN_LOGIN,
                            &session);
  if (code != TRYGG_OK) return fail("opening the device", code);

  code = trygg_inbox(session, "sent", NULL, &inbox);
  if (code != TRYGG_OK) {
    fail("listing the inbox", code); /* before closing: trygg_last_error is of the last call */
    trygg_session_close(session);
    return 1;
  }
  /* Each referral in the list starts with its "referral_id". */
  for (cursor = strstr(inbox, "\"referral_id\""); cursor != NULL; cursor = strstr(cursor + 1, "\"referral_id\"")) {
    char id[33];
    char state[32];
    char* referral = NULL;
    char* answer = NULL;
    if (!field(cursor, "referral_id", id, sizeof id)) continue;
    code = trygg_referral_get(session, id, &referral);
    if (code != TRYGG_OK) {
      fail("reading a referral", code);
      continue;
    }
    trygg_free(referral); /* a real app shows the packet to the caseworker first */
    code = trygg_referral_accept(session, id, &answer);
    if (code != TRYGG_OK) {
      fail("accepting", code);
      continue;
    }
    if (!field(answer, "state", state, sizeof state)) strcpy(state, "unknown");
    printf("{\"referral_id\":\"%s\",\"state\":\"%s\"}\n", id, state);
    trygg_free(answer);
    ++accepted;
  }
  trygg_free(inbox);
  trygg_session_close(session);
  return accepted > 0 ? 0 : 2;
}
