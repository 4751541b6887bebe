"""bot.cluster without starting it: the processes it would run, the settings they share, the nginx config."""
import shutil
import subprocess
from pathlib import Path

import pytest

from bot.cluster import Cluster, nginx_config
from bot.settings import Settings

ADDRESSES = ["127.0.0.1:7001", "127.0.0.1:7002", "127.0.0.1:7003"]


def test_three_replicas_each_on_its_own_port_and_the_console_loads_models_into_all(tmp_path):
    cluster = Cluster(Settings(var_dir=tmp_path, redis_url="redis://127.0.0.1:1/0"), replicas=3)
    children = {child.name: child for child in cluster._children()}
    assert sorted(children) == ["actions", "console", "nginx", "rasa-1", "rasa-2", "rasa-3"]
    ports = [children[f"rasa-{n}"].args[children[f"rasa-{n}"].args.index("-p") + 1] for n in (1, 2, 3)]
    assert ports == [str(p) for p in cluster.replica_ports] and len(set(ports)) == 3
    assert list(cluster.settings.replicas) == cluster.replica_urls
    assert children["console"].env["RASA_REPLICAS"] == ",".join(cluster.replica_urls)
    # the same secrets in every Rasa process: a visitor's session token from one is good on the other
    assert len({children[f"rasa-{n}"].env["IDENTITY_SECRET"] for n in (1, 2, 3)}) == 1


def test_the_widget_may_connect_from_nginx_and_the_servers_trust_one_proxy(tmp_path):
    cluster = Cluster(Settings(var_dir=tmp_path), replicas=2, port=18080)
    assert cluster.url == "http://127.0.0.1:18080"
    assert cluster.url in cluster.settings.allowed_origins
    assert cluster.settings.proxies_count == 1
    mine = Cluster(Settings(var_dir=tmp_path, widget_origins=("https://shop.example",)))
    assert mine.settings.allowed_origins == ["https://shop.example"]  # set ones are kept


def test_no_replicas_is_refused(tmp_path):
    with pytest.raises(ValueError):
        Cluster(Settings(var_dir=tmp_path), replicas=0)


def test_the_rendered_config_names_every_replica_and_leaves_no_placeholder(tmp_path):
    text = nginx_config(tmp_path, "127.0.0.1:18080", ADDRESSES, "127.0.0.1:7100", 65536, logs=tmp_path)
    assert "{{" not in text
    assert all(f"server {address} " in text for address in ADDRESSES)
    assert "listen 127.0.0.1:18080;" in text and "client_max_body_size 65536;" in text


@pytest.mark.skipif(not (shutil.which("nginx") or Path("/usr/sbin/nginx").exists()), reason="no nginx")
def test_nginx_accepts_the_rendered_config(tmp_path):
    conf = tmp_path / "nginx.conf"
    conf.write_text(nginx_config(tmp_path, "127.0.0.1:18080", ADDRESSES, "127.0.0.1:7100", 65536, logs=tmp_path))
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    run = subprocess.run([nginx, "-t", "-e", str(tmp_path / "e.log"), "-p", str(tmp_path), "-c", str(conf)],
                         capture_output=True, text=True, timeout=30)
    assert run.returncode == 0, run.stderr
