"""Options: keys refused at start-up, ini text converted and checked, PasteDeploy loading."""

from __future__ import annotations

import base64
import logging
import os
import secrets
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
import webtest
from paste.deploy import loadapp

from postback_middleware import (
    ConfigurationError,
    InvalidType,
    Options,
    PostbackMiddleware,
    Registry,
    UnknownOption,
)
from postback_middleware.config import check_secret_keys, options_from_ini
from postback_middleware.stores import MemoryStore, RedisStore

from .helpers import RecordingApp, hidden_fields, new_key
from .redis_server import RedisServer

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        pytest.param(None, "required", id="missing"),
        pytest.param([], "required", id="empty-list"),
        pytest.param("x" * 31, "31 bytes", id="short-string"),
        pytest.param([new_key(), b"short"], "#2 has 5 bytes", id="second-key-short"),
        pytest.param("this-sample-key-is-public-so-it-is-refused-at-start-up", "sample",
                     id="documented-sample"),
        pytest.param("0123456789abcdef0123456789abcdef", "sample", id="well-known-sample"),
        pytest.param("ab" * 20, "not random", id="low-variety"),
        pytest.param("01234567890123456789012345678901", "not random", id="digits-counting"),
        pytest.param("my-app-secret-key-for-production!", "not random", id="a-phrase"),
        pytest.param("correct-horse-battery-staple-and-more-words", "not random",
                     id="lowercase-words-are-valid-base64url"),
        pytest.param("0123456789abcdef" * 4, "not random", id="hex-pattern-of-32-bytes"),
        pytest.param(secrets.token_hex(16), "not random", id="hex-of-only-16-bytes"),
        pytest.param(secrets.token_urlsafe(24), "not random", id="base64url-of-24-bytes"),
        pytest.param(b"\x00" * 40, "not random", id="raw-zero-bytes"),
        pytest.param([new_key(), 12345], "int, not str", id="not-a-string"),
        # Letters spell base64 whatever they say: the text itself is judged (a red-team pass).
        pytest.param("ThisIsMyVerySecretPasswordForTheProductionServerOfAcme", "not random",
                     id="camel-case-words"),
        pytest.param("SuperSecretKeyForMyFlaskApplicationPleaseChangeIt", "not random",
                     id="camel-case-words-2"),
        pytest.param("Correct-Horse-Battery-Staple-Words-Make-Good-Passwords", "not random",
                     id="capitalised-words-with-dashes"),
        pytest.param("AbcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
                     "not random", id="the-alphabet"),
        pytest.param(b"MyCompanyProductionKey2024SuperSecretDoNotShareWithAnyone", "not random",
                     id="words-as-bytes"),
    ],
)
def test_weak_keys_fail_at_start_up(keys: Any, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message) as refused:
        check_secret_keys(keys)
    assert "secrets.token_urlsafe(48)" in str(refused.value)  # says how to make one


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        pytest.param(new_key() + "\n", r"white space \(a newline read from a file",
                     id="read-from-a-file"),
        pytest.param(f"{new_key()} {new_key()}", "several keys in one string",
                     id="two-keys-in-one-string"),
        pytest.param({new_key(), new_key()}, "must be a list .* not a set", id="a-set"),
    ],
)
def test_keys_given_the_wrong_way_say_how_to_give_them(keys: Any, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        check_secret_keys(keys)


def test_generated_keys_are_never_taken_for_words() -> None:
    """(the heuristics of _reads_as_words and _counts_up_or_down, on keys as people make them)"""
    for _ in range(2_000):
        for key in (secrets.token_urlsafe(32), secrets.token_urlsafe(48), secrets.token_hex(32),
                    base64.b64encode(os.urandom(32)).decode()):
            check_secret_keys(key)


@pytest.mark.parametrize(
    "key",
    [
        pytest.param(secrets.token_urlsafe(48), id="token_urlsafe-48"),
        pytest.param(secrets.token_urlsafe(32), id="token_urlsafe-32"),
        pytest.param(secrets.token_hex(32), id="token_hex-32"),
        pytest.param(base64.b64encode(os.urandom(32)).decode(), id="base64-padded"),
        pytest.param(os.urandom(32), id="raw-bytes"),
        pytest.param(os.urandom(1024), id="long-raw-bytes"),
    ],
)
def test_generated_keys_are_accepted(key: str | bytes) -> None:
    raw = key.encode() if isinstance(key, str) else key
    assert check_secret_keys(key) == (raw,)


def test_good_keys_are_accepted_as_bytes() -> None:
    key = new_key()
    assert check_secret_keys(key) == (key.encode(),)
    assert check_secret_keys([key, key.encode()]) == (key.encode(), key.encode())


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        pytest.param("max_age", 0, "positive", id="zero-max-age"),
        pytest.param("max_body_size", -1, "positive", id="negative-size"),
        pytest.param("max_state_size", True, "positive", id="bool-is-not-int"),
        # (a red-team pass: accepted, then every page with a post form answered 500)
        pytest.param("max_state_size", 2**63, "max_state_size must be a positive integer of at"
                     " most", id="state-size-past-a-c-size"),
        # (a red-team pass: no option raised the 1,000-field limit; it must say what it is)
        pytest.param("max_form_fields", 0, r"max_form_fields must be a positive integer \(how "
                     "many fields a form POST may have; 1000 by default, raise it for a form "
                     "with more", id="form-fields-zero"),
        pytest.param("max_form_fields", -1, "max_form_fields must be a positive integer",
                     id="form-fields-negative"),
        pytest.param("max_form_fields", "2000", "max_form_fields must be a positive integer",
                     id="form-fields-as-text"),
        pytest.param("max_form_fields", 1500.0, "max_form_fields must be a positive integer",
                     id="form-fields-a-float"),
        pytest.param("max_form_fields", True, "max_form_fields must be a positive integer",
                     id="form-fields-a-bool"),
        pytest.param("script_prefix", "_postback", "start and end", id="prefix-without-slashes"),
        # (found by a red-team pass: accepted, then every page 404, or no page got its script)
        pytest.param("script_prefix", "/", "a path of its own", id="prefix-of-every-path"),
        pytest.param("script_prefix", "/_pb?v=1/", "a path of its own", id="prefix-with-a-query"),
        pytest.param("script_prefix", "/_pb#x/", "a path of its own", id="prefix-with-a-fragment"),
        pytest.param("script_prefix", "/post back/", "a path of its own", id="prefix-with-space"),
        pytest.param("user_key", lambda: "ada", r"called as user_key\(environ\)",
                     id="user-key-taking-nothing"),
        pytest.param("on_reject", lambda environ: None, r"on_reject\(environ, reason\)",
                     id="on-reject-taking-one"),
        pytest.param("user_key", 42, "callable", id="user-key-not-callable"),
        pytest.param("user_key", "os:sep", "callable", id="user-key-names-no-function"),
        pytest.param("user_key", "no.such.module:f", "user_key: cannot import",
                     id="user-key-names-nothing"),
        pytest.param("callbacks", {"CallServer": "tests.test_config:no_such"},
                     "callbacks CallServer: cannot import", id="handler-names-nothing"),
        pytest.param("require_token", "false", "True or False", id="bool-as-text"),
        pytest.param("forward_event_fields", 1, "True or False", id="forward-as-int"),
        pytest.param("renewal_window", 60, "shorter than max_age", id="renewal-shorter"),
        pytest.param("renewal_window", -1, "whole number of seconds", id="renewal-negative"),
        pytest.param("trusted_origins", b"https://a.example", "list of origins",
                     id="origins-as-bytes"),
        pytest.param("trusted_origins", ["https://a.example/path"], "trusted_origins",
                     id="origin-with-a-path"),
        # (found by a red-team pass: accepted, matching nothing a browser sends)
        pytest.param("trusted_origins", ["https://*.example.com"], "no wildcard",
                     id="origin-with-a-wildcard"),
        pytest.param("trusted_origins", ["https://a.example,", "https://b.example"],
                     "not commas", id="origins-separated-by-commas"),
        pytest.param("trusted_origins", ["https://.example.com"], "not a host name",
                     id="origin-with-an-empty-label"),
        pytest.param("trusted_origins", ["https://bücher.example"],
                     "browsers send 'xn--bcher-kva.example'", id="origin-not-in-punycode"),
        pytest.param("callbacks", [("CallServer", print)], "map names", id="callbacks-a-list"),
        pytest.param("store", "redys://cache:6379", "scheme 'redys' names no store; use "
                     r"redis://, rediss:// \(TLS\), unix:// \(a socket\) or memory:",
                     id="store-scheme-misspelt"),
        pytest.param("store", "cache:6379", "scheme 'cache'", id="store-url-without-scheme"),
        pytest.param("store", {"add": print}, "store must be a Store", id="store-not-a-store"),
    ],
)
def test_bad_options_fail_at_start_up(option: str, value: Any, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        PostbackMiddleware(RecordingApp(), secret_keys=[new_key()], **{option: value})


def test_handlers_and_functions_may_be_named_as_in_an_ini_file() -> None:
    """``"package.module:function"`` in Python too: the same names an ini file uses."""
    app = PostbackMiddleware(
        RecordingApp(), secret_keys=[new_key()],
        callbacks={"CallServer": "tests.test_config:handler"},
        postbacks={"delete": "tests.test_config:handler"},
        user_key="tests.test_config:user_of",
    )
    assert app.options.callbacks == {"CallServer": handler}
    assert app.options.postbacks == {"delete": handler}
    assert app.options.user_key is user_of


@pytest.mark.parametrize(
    ("keywords", "message"),
    [
        pytest.param({"max_ag": 60}, r"unknown option 'max_ag' \(did you mean 'max_age'\?\)",
                     id="typo"),
        pytest.param({"secret_key": new_key()}, "did you mean 'secret_keys'", id="singular"),
        pytest.param({"colour": "red"}, "known options: aspnet_ajax, callbacks, "
                     "forward_event_fields, maintain_scroll_position",
                     id="unrelated-name-lists-all"),
    ],
)
def test_unknown_keyword_names_the_valid_options(keywords: dict[str, Any], message: str) -> None:
    # A TypeError, as Python's own unknown keyword is, and one of ours.
    with pytest.raises(UnknownOption, match=message) as raised:
        PostbackMiddleware(RecordingApp(), **{"secret_keys": [new_key()], **keywords})
    assert isinstance(raised.value, TypeError)
    assert isinstance(raised.value, ConfigurationError)


def test_options_made_beforehand_are_used() -> None:
    options = Options(secret_keys=[new_key()], max_age=60, trusted_origins="https://a.example")
    middleware = PostbackMiddleware(RecordingApp(), options=options)
    assert middleware.options.max_age == 60
    assert middleware.options.trusted_origins == ("https://a.example",)
    assert "secret_keys" not in repr(options)  # keys never reach a log through a repr
    with pytest.raises(ConfigurationError, match="not both: max_age"):
        PostbackMiddleware(RecordingApp(), options=options, max_age=30)


def make_app() -> Any:  # an app factory, handed over without being called
    return RecordingApp()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        pytest.param({"app": None}, "app must be a WSGI application .* not NoneType",
                     id="app-none"),
        pytest.param({"app": "myapp:app"}, "not str", id="app-named-as-text"),
        pytest.param({"app": make_app}, r"called as app\(environ, start_response\)",
                     id="app-factory-not-called"),
        pytest.param({"registry": {}}, "registry must be a Registry .* not dict",
                     id="registry-a-dict"),
        pytest.param({"registry": Registry}, "not type", id="registry-the-class"),
        pytest.param({"options": {"max_age": 60}}, "options must be an Options .* not dict",
                     id="options-a-dict"),
    ],
)
def test_wrong_arguments_fail_at_start_up(arguments: dict[str, Any], message: str) -> None:
    """(found by a red-team pass: accepted, then every request a 500, or a bare TypeError)"""
    given = {"app": RecordingApp(), "secret_keys": [new_key()], **arguments}
    if "options" in arguments:
        del given["secret_keys"]
    with pytest.raises(ConfigurationError, match=message):
        PostbackMiddleware(**given)


@pytest.mark.parametrize("kind", ["callback", "postback"])
def test_a_handler_that_cannot_take_its_arguments_is_refused(kind: str) -> None:
    with pytest.raises(InvalidType, match=r"called as handler\("):
        getattr(Registry(), f"add_{kind}")("Go", lambda argument: "x")


def test_wrapping_twice_is_refused_at_start_up() -> None:
    """Easy to do (``app.wsgi_app = PostbackMiddleware(app.wsgi_app)`` in a factory run twice),
    and the inner one's options (``require_token``...) would be silently dropped."""
    inner = PostbackMiddleware(RecordingApp(), secret_keys=[new_key()], require_token=True)
    with pytest.raises(ConfigurationError, match=r"already wrapped .* wrap it once"):
        PostbackMiddleware(inner, secret_keys=[new_key()])


def test_a_second_middleware_met_inside_the_first_steps_aside(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Wrapped twice out of sight (a sub-app wrapped again under a dispatcher)."""
    inner = PostbackMiddleware(RecordingApp(page='<form method="post"></form>'),
                               secret_keys=[new_key()])

    def dispatcher(environ: dict[str, Any], start_response: Any) -> Any:
        return inner(environ, start_response)

    app = webtest.TestApp(PostbackMiddleware(dispatcher, secret_keys=[new_key()]))
    page = app.get("/")
    assert page.body.count(b'name="__VIEWSTATE"') == 1
    app.post("/", hidden_fields(page.body))
    assert "wrap the app once" in caplog.text


@pytest.mark.parametrize(
    ("inner_options", "weaker"),
    [
        pytest.param({"require_token": True}, "require_token", id="require-token"),
        pytest.param({"validate_choices": True}, "validate_choices", id="validate-choices"),
        pytest.param({"max_age": 60}, "max_age", id="a-shorter-max-age"),
        pytest.param({"max_body_size": 1024}, "max_body_size", id="a-smaller-body-limit"),
        pytest.param({"max_form_fields": 10}, "max_form_fields", id="a-smaller-field-limit"),
        pytest.param({"user_key": lambda environ: "ada"}, "user_key", id="a-user-binding"),
    ],
)
def test_a_second_middleware_stricter_than_the_first_refuses_to_step_aside(
    caplog: pytest.LogCaptureFixture, inner_options: dict[str, Any], weaker: str
) -> None:
    """(found by a red-team pass: the inner one's require_token was dropped, so a form posted
    without tokens reached the sub-app)"""
    recording = RecordingApp(page='<form method="post"></form>')
    inner = PostbackMiddleware(recording, secret_keys=[new_key()], **inner_options)

    def dispatcher(environ: dict[str, Any], start_response: Any) -> Any:
        return inner(environ, start_response)

    app = webtest.TestApp(PostbackMiddleware(dispatcher, secret_keys=[new_key()]))
    response = app.post("/", {"note": "no tokens"}, status=500)
    assert b"Traceback" not in response.body and recording.calls == []
    assert f"protects less ({weaker})" in caplog.text and "wrap the app once" in caplog.text


def test_a_forwarder_outside_may_call_the_middleware_again() -> None:
    """An error-document forwarder outside the middleware calls the whole stack again with the
    same environ: that is not a second middleware inside the first."""
    middleware = PostbackMiddleware(RecordingApp(page='<form method="post"></form>'),
                                    secret_keys=[new_key()])

    def forwarder(environ: dict[str, Any], start_response: Any) -> Any:
        middleware(environ, lambda *args: None)  # (a first answer it discards)
        return middleware(environ, start_response)

    assert b"__VIEWSTATE" in webtest.TestApp(forwarder).get("/").body


def handler(argument: str, request: Any) -> str:
    return "ini handler:" + argument


def user_of(environ: dict[str, Any]) -> str:
    return str(environ.get("HTTP_X_USER", ""))


def test_ini_text_is_converted() -> None:
    key1, key2, key3 = new_key(), new_key(), new_key()
    settings = {
        "secret_keys": f"{key1}\n  env:MORE_KEYS",
        "max_age": "3_600",
        "max_body_size": "1000",
        "maintain_scroll_position": "Yes",
        "require_token": "off",
        "forward_event_fields": "on",
        "script_prefix": " /assets/pb/ ",
        "user_key": "tests.test_config:user_of",
        "callbacks": "\n  CallServer = tests.test_config:handler\n  # a comment\n",
        "postbacks": "delete = tests.test_config:handler",
        "trusted_origins": "https://admin.example\n  https://shop.example:8443",
    }
    kwargs = options_from_ini(settings, environ={"MORE_KEYS": f"{key2} {key3}"})
    assert kwargs["secret_keys"] == [key1, key2, key3]
    assert kwargs["max_age"] == 3600
    assert kwargs["maintain_scroll_position"] is True and kwargs["require_token"] is False
    assert kwargs["forward_event_fields"] is True
    assert kwargs["script_prefix"] == "/assets/pb/"
    assert kwargs["user_key"] is user_of
    assert kwargs["callbacks"] == {"CallServer": handler}
    assert kwargs["postbacks"] == {"delete": handler}
    assert kwargs["trusted_origins"] == ("https://admin.example", "https://shop.example:8443")
    PostbackMiddleware(RecordingApp(), **kwargs)  # and the middleware takes them as they are


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        pytest.param({"max_age": "an hour"}, "integer", id="not-an-integer"),
        pytest.param({"max_form_fields": "2k"}, "max_form_fields must be an integer",
                     id="form-fields-not-an-integer"),
        pytest.param({"require_token": "maybe"}, "true or false", id="not-a-boolean"),
        pytest.param({"forward_event_fields": "2"}, "forward_event_fields must be true or false",
                     id="forward-not-a-boolean"),
        pytest.param({"secret_key": "x"}, "unknown option 'secret_key'", id="typo"),
        pytest.param({"user_key": "no.such.module:f"}, "cannot import", id="bad-import"),
        pytest.param({"callbacks": "CallServer tests.test_config:handler"}, "expected",
                     id="handler-line-without-equals"),
        pytest.param({"callbacks": "A = tests.test_config:handler\nA = tests.test_config:handler"},
                     "twice", id="handler-twice"),
        pytest.param({"secret_keys": "env:NOT_SET_ANYWHERE"}, "unset", id="env-key-unset"),
    ],
)
def test_bad_ini_text_fails_with_a_clear_message(settings: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        options_from_ini(settings, environ={})


def write_ini(tmp_path: Path, filter_lines: str) -> str:
    path = tmp_path / "app.ini"
    path.write_text(textwrap.dedent("""\
        [app:inner]
        use = call:tests.test_config:inner_factory

        [filter:postback]
        use = egg:postback-middleware
        FILTER_LINES

        [pipeline:main]
        pipeline = postback inner
        """).replace("FILTER_LINES", filter_lines))
    return f"config:{path}"


def inner_factory(global_conf: Any, **settings: Any) -> RecordingApp:
    return RecordingApp(page='<form method="post"></form>')


def test_pastedeploy_filter_loads_and_serves(tmp_path: Path) -> None:
    app = webtest.TestApp(loadapp(write_ini(tmp_path, f"secret_keys = {new_key()}")))
    assert b"__VIEWSTATE" in app.get("/").body


@pytest.mark.parametrize(
    ("line", "fields", "status"),
    [
        pytest.param("", 1001, 413, id="default-refuses-1001-fields"),
        pytest.param("max_form_fields = 1_300", 1205, 200, id="raised-takes-1205-fields"),
        pytest.param("max_form_fields = 1300", 1301, 413, id="raised-refuses-1301-fields"),
    ],
)
def test_pastedeploy_filter_sets_max_form_fields(tmp_path: Path, line: str, fields: int,
                                                 status: int) -> None:
    app = webtest.TestApp(loadapp(write_ini(tmp_path, f"secret_keys = {new_key()}\n{line}")))
    app.post("/", "&".join(f"f{n}=x" for n in range(fields)), status=status,
             content_type="application/x-www-form-urlencoded")


def test_pastedeploy_filter_refuses_a_bad_max_form_fields_at_load(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="max_form_fields must be a positive integer"):
        loadapp(write_ini(tmp_path, f"secret_keys = {new_key()}\nmax_form_fields = 0"))


def test_pastedeploy_filter_without_key_fails_at_load(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="secret_keys is required"):
        loadapp(write_ini(tmp_path, "max_age = 60"))


def test_an_option_named_in_default_fails_at_load(tmp_path: Path) -> None:
    """(found by a red-team pass) PasteDeploy drops a section's line whose name [DEFAULT] has
    too: the filter's own ``require_token = true`` was silently off."""
    url = write_ini(tmp_path, f"secret_keys = {new_key()}\nrequire_token = true")
    path = Path(url.removeprefix("config:"))
    path.write_text("[DEFAULT]\nrequire_token = true\n\n" + path.read_text())
    with pytest.raises(ConfigurationError, match=r"require_token is named in .DEFAULT.*"
                                                 "'get require_token = require_token'"):
        loadapp(url)
    # (as the message says: the [DEFAULT] value taken into the filter's section)
    path.write_text(path.read_text().replace("\nrequire_token = true\n\n[pipeline",
                                             "\nget require_token = require_token\n\n[pipeline"))
    app = webtest.TestApp(loadapp(url))
    app.post("/", {"note": "no tokens"}, status=403)


def test_demo_ini_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSTBACK_SECRET_KEYS", new_key())
    app = webtest.TestApp(loadapp(f"config:{EXAMPLES / 'demo.ini'}"))
    assert b"__VIEWSTATE" in app.get("/").body


# -- the store option: a Store, or its URL, made once at start-up ----------------------------


def test_a_store_is_made_from_its_url_or_taken_as_given(redis_server: RedisServer) -> None:
    given = MemoryStore()
    assert Options(secret_keys=[new_key()], store=given).store is given
    assert isinstance(Options(secret_keys=[new_key()], store="memory:").store, MemoryStore)
    made = Options(secret_keys=[new_key()], store=redis_server.url).store
    assert isinstance(made, RedisStore)
    assert made.add("config-test", b"x", expires_at=time.time() + 60)
    made.delete("config-test")
    assert Options(secret_keys=[new_key()]).store is None  # none unless asked for


@pytest.mark.parametrize("given", ["url", "object"])
def test_a_redis_store_is_checked_once_at_start_up(redis_server: RedisServer, given: str,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    client = redis_server.client()
    client.config_set("maxmemory-policy", "allkeys-lru")
    store = redis_server.url if given == "url" else RedisStore.from_url(redis_server.url)
    try:
        with caplog.at_level(logging.WARNING, logger="postback_middleware"):
            options = Options(secret_keys=[new_key()], store=store)
            PostbackMiddleware(RecordingApp(), options=options)
            PostbackMiddleware(RecordingApp(), secret_keys=[new_key()], store=options.store)
    finally:
        client.config_set("maxmemory-policy", "noeviction")
    assert caplog.text.count("maxmemory-policy allkeys-lru") == 1


def test_the_store_url_may_come_from_the_environment_in_an_ini_file() -> None:
    kwargs = options_from_ini({"store": "env:SESSION_REDIS"},
                              environ={"SESSION_REDIS": "redis://:pw@cache:6379/1"})
    assert kwargs["store"] == "redis://:pw@cache:6379/1"  # (made by the middleware, at start-up)
    assert options_from_ini({"store": "  memory:  "}, environ={})["store"] == "memory:"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("memory: redis://cache", "store must be one URL", id="two-words"),
        pytest.param("env:NO_SUCH_VARIABLE", "store: environment variable NO_SUCH_VARIABLE is "
                     "unset", id="env-unset"),
    ],
)
def test_a_bad_store_line_fails_at_load(text: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        options_from_ini({"store": text}, environ={})


def test_an_ini_file_names_its_store(tmp_path: Path, redis_server: RedisServer) -> None:
    app = loadapp(write_ini(tmp_path, f"secret_keys = {new_key()}\n"
                                      f"store = {redis_server.url}?key_prefix=shop:"))
    assert repr(app.options.store) == (
        f"RedisStore('unix://{redis_server.socket_path}?db=0', key_prefix='shop:')")


def test_an_ini_files_misspelt_store_scheme_fails_at_load(tmp_path: Path) -> None:
    ini = write_ini(tmp_path, f"secret_keys = {new_key()}\nstore = reddis://:hunter2@cache")
    with pytest.raises(ConfigurationError, match="scheme 'reddis' names no store; use redis://"
                       ) as refused:
        loadapp(ini)
    assert "hunter2" not in str(refused.value)  # (the rest of a URL may hold a password)
