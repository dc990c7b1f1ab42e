"""Loading the server configuration from OS__* variables and YAML files."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from django_objectstore.server.hosting.envmap import EnvMapError, parse_env_value
from django_objectstore.server.hosting.settings_loader import (
    ConfigError,
    load_config,
    parse_http_addr,
)

NO_AUTH = {"OS__AUTH__ENFORCE": "false"}
KEYS = '{test_kid={key_files=["/keys/a.pem","/keys/b.pem"],max_permissions=["object.read"]}}'


# --- the env map syntax -------------------------------------------------------------


def test_env_map_parses_the_e2e_harness_keys_value() -> None:
    assert parse_env_value(KEYS) == {
        "test_kid": {
            "key_files": ["/keys/a.pem", "/keys/b.pem"],
            "max_permissions": ["object.read"],
        }
    }


def test_env_map_accepts_bare_words_spaces_and_trailing_commas() -> None:
    value = parse_env_value(" { a = x y , b = [ 1 , two, ] , } ")
    assert value == {"a": "x y", "b": ["1", "two"]}


def test_env_map_quoted_strings_keep_delimiters_and_escapes() -> None:
    value = parse_env_value(r"""{"my kid"={f=["a,b]}", 'c\'d', "e\"f"]}}""")
    assert value == {"my kid": {"f": ["a,b]}", "c'd", 'e"f']}}


def test_env_map_empty_containers() -> None:
    assert parse_env_value("{}") == {}
    assert parse_env_value("[]") == []
    assert parse_env_value("{a={}}") == {"a": {}}


def test_env_map_plain_values_are_returned_as_text() -> None:
    assert parse_env_value("  /data ") == "/data"
    assert parse_env_value("a=b") == "a=b"


@pytest.mark.parametrize(
    "text",
    ["{a=1", "[1,2", '{a="x}', "{=1}", "{a=1} extra", "{a 1}", "[a{b]"],
)
def test_env_map_syntax_errors_are_reported(text: str) -> None:
    with pytest.raises(EnvMapError, match="position"):
        parse_env_value(text)


# --- env variables -------------------------------------------------------------------


def test_defaults_without_auth() -> None:
    config = load_config(NO_AUTH)
    assert config.http_addr == "0.0.0.0:8888"
    assert config.storage.type == "filesystem"
    assert config.storage.path == "data"
    assert config.auth.enforce is False
    assert config.usecases == {}


def test_enforced_auth_without_keys_refuses_to_start() -> None:
    with pytest.raises(ConfigError, match=r"no keys are configured.*OS__AUTH__ENFORCE=false"):
        load_config({})


def test_env_variables_of_the_e2e_harness() -> None:
    config = load_config(
        {
            "OS__HTTP_ADDR": "127.0.0.1:9999",
            "OS__STORAGE__TYPE": "filesystem",
            "OS__STORAGE__PATH": "/tmp/store",
            "OS__AUTH__ENFORCE": "true",
            "OS__AUTH__KEYS": KEYS,
            "OS__LOG__LEVEL": "trace",
            "PATH": "/usr/bin",
        }
    )
    assert config.http_addr == "127.0.0.1:9999"
    assert config.storage.path == "/tmp/store"
    assert config.auth.enforce is True
    key = config.auth.keys["test_kid"]
    assert key.key_files == ["/keys/a.pem", "/keys/b.pem"]
    assert key.max_permissions == ["object.read"]


def test_storage_fsync_can_be_turned_off() -> None:
    assert load_config(NO_AUTH).storage.fsync is True
    assert load_config({**NO_AUTH, "OS__STORAGE__FSYNC": "false"}).storage.fsync is False


def test_env_names_are_case_insensitive_and_memory_storage_is_accepted() -> None:
    config = load_config({"os__storage__type": "memory", **NO_AUTH})
    assert config.storage.type == "memory"


def test_env_usecase_settings() -> None:
    config = load_config(
        {
            **NO_AUTH,
            "OS__USECASES__ATTACHMENTS__EXPIRATION__TTL__MAX": "90d",
            "OS__USECASES__ATTACHMENTS__EXPIRATION__TTI__ALLOWED": "false",
            "OS__USECASES__ATTACHMENTS__EXPIRATION__MANUAL__ALLOWED": "false",
            "OS__USECASES__DEBUG-FILES__EXPIRATION": "{tti={max=90d}}",
        }
    )
    expiration = config.usecases["attachments"].expiration
    assert expiration.ttl.max == timedelta(days=90)
    assert expiration.ttl.allowed is True
    assert expiration.tti.allowed is False
    assert expiration.tti.max is None
    assert expiration.manual.allowed is False
    assert config.usecases["debug-files"].expiration.tti.max == timedelta(days=90)


def test_sweep_interval_setting() -> None:
    assert load_config({**NO_AUTH, "OS__SWEEP_INTERVAL": "30s"}).sweep_interval == timedelta(
        seconds=30
    )


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"OS__AUTH__ENFORCE": "maybe"}, "OS__AUTH__ENFORCE"),
        ({"OS__HTTP_ADDR": "localhost"}, "OS__HTTP_ADDR"),
        ({"OS__HTTP_ADDR": "h:99999"}, "OS__HTTP_ADDR"),
        ({"OS__STORAGE__TYPE": "gcs", **NO_AUTH}, "OS__STORAGE__TYPE"),
        ({"OS__STORAGE__BUCKET": "b", **NO_AUTH}, "OS__STORAGE__BUCKET"),
        ({"OS__AUTH__KEYS": "{k={key_files=[a]", **NO_AUTH}, "OS__AUTH__KEYS"),
        ({"OS__AUTH__KEYS": "{k={key_files=[a],max_permissions=[x]}}"}, "OS__AUTH__KEYS"),
        ({"OS__AUTH__KEYS": "{k={max_permissions=[object.read]}}"}, "OS__AUTH__KEYS"),
        ({"OS__AUTH__KEYS": "{k={key_files=[a],colour=blue}}"}, "OS__AUTH__KEYS"),
        ({"OS__USECASES__U__EXPIRATION__TTL__MAX": "forever", **NO_AUTH}, "OS__USECASES__U"),
        ({"OS__USECASES__U__EXPIRATION__MAX": "90d", **NO_AUTH}, "ttl.max and expiration.tti.max"),
        ({"OS__USECASES__U__EXPIRATION__MANUAL__MAX": "9d", **NO_AUTH}, "OS__USECASES__U"),
        ({"OS__WORKERS": "0", **NO_AUTH}, "OS__WORKERS"),
        ({"OS__WORKERS": "2", "OS__STORAGE__TYPE": "memory", **NO_AUTH}, "OS__WORKERS"),
    ],
)
def test_errors_name_the_variable_at_fault(environ: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        load_config(environ)


# --- YAML file -----------------------------------------------------------------------

YAML = """
http_addr: "127.0.0.1:7000"
storage:
  type: filesystem
  path: /srv/objects
auth:
  enforce: true
  keys:
    relay:
      key_files: [/keys/relay.pem]
      max_permissions: [object.read, object.write]
usecases:
  attachments:
    expiration:
      manual: {allowed: false}
      ttl: {max: 30d}
      tti: {allowed: true}
logging:
  level: debug
"""


@pytest.fixture
def config_file(tmp_path: Path) -> str:
    path = tmp_path / "objectstore.yaml"
    path.write_text(YAML)
    return str(path)


def test_yaml_file_with_every_section(config_file: str) -> None:
    config = load_config({}, config_file)
    assert config.http_addr == "127.0.0.1:7000"
    assert config.storage.path == "/srv/objects"
    assert config.auth.keys["relay"].max_permissions == ["object.read", "object.write"]
    expiration = config.usecases["attachments"].expiration
    assert expiration.manual.allowed is False
    assert expiration.ttl.max == timedelta(days=30)
    assert expiration.tti.max is None


def test_env_wins_over_the_file_and_the_file_over_defaults(config_file: str) -> None:
    config = load_config({"OS__STORAGE__PATH": "/elsewhere"}, config_file)
    assert config.storage.path == "/elsewhere"
    assert config.storage.type == "filesystem"
    assert config.http_addr == "127.0.0.1:7000"
    assert "relay" in config.auth.keys


def test_yaml_errors_name_the_key_and_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("auth:\n  enforce: false\nstorage:\n  tpye: memory\n")
    with pytest.raises(ConfigError, match=r"'storage.tpye' in .*bad.yaml: unknown setting"):
        load_config({}, str(path))


def test_unreadable_or_invalid_yaml_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the config file"):
        load_config({}, str(tmp_path / "missing.yaml"))
    bad = tmp_path / "bad.yaml"
    bad.write_text("auth: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config({}, str(bad))


def test_parse_http_addr_handles_ipv4_and_ipv6() -> None:
    assert parse_http_addr("0.0.0.0:8888") == ("0.0.0.0", 8888)
    assert parse_http_addr("[::1]:80") == ("::1", 80)


def test_http_timeouts_and_their_defaults() -> None:
    default = load_config({"OS__AUTH__ENFORCE": "false"})
    assert default.http.body_idle_timeout == timedelta(seconds=30)
    assert default.http.header_timeout == timedelta(seconds=30)
    config = load_config(
        {
            "OS__AUTH__ENFORCE": "false",
            "OS__HTTP__BODY_IDLE_TIMEOUT": "2.5",
            "OS__HTTP__HEADER_TIMEOUT": "1m",
            "OS__HTTP__MAX_REQUESTS": "10000",
        }
    )
    assert config.http.body_idle_timeout == timedelta(seconds=2.5)
    assert config.http.header_timeout == timedelta(minutes=1)


@pytest.mark.parametrize("value", ["0", "-1", "soon", "2d"])
def test_invalid_http_timeouts_name_the_variable(value: str) -> None:
    environ = {"OS__AUTH__ENFORCE": "false", "OS__HTTP__BODY_IDLE_TIMEOUT": value}
    with pytest.raises(ConfigError, match="OS__HTTP__BODY_IDLE_TIMEOUT"):
        load_config(environ)


@pytest.mark.parametrize(
    ("environ", "level"),
    [
        ({}, "info"),
        ({"OS__LOG__LEVEL": "trace"}, "trace"),
        ({"OS__LOGGING__LEVEL": "WARNING"}, "warn"),
        ({"OS__LOG__LEVEL": "debug", "OS__LOGGING__LEVEL": "error"}, "error"),
        ({"OS__LOGGING__LEVEL": "off", "OS__LOGGING__FORMAT": "json"}, "off"),
    ],
)
def test_log_level_from_the_real_name_or_the_harness_alias(
    environ: dict[str, str], level: str
) -> None:
    assert load_config({"OS__AUTH__ENFORCE": "false", **environ}).logging.level == level


def test_unknown_log_level_is_an_error_naming_the_variable() -> None:
    with pytest.raises(ConfigError, match=r"OS__LOG__LEVEL: unknown log level 'loud'"):
        load_config({"OS__AUTH__ENFORCE": "false", "OS__LOG__LEVEL": "loud"})


# --- settings read but not implemented -------------------------------------------------


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.name == "django_objectstore.server.config" and record.levelname == "WARNING"
    ]


def test_each_unimplemented_section_is_named_in_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "real.yaml"
    path.write_text(
        "auth: {enforce: false}\n"
        "killswitches: [{usecase: attachments}]\n"
        "rate_limits: {throughput: {global_rps: 10}, bandwidth: {global_bps: 10}}\n"
        "runtime: {worker_threads: 4}\n"
        "http: {max_requests: 100, body_idle_timeout: 5s, keepalive: 1s}\n"
        "logging: {level: info, format: json, colour: true}\n"
        "bogus: 1\n"
    )
    environ = {"OS__SERVICE__MAX_CONCURRENCY": "5", "OS__METRICS__TAGS__A": "b"}
    with caplog.at_level("WARNING"):
        config = load_config(environ, str(path))
    assert config.http.body_idle_timeout == timedelta(seconds=5)
    warnings = _warnings(caplog)
    expected = [
        "'killswitches' in",
        "'rate_limits' in",
        "'runtime' in",
        "'http.max_requests' in",
        "'http.keepalive' in",
        "'logging.format' in",
        "'logging.colour' in",
        "'bogus' in",
        "OS__SERVICE__MAX_CONCURRENCY is ignored",
        "OS__METRICS__TAGS__A is ignored",
    ]
    for fragment in expected:
        assert sum(fragment in warning for warning in warnings) == 1, (fragment, warnings)
    assert len(warnings) == len(expected)
    assert all("is ignored: " in warning for warning in warnings)


def test_implemented_settings_and_healthcheck_loads_warn_nothing(
    config_file: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("WARNING"):
        load_config({}, config_file)
        load_config({"OS__KILLSWITCHES": "[]"}, config_file, warn=False)
    assert _warnings(caplog) == []


def test_a_shared_expiration_max_is_refused_with_the_real_names(tmp_path: Path) -> None:
    path = tmp_path / "old.yaml"
    path.write_text("auth: {enforce: false}\nusecases: {u: {expiration: {max: 90d}}}\n")
    with pytest.raises(ConfigError, match=r"'usecases.u.expiration.max' in .*old.yaml: .*ttl.max"):
        load_config({}, str(path))


def test_workers_setting_defaults_to_one() -> None:
    assert load_config(NO_AUTH).workers == 1
    assert load_config({**NO_AUTH, "OS__WORKERS": "4"}).workers == 4
