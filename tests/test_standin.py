"""The stand-in application image holds the seed image's facts, and the ported variant the
hardening of "The application image", read from the built root file systems.

The build needs mmdebstrap, bubblewrap and root. The run's cache (conftest) starts empty, so the
first build takes about 70 s; ENROLLCFN_STANDIN_CACHE names a cache kept between runs."""

from __future__ import annotations

import re
import time

import pytest

from enrollcfn.local import standin

pytestmark = [
    pytest.mark.fargate,
    pytest.mark.skipif(bool(standin.missing_tools()), reason=f"the stand-in image needs {', '.join(standin.missing_tools())}"),
]


@pytest.fixture(scope="module")
def seed():
    return standin.build("seed", progress=lambda line: None)


@pytest.fixture(scope="module")
def ported():
    return standin.build("ported", progress=lambda line: None)


def _read(image, path):
    return (image.rootfs / path.lstrip("/")).read_text()


def _directives(conf):
    """nginx.conf's directives without comments, one per item, whitespace collapsed."""
    text = re.sub(r"#[^\n]*", "", conf)
    return [" ".join(part.split()) for part in re.split(r"[;{}]", text) if part.strip()]


def test_a_second_build_reads_the_cache(seed):
    started = time.monotonic()
    again = standin.build("seed", progress=lambda line: pytest.fail(f"rebuilt: {line}"))
    assert time.monotonic() - started < 1
    assert again == seed


def test_seed_www_data_is_1000_1001(seed):
    assert "www-data:x:1000:1001:" in _read(seed, "/etc/passwd")
    assert "www-data:x:1001:" in _read(seed, "/etc/group")
    for path in ("var/www", "var/www/artisan", "var/www/storage/framework/sessions", "var/www/bootstrap/cache/packages.php"):
        stat = (seed.rootfs / path).stat()
        assert (stat.st_uid, stat.st_gid) == (1000, 1001), path


def test_seed_nginx_runs_as_www_data_on_80_with_file_logs(seed):
    directives = _directives(_read(seed, "/etc/nginx/nginx.conf"))
    assert "user www-data" in directives
    assert "listen 80" in directives
    assert "error_log /var/log/nginx/error.log" in directives
    assert "access_log /var/log/nginx/access.log" in directives
    assert not [d for d in directives if d.startswith("pid ")]
    assert not (seed.rootfs / "etc/nginx/sites-enabled/default").exists()


def test_seed_php_fpm_as_the_official_image(seed):
    assert (seed.rootfs / "usr/local/sbin/php-fpm").readlink().as_posix() == "/usr/sbin/php-fpm8.2"
    main = _read(seed, "/etc/php/8.2/fpm/php-fpm.conf")
    assert "error_log = /proc/self/fd/2" in main and not re.search(r"^\s*pid\s*=", main, re.M)
    pool = _read(seed, "/etc/php/8.2/fpm/pool.d/www.conf")
    for line in ("listen = 127.0.0.1:9000", "user = www-data", "group = www-data", "clear_env = no",
                 "access.log = /proc/self/fd/2", "catch_workers_output = yes"):
        assert line in pool


def test_seed_entrypoint_migrates_without_set_e(seed):
    script = _read(seed, "/usr/local/bin/entrypoint.sh")
    assert not re.search(r"^\s*set\s+-\w*e", script, re.M)
    assert "php artisan migrate --force" in script
    assert "cp .env.example .env" in script
    assert "php-fpm -D" in script and "nginx -g 'daemon off;'" in script
    assert (seed.rootfs / "usr/local/bin/entrypoint.sh").stat().st_mode & 0o111


def test_seed_config_runs_as_root_without_volumes(seed):
    config = seed.config
    assert config["User"] == "" and config["Volumes"] == {}
    assert config["ExposedPorts"] == {"9000/tcp": {}}
    assert config["Entrypoint"] == ["/usr/local/bin/entrypoint.sh"] and config["Cmd"] is None
    assert config["WorkingDir"] == "/var/www"
    assert (config["architecture"], config["os"]) == ("amd64", "linux")


def test_seed_app_is_laravel_without_proxies(seed):
    assert (seed.rootfs / "var/www/vendor/autoload.php").is_file()
    assert (seed.rootfs / "var/www/bootstrap/cache/services.php").is_file()
    assert not (seed.rootfs / "var/www/bootstrap/cache/config.php").exists()
    assert "protected $proxies;" in _read(seed, "/var/www/app/Http/Middleware/TrustProxies.php")
    assert "LOG_CHANNEL=stack" in _read(seed, "/var/www/.env.example")


def test_ported_runs_as_www_data_with_the_three_volumes(ported):
    config = ported.config
    assert config["User"] == "www-data"
    assert config["ExposedPorts"] == {"8080/tcp": {}}
    assert set(config["Volumes"]) == {"/var/www/storage", "/var/www/bootstrap/cache", "/tmp"}
    assert "MYSQL_ATTR_SSL_CA=/etc/ssl/rds/ca-bundle.pem" in config["Env"]
    assert (ported.rootfs / "etc/ssl/rds/ca-bundle.pem").is_file()


def test_ported_nginx_listens_on_8080_and_logs_to_the_container(ported):
    directives = _directives(_read(ported, "/etc/nginx/nginx.conf"))
    assert "listen 8080" in directives
    assert not [d for d in directives if d.startswith("user ")]
    assert "pid /tmp/nginx.pid" in directives
    assert "error_log /dev/stderr" in directives and "access_log /dev/stdout" in directives
    for kind in ("client_body", "fastcgi", "proxy", "uwsgi", "scgi"):
        assert [d for d in directives if d.startswith(f"{kind}_temp_path /tmp/")], kind


def test_ported_serves_without_migrating(ported):
    script = _read(ported, "/usr/local/bin/entrypoint.sh")
    assert "migrate" not in script and "cp .env" not in script
    assert "exec nginx -e stderr -g 'daemon off;'" in script
    pool = _read(ported, "/etc/php/8.2/fpm/pool.d/www.conf")
    assert not re.search(r"^\s*(user|group)\s*=", pool, re.M)
    assert "protected $proxies = '*';" in _read(ported, "/var/www/app/Http/Middleware/TrustProxies.php")
