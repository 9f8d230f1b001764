# SPDX-License-Identifier: Apache-2.0
"""Trygg for Python: the partner flows of libtrygg through its C interface.

A thin ctypes binding of libtrygg_c (trygg/trygg.h), standard library only.
Everything is sealed, signed and verified inside libtrygg; this module turns
Python values into the C interface's text and its JSON results into dicts.
docs/partner-guide.md walks through each flow.

    import trygg
    with trygg.Session.open("device.keystore", passphrase, server="127.0.0.1:50051",
                            root_key="ab12...") as session:
        case = session.case_create({"person": {"first_name": "Ioana"}})
        ...

Errors: every failure raises TryggError with .code (a trygg_code number, the
gRPC status code), .code_name ("INVALID_ARGUMENT", ...), .reason (a
verification failure such as "wrong-passphrase", "rollback", "fork", or "")
and a message a person can act on.

Passphrases: pass a bytearray, which crosses to libtrygg without a copy, and
wipe it afterwards with trygg.wipe(passphrase). A str or bytes is accepted
too, but Python keeps immutable copies of it that cannot be wiped.

Threads: a Session may be shared between threads; libtrygg runs one call of
a session at a time (the GIL is released during each call). watch() holds
its session until it returns, so watch on a session of its own. close() may
be called while other threads use the session: it cancels a running watch
(which raises TryggError CANCELLED) and waits for the calls of other threads
to return; every later call raises TryggError FAILED_PRECONDITION. A
watch callback that calls into its own session gets TryggError
FAILED_PRECONDITION (it would wait for itself), which ends the watch.

The library is found in $TRYGG_LIBRARY when set, else as libtrygg_c.so.1 on
the loader's path (the SDK's lib directory, LD_LIBRARY_PATH, ld.so.conf).
"""

import ctypes
import ctypes.util
import json
import os
import threading

__all__ = ["ABI_VERSION", "TryggError", "Session", "device_init", "wipe", "library_version"]

# The C interface this module was written for (TRYGG_ABI_VERSION).
ABI_VERSION = 1

OPEN_LOGIN = 1
OPEN_KEEP_PASSPHRASE = 2

_CODE_NAMES = [
    "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
    "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
    "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
]


class TryggError(Exception):
    """A libtrygg call that failed: code, code_name, reason and message."""

    def __init__(self, code, message, reason=""):
        self.code = code
        self.code_name = _CODE_NAMES[code] if 0 <= code < len(_CODE_NAMES) else str(code)
        self.reason = reason
        self.message = message
        super().__init__(f"{self.code_name}: {message}" + (f" ({reason})" if reason else ""))


_WATCH_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_char_p)
_lib = None
_lib_lock = threading.Lock()


def _load():
    global _lib
    with _lib_lock:
        if _lib is not None:
            return _lib
        path = os.environ.get("TRYGG_LIBRARY") or ctypes.util.find_library("trygg_c") or "libtrygg_c.so.1"
        lib = ctypes.CDLL(path)
        c_char_pp = ctypes.POINTER(ctypes.c_char_p)
        session_p = ctypes.c_void_p
        out = ctypes.POINTER(ctypes.c_void_p)
        text = ctypes.c_char_p
        signatures = {
            "trygg_abi_version": (ctypes.c_int, []),
            "trygg_version": (text, []),
            "trygg_last_error": (text, []),
            "trygg_last_error_reason": (text, []),
            "trygg_free": (None, [ctypes.c_void_p]),
            "trygg_device_init": (ctypes.c_int, [text, ctypes.c_void_p, ctypes.c_size_t, text, out]),
            "trygg_session_open": (ctypes.c_int, [text, ctypes.c_void_p, ctypes.c_size_t, text, text, text,
                                                  ctypes.c_uint, ctypes.POINTER(session_p)]),
            "trygg_session_close": (None, [session_p]),
            "trygg_session_login": (ctypes.c_int, [session_p]),
            "trygg_session_info": (ctypes.c_int, [session_p, out]),
            "trygg_enrol_request": (ctypes.c_int, [session_p, text, text, out]),
            "trygg_activate": (ctypes.c_int, [session_p, out]),
            "trygg_case_create": (ctypes.c_int, [session_p, text, out]),
            "trygg_case_append": (ctypes.c_int, [session_p, text, text, out]),
            "trygg_case_read": (ctypes.c_int, [session_p, text, out]),
            "trygg_case_list": (ctypes.c_int, [session_p, out]),
            "trygg_consent_record": (ctypes.c_int, [session_p, text, text, text, ctypes.c_int64, text, out]),
            "trygg_directory_search": (ctypes.c_int, [session_p, text, text, text, ctypes.c_int, out]),
            "trygg_refer": (ctypes.c_int, [session_p, text, text, text, text, c_char_pp, ctypes.c_size_t, text,
                                           text, out]),
            "trygg_inbox": (ctypes.c_int, [session_p, text, text, out]),
            "trygg_outbox": (ctypes.c_int, [session_p, text, text, out]),
            "trygg_referral_get": (ctypes.c_int, [session_p, text, out]),
            "trygg_referral_accept": (ctypes.c_int, [session_p, text, out]),
            "trygg_referral_decline": (ctypes.c_int, [session_p, text, text, out]),
            "trygg_referral_complete": (ctypes.c_int, [session_p, text, text, out]),
            "trygg_audit_verify": (ctypes.c_int, [session_p, out]),
            "trygg_watch": (ctypes.c_int, [session_p, ctypes.c_int64, _WATCH_FN, ctypes.c_void_p]),
            "trygg_watch_cancel": (None, [session_p]),
        }
        for name, (restype, argtypes) in signatures.items():
            fn = getattr(lib, name)
            fn.restype = restype
            fn.argtypes = argtypes
        if lib.trygg_abi_version() != ABI_VERSION:
            raise ImportError(f"{path} has C ABI {lib.trygg_abi_version()}; this module needs {ABI_VERSION}")
        _lib = lib
        return lib


def library_version():
    """libtrygg's version, e.g. "0.1.0"."""
    return _load().trygg_version().decode()


def wipe(buffer):
    """Overwrites a bytearray (a passphrase) with zeros."""
    if isinstance(buffer, bytearray):
        ctypes.memset((ctypes.c_char * len(buffer)).from_buffer(buffer), 0, len(buffer))


def _text(value):
    if value is None:
        return None
    return value.encode("utf-8") if isinstance(value, str) else bytes(value)


class _Passphrase:
    """A pointer and length for the C call: a bytearray's own buffer, no copy."""

    def __init__(self, passphrase):
        if isinstance(passphrase, str):
            passphrase = passphrase.encode("utf-8")
        if isinstance(passphrase, bytearray):
            self._buffer = (ctypes.c_char * len(passphrase)).from_buffer(passphrase) if passphrase else None
        elif isinstance(passphrase, bytes):
            self._buffer = ctypes.c_char_p(passphrase)
        else:
            raise TypeError("the passphrase is a bytearray (preferred), bytes or str")
        self.length = len(passphrase)

    @property
    def pointer(self):
        return ctypes.cast(self._buffer, ctypes.c_void_p) if self._buffer is not None else None


def _check(lib, code):
    if code != 0:
        raise TryggError(code, lib.trygg_last_error().decode("utf-8", "replace"),
                         lib.trygg_last_error_reason().decode())


def _result(lib, call, *args):
    """Calls a function whose last argument is char** out_json; returns the JSON."""
    out = ctypes.c_void_p()
    code = call(*args, ctypes.byref(out))
    _check(lib, code)
    try:
        return json.loads(ctypes.string_at(out.value).decode("utf-8"))
    finally:
        lib.trygg_free(out)


def device_init(key_store, passphrase, org_id):
    """Creates this device's key store for organisation `org_id` (32 hex digits).

    Returns {"org_id", "device_id", "sign_key", "box_key", "safety_number"}.
    Raises TryggError ALREADY_EXISTS when there is one already.
    """
    lib = _load()
    secret = _Passphrase(passphrase)
    return _result(lib, lib.trygg_device_init, _text(os.fspath(key_store)), secret.pointer, secret.length,
                   _text(org_id))


class Session:
    """A device's session with tryggd (trygg_session): open, use, close."""

    def __init__(self, handle):
        self._lib = _load()
        self._handle = ctypes.c_void_p(handle)
        self._state = threading.Condition()
        self._closed = False
        self._active = []  # the thread of each call running now
        self._watching = threading.local()

    @classmethod
    def open(cls, key_store, passphrase, server, root_key, tls_roots_pem=None, login=True, keep_passphrase=False):
        """Opens the key store and connects, pinned to the platform root `root_key`.

        login=False before the device is approved (enrol_request works
        without); keep_passphrase=True for activate(), which rewrites the key
        store (the passphrase is then kept in locked memory until close()).
        """
        lib = _load()
        secret = _Passphrase(passphrase)
        handle = ctypes.c_void_p()
        flags = (OPEN_LOGIN if login else 0) | (OPEN_KEEP_PASSPHRASE if keep_passphrase else 0)
        _check(lib, lib.trygg_session_open(_text(os.fspath(key_store)), secret.pointer, secret.length,
                                           _text(server), _text(root_key), _text(tls_roots_pem), flags,
                                           ctypes.byref(handle)))
        return cls(handle.value)

    def close(self):
        """Logs out and wipes the session's secrets; the session is unusable after.

        Safe while other threads use the session: a running watch ends (it
        raises TryggError CANCELLED), and close() returns once the calls of
        other threads have. From a watch callback it returns at once.
        """
        state = getattr(self, "_state", None)
        if state is None:  # __init__ did not finish
            return
        with state:
            if self._closed:
                return
            self._closed = True
        # libtrygg keeps the handle valid after close (later calls on it are
        # refused), so a call racing this one never touches freed memory.
        self._lib.trygg_session_close(self._handle)
        me = threading.get_ident()
        with state:
            state.wait_for(lambda: all(t == me for t in self._active))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass

    def _enter(self):
        with self._state:
            if self._closed:
                raise TryggError(9, "the session is closed")
            if getattr(self._watching, "active", False):
                raise TryggError(9, "a watch callback called into its own session; use another session, or "
                                    "make the call from another thread")
            self._active.append(threading.get_ident())

    def _leave(self):
        with self._state:
            self._active.remove(threading.get_ident())
            self._state.notify_all()

    def _call(self, name, *args):
        self._enter()
        try:
            return _result(self._lib, getattr(self._lib, name), self._handle, *args)
        finally:
            self._leave()

    # -- the device --------------------------------------------------------
    def login(self):
        self._enter()
        try:
            _check(self._lib, self._lib.trygg_session_login(self._handle))
        finally:
            self._leave()

    def info(self):
        return self._call("trygg_session_info")

    def enrol_request(self, role, label):
        """The enrolment request: {"enrolment_id", "device_id", "safety_number"}."""
        return self._call("trygg_enrol_request", _text(role), _text(label))

    def activate(self):
        """After approval: receives and verifies the organisation keys; {"added": N}."""
        return self._call("trygg_activate")

    # -- cases ----------------------------------------------------------------
    @staticmethod
    def _record(record):
        return _text(record if isinstance(record, str) else json.dumps(record))

    def case_create(self, record):
        """Opens a case; `record` a trygg.v1.CaseRecord as a dict or JSON text."""
        return self._call("trygg_case_create", self._record(record))

    def case_append(self, case_id, record):
        return self._call("trygg_case_append", _text(case_id), self._record(record))

    def case_read(self, case_id):
        return self._call("trygg_case_read", _text(case_id))

    def case_list(self):
        return self._call("trygg_case_list")["cases"]

    def consent_record(self, case_id, services, expires_at_ms, evidence, to_org=None):
        """The survivor's consent for `services` (names); {"consent_id"}."""
        return self._call("trygg_consent_record", _text(case_id), _text(to_org), _text(",".join(services)),
                          int(expires_at_ms), _text(evidence))

    # -- the directory -------------------------------------------------------
    def directory_search(self, category=None, region=None, language=None, open_capacity_only=False):
        return self._call("trygg_directory_search", _text(category), _text(region), _text(language),
                          1 if open_capacity_only else 0)

    # -- referrals -------------------------------------------------------------
    def refer(self, case_id, listing_id, share, note=None, consent_id=None, vital_interests=None, urgency=None):
        """Refers a case, sharing the named sections of its latest record."""
        sections = [_text(s) for s in share]
        array = (ctypes.c_char_p * max(len(sections), 1))(*sections)
        return self._call("trygg_refer", _text(case_id), _text(listing_id), _text(consent_id),
                          _text(vital_interests), array, len(sections), _text(note), _text(urgency))

    def inbox(self, state=None, page_token=None):
        return self._call("trygg_inbox", _text(state), _text(page_token))

    def outbox(self, state=None, page_token=None):
        return self._call("trygg_outbox", _text(state), _text(page_token))

    def referral(self, referral_id):
        return self._call("trygg_referral_get", _text(referral_id))

    def accept(self, referral_id):
        return self._call("trygg_referral_accept", _text(referral_id))

    def decline(self, referral_id, reason):
        return self._call("trygg_referral_decline", _text(referral_id), _text(reason))

    def complete(self, referral_id, outcome):
        return self._call("trygg_referral_complete", _text(referral_id), _text(outcome))

    # -- the audit log ----------------------------------------------------------
    def audit_verify(self):
        """Proves this device's writes since the last check are in the server's
        audit log, and that the log only grew; call it regularly (each write's
        receipt waits in the state file until then). {"tree_size",
        "timestamp_ms", "root_hash", "previous_tree_size", "writes_verified",
        "entries_verified", "writes_pending"}."""
        return self._call("trygg_audit_verify")

    def watch(self, on_notice, timeout_ms=0):
        """Calls on_notice(dict) for {"event": "open"} and then each referral
        notice until it returns False or timeout_ms passes (returning False
        for the open event does not stop it). An exception in on_notice ends
        the watch at once and is raised here. Raises TryggError CANCELLED
        when the session is closed meanwhile. on_notice must not call into
        this session (that raises TryggError FAILED_PRECONDITION)."""
        failure = []
        lib, handle = self._lib, self._handle

        def trampoline(_user, notice):
            if failure:
                return 0
            self._watching.active = True
            try:
                keep = on_notice(json.loads(notice.decode("utf-8")))
                return 0 if keep is False else 1
            except BaseException as e:  # noqa: BLE001 - re-raised below
                failure.append(e)
                lib.trygg_watch_cancel(handle)  # ends the watch, the open event included
                return 0
            finally:
                self._watching.active = False

        callback = _WATCH_FN(trampoline)
        self._enter()
        try:
            code = lib.trygg_watch(handle, int(timeout_ms), callback, None)
        finally:
            self._leave()
        if failure:
            raise failure[0]
        _check(lib, code)
