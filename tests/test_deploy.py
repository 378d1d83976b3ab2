"""The deployable configuration: gunicorn.conf.py, and deploy/'s systemd units and nginx site,
checked by the tools that will read them (gunicorn itself, `nginx -t`, `systemd-analyze verify`)."""

import datetime
import os
import runpy
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from app import MAX_BODY_BYTES
from bot.config import Config
from bot.wechat import simulate
from tests.conftest import free_port
from tests.test_metrics import _get
from tests.test_scheduler import wait_until

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
UNITS = ("tongzhou.service", "tongzhou-scheduler.service")
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)


def self_signed(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "fullchain.pem", folder / "privkey.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


@pytest.mark.skipif(not NGINX, reason="nginx is not installed (Debian's nginx package)")
def test_the_nginx_site_passes_nginx_t(tmp_path):
    cert, key = self_signed(tmp_path)
    site = (DEPLOY / "nginx-tongzhou.conf").read_text()
    site = site.replace("/etc/ssl/tongzhou/fullchain.pem", str(cert)).replace("/etc/ssl/tongzhou/privkey.pem", str(key))
    site = site.replace("/var/log/nginx/", f"{tmp_path}/")
    (tmp_path / "site.conf").write_text(site)
    conf = tmp_path / "nginx.conf"
    conf.write_text(f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n")
    conf.write_text(conf.read_text() + f"http {{\n  include {tmp_path}/site.conf;\n}}\n")

    checked = subprocess.run([NGINX, "-t", "-c", str(conf), "-p", str(tmp_path)], capture_output=True, text=True)

    assert checked.returncode == 0, checked.stderr
    assert "test is successful" in checked.stderr


def test_the_nginx_site_matches_what_the_app_expects():
    site = (DEPLOY / "nginx-tongzhou.conf").read_text()
    units = (DEPLOY / "tongzhou.service").read_text()
    # One proxy that replaces X-Forwarded-For, and the app told to trust exactly one hop.
    assert (
        site.count("proxy_set_header X-Forwarded-For $remote_addr;") == 2 and "$proxy_add_x_forwarded_for" not in site
    )
    assert "PROXY_HOPS=1" in units
    assert f"client_max_body_size {MAX_BODY_BYTES // 1024}k;" in site
    assert "$request_uri" not in site.split("log_format", 1)[1].split(";", 1)[0]  # no query strings logged


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze is not installed")
@pytest.mark.parametrize("unit", UNITS)
def test_the_systemd_units_pass_systemd_analyze_verify(unit, tmp_path):
    # The units name the production paths; verify them against this checkout, whose .venv exists.
    env_file = tmp_path / "env"
    env_file.write_text("")
    text = (DEPLOY / unit).read_text().replace("/opt/tongzhou", str(ROOT))
    text = text.replace("EnvironmentFile=/etc/tongzhou/env", f"EnvironmentFile={env_file}")
    python = Path(sys.executable)
    text = text.replace(f"{ROOT}/.venv/bin/python", str(python)).replace(f"{ROOT}/.venv/bin/", f"{python.parent}/")
    (tmp_path / unit).write_text(text)

    checked = subprocess.run(["systemd-analyze", "verify", str(tmp_path / unit)], capture_output=True, text=True)

    if "Failed to" in checked.stderr and "bus" in checked.stderr.lower():
        pytest.skip(f"systemd-analyze cannot run here: {checked.stderr.strip()}")
    assert checked.returncode == 0, checked.stderr
    assert unit not in checked.stderr, checked.stderr  # no warning about our unit either


def test_gunicorn_conf_answers_before_wechat_gives_up_and_has_no_control_socket():
    settings = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert settings["timeout"] < 5  # WeChat waits 5 s
    assert settings["control_socket_disable"] is True
    assert settings["bind"] == f"{Config().host}:{Config().port}" and settings["workers"] == Config().workers


@pytest.mark.slow
def test_two_gunicorns_on_one_host_serve_log_no_query_strings_and_stop_gracefully(redis_url, r, tmp_path):
    ports = [free_port(), free_port()]
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("WECHAT_AES_KEY", "SCHEDULER_IN_PROCESS")},
        "REDIS_URL": redis_url,
        "HOME": str(tmp_path),  # where gunicorn would put ~/.gunicorn/gunicorn.ctl
        "WORKERS": "1",
        "LOG_LEVEL": "WARNING",
    }
    logs = [tmp_path / f"gunicorn-{port}.log" for port in ports]
    servers = []
    for port, log_path in zip(ports, logs, strict=True):
        with open(log_path, "w") as log:
            command = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "app:app"]
            servers.append(subprocess.Popen(command, cwd=ROOT, env={**env, "PORT": str(port)}, stdout=log, stderr=log))
    try:
        for port in ports:
            assert wait_until(lambda port=port: _get(port, "/healthz")[0] == 200, 60), logs[0].read_text()
        query, _body = simulate.signed(Config(), "")
        _get(ports[0], f"/wechat?{query}&echostr=hello")
    finally:
        for server in servers:
            server.send_signal(signal.SIGTERM)
        exit_codes = [server.wait(20) for server in servers]

    assert exit_codes == [0, 0], [log.read_text() for log in logs]
    assert not (tmp_path / ".gunicorn").exists()
    access = logs[0].read_text()
    assert '"GET /wechat HTTP/1.1" 200' in access and "signature" not in access and "echostr" not in access
