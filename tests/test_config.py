"""Configuration: defaults, TOML file, environment, flags, and clear errors for bad input."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import REPO, run_cli
from wreckit_tui.config import Config, config_path, load_config
from wreckit_tui.errors import ConfigError


def test_defaults_match_the_documented_values(isolated_config):
    config = load_config()
    assert config == Config()
    assert (config.max_vms, config.default_memory, config.default_cpus) == (5, "512MiB", 1)
    assert (config.timeout, config.list_timeout, config.kill_grace) == (300, 10, 5)
    assert (config.poll_interval, config.max_output_bytes) == (2.0, 16 * 1024 * 1024)
    assert config.max_sprites == 20_000
    assert config.wisp_path is None


def test_file_then_env_then_flags(isolated_config, monkeypatch):
    isolated_config.write_text('max_vms = 3\ndefault_memory = "1GiB"\ntimeout = 60\n')
    monkeypatch.setenv("WRECKIT_TUI_MAX_VMS", "7")
    monkeypatch.setenv("WRECKIT_TUI_TIMEOUT", "30")
    config = load_config(flags={"timeout": "12"})
    assert config.default_memory == "1GiB"  # file
    assert config.max_vms == 7  # env beats file
    assert config.timeout == 12  # flag beats env


def test_config_path_precedence(tmp_path, monkeypatch):
    monkeypatch.setenv("WRECKIT_TUI_CONFIG", str(tmp_path / "env.toml"))
    assert config_path() == tmp_path / "env.toml"
    assert config_path(str(tmp_path / "flag.toml")) == tmp_path / "flag.toml"
    monkeypatch.delenv("WRECKIT_TUI_CONFIG")
    assert config_path().parts[-2:] == ("wreckit-tui", "config.toml")


def test_poll_interval_has_a_floor(isolated_config):
    isolated_config.write_text("poll_interval = 0.1\n")
    assert load_config().poll_interval == 0.5


def test_broken_toml_names_the_file_and_line(isolated_config):
    isolated_config.write_text('max_vms = 3\ntheme = "unterminated\n')
    with pytest.raises(ConfigError) as caught:
        load_config()
    assert str(isolated_config) in caught.value.message
    assert "line 2" in caught.value.message


def test_invalid_value_names_the_file_key_and_line(isolated_config):
    isolated_config.write_text('# settings\n\ndefault_memory = "lots"\n')
    with pytest.raises(ConfigError) as caught:
        load_config()
    message = caught.value.message
    assert str(isolated_config) in message
    assert "(line 3): default_memory" in message


def test_a_boolean_is_not_a_number(isolated_config):
    isolated_config.write_text("max_vms = true\n")
    with pytest.raises(ConfigError) as caught:
        load_config()
    assert "(line 1): max_vms: must be a number, not true or false" in caught.value.message


def test_unknown_key_is_reported(isolated_config):
    isolated_config.write_text("max_vm = 3\n")
    with pytest.raises(ConfigError, match="max_vm: unknown key"):
        load_config()


def test_bad_environment_value_names_the_variable(monkeypatch):
    monkeypatch.setenv("WRECKIT_TUI_MAX_VMS", "many")
    with pytest.raises(ConfigError, match="environment variable WRECKIT_TUI_MAX_VMS: max_vms"):
        load_config()


def test_explicitly_named_missing_file_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(str(tmp_path / "nope.toml"))


def test_cli_reports_a_broken_file_with_exit_2_and_never_rewrites_it(isolated_config, fake_wisp):
    broken = "max_vms = [unclosed\n"
    isolated_config.write_text(broken)
    before = isolated_config.stat().st_mtime_ns
    result = run_cli("--headless", "--wisp", str(fake_wisp.path))
    assert result.returncode == 2
    assert str(isolated_config) in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert isolated_config.read_text() == broken
    assert isolated_config.stat().st_mtime_ns == before
    assert fake_wisp.calls() == []


def test_cli_set_flag_overrides_any_key(fake_wisp):
    fake_wisp.set_fleet([{"name": f"s{i}", "state": "running"} for i in range(3)])
    result = run_cli("start", "new", "--set", "max_vms=3", "--wisp", str(fake_wisp.path))
    assert result.returncode == 2
    assert "quota" in result.stderr
    bad = run_cli("--set", "nonsense=1", "--headless", "--wisp", str(fake_wisp.path))
    assert bad.returncode == 2
    assert "--set" in bad.stderr


@pytest.mark.parametrize(
    ("setting", "words"),
    [
        ('max_vms = "lots"', "max_vms: must be a whole number, not 'lots'"),
        ("max_vms = 0", "max_vms: must be at least 1, not 0"),
        ("timeout = -1", "timeout: must be more than 0, not -1"),
        ("default_cpus = 99", "default_cpus: must be at most 64, not 99"),
        ('poll_interval = "soon"', "poll_interval: must be a number, not 'soon'"),
        ("theme = 5", "theme: must be text in quotes, not 5"),
    ],
)
def test_config_errors_are_in_plain_words(isolated_config, setting, words):
    isolated_config.write_text(setting + "\n")
    with pytest.raises(ConfigError) as caught:
        load_config()
    assert caught.value.message.endswith(f"(line 1): {words}")
    assert "Input should" not in caught.value.message


def one_error_line(result) -> str:
    """The one line a refused run printed on stderr, after checking that it is alone."""
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("wreckit-tui: error: ")
    return lines[0]


@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "directory"])
def test_a_config_that_is_not_a_regular_file_is_refused_at_once(tmp_path, fake_wisp, kind):
    path = {"fifo": tmp_path / "fifo.toml", "dev-zero": "/dev/zero", "directory": tmp_path}[kind]
    if kind == "fifo":
        os.mkfifo(path)
    for where in (["--config", str(path)], []):
        env = {} if where else {"WRECKIT_TUI_CONFIG": str(path)}
        result = run_cli(*where, "--headless", "--wisp", str(fake_wisp.path), env=env, timeout=10)
        assert result.returncode == 2
        assert (
            one_error_line(result)
            == f"wreckit-tui: error: config file {path} is not a regular file"
        )
    assert fake_wisp.calls() == []


def test_a_fifo_at_the_default_place_is_refused_too(tmp_path, fake_wisp):
    config_dir = tmp_path / "xdg" / "wreckit-tui"
    config_dir.mkdir(parents=True)
    os.mkfifo(config_dir / "config.toml")
    env = {"XDG_CONFIG_HOME": str(tmp_path / "xdg"), "WRECKIT_TUI_CONFIG": ""}
    result = run_cli("--headless", "--wisp", str(fake_wisp.path), env=env, timeout=10)
    assert result.returncode == 2
    assert "config.toml is not a regular file" in one_error_line(result)


def test_a_config_file_over_one_mib_is_refused(isolated_config, fake_wisp):
    isolated_config.write_text("# padding\n" * 110_000)  # 1.1 MB of comments: valid TOML
    result = run_cli("--headless", "--wisp", str(fake_wisp.path), timeout=10)
    assert result.returncode == 2
    assert one_error_line(result).endswith(f"config file {isolated_config} is larger than 1024 KiB")
    isolated_config.write_text("# padding\n" * 100_000)  # 1.0 MB is still fine
    assert run_cli("--headless", "--wisp", str(fake_wisp.path)).returncode == 0


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("max_vms = " + "[" * 50_000, "is not valid TOML: nested too deeply"),
        ("theme = " + "{a=" * 50_000, "is not valid TOML: nested too deeply"),
        (b"theme = '\xff\xfe'\n", "cannot be read: it is not UTF-8"),
    ],
    ids=["deep-array", "deep-table", "not-utf8"],
)
def test_a_config_file_no_parser_could_read_is_one_line(isolated_config, fake_wisp, text, problem):
    if isinstance(text, bytes):
        isolated_config.write_bytes(text)
    else:
        isolated_config.write_text(text)
    result = run_cli("--headless", "--wisp", str(fake_wisp.path), timeout=10)
    assert result.returncode == 2
    assert one_error_line(result).endswith(f"config file {isolated_config} {problem}")


def test_an_unusable_detach_key_is_refused_with_the_reason(isolated_config):
    isolated_config.write_text('detach_key = "ctrl+c"\n')
    with pytest.raises(ConfigError) as caught:
        load_config()
    message = caught.value.message
    assert "detach_key 'ctrl+c' cannot be used: Ctrl+C must reach the sprite" in message
    assert load_config(flags={"detach_key": "ctrl+a"}).detach_key == "ctrl+a"


def test_checking_the_detach_key_loads_no_terminal_or_pty_code():
    attach_modules = ("attach", "terminal_modes", "attach_signals", "child_ending")
    code = (
        "import sys\n"
        "from wreckit_tui.config import Config\n"
        "Config(detach_key='ctrl+a')\n"
        f"loaded = [m for m in {attach_modules!r} if 'wreckit_tui.' + m in sys.modules]\n"
        "sys.exit(' '.join(loaded) or None)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, f"config loaded {result.stderr.strip()}"


def test_default_command_is_empty_then_checked_like_a_shell_line(isolated_config, monkeypatch):
    assert load_config().default_command == ""
    isolated_config.write_text("default_command = \"claude -p 'fix the bug'\"\n")
    assert load_config().default_command == "claude -p 'fix the bug'"
    monkeypatch.setenv("WRECKIT_TUI_DEFAULT_COMMAND", "codex")
    assert load_config().default_command == "codex"


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("claude -p 'unclosed", "cannot read the command: no closing quotation"),
        ("a\0b", "a command cannot hold a NUL byte"),
        ("x" * 4097, "a command is at most 4096 characters"),
        ("''", "the command's program name is empty"),
    ],
)
def test_a_default_command_that_is_no_command_line_is_refused(value, words):
    with pytest.raises(ConfigError) as caught:
        load_config(flags={"default_command": value}, environ={})
    assert f"command-line option for default_command: default_command: {words}" in (
        caught.value.message
    )
