"""`python -m bot <command>`: run the whole bot, or render the domain from the shop facts."""
from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import time

from bot import shop
from bot.settings import SettingsError, get_settings


def cmd_domain(_: argparse.Namespace) -> int:
    changed = shop.write_answers()
    print(f"{shop.ANSWERS_DOMAIN_FILE.relative_to(shop.ROOT)} {'updated' if changed else 'up to date'}")
    return 0


def demo_customer_curl(settings) -> str:
    import json

    from bot.identity import sign

    customer = "C00001"
    body = {"sender": "demo-C00001", "message": "hi",
            "metadata": {"customer": {"id": customer, "signature": sign(customer, settings.identity_secret)}}}
    return f"{rest_curl(settings)} -d '{json.dumps(body)}'"


def rest_curl(settings) -> str:
    """The REST channel's address as a curl command; the token by name, never printed."""
    return f'curl -s -H "Authorization: Bearer $REST_TOKEN" {settings.rasa_url}/webhooks/rest/webhook'


def rest_lines(settings) -> str:
    if not settings.rest_token:
        return "  Chat (REST):    off (set REST_TOKEN to turn it on)\n"
    return (f"  Chat (REST):    {rest_curl(settings)} -d '{{\"sender\":\"me\",\"message\":\"hi\"}}'\n"
            f"  As a signed-in demo customer (identity signed with IDENTITY_SECRET, see README):\n"
            f"                  {demo_customer_curl(settings)}\n")


def admin_hint(where) -> str:
    if where == "CONSOLE_ADMIN_PASSWORD":
        return "password from CONSOLE_ADMIN_PASSWORD"
    if where:
        return f"password in {where}"
    return "password as set by an admin"


def cmd_run(_: argparse.Namespace) -> int:
    from bot.runner import Stack, StartError

    settings = get_settings()
    stack = Stack(settings)
    print("Starting Redis, the action server, Rasa and the agent console (Rasa takes 20-60 s to load)...", flush=True)
    try:
        stack.start()
    except StartError as err:
        print(f"\nCould not start: {err}", file=sys.stderr)
        return 1
    redis_desc = settings.redis_url or (
        f"embedded redis on 127.0.0.1:{settings.embedded_redis_port} (data in {settings.var_dir / 'redis'})"
    )
    print(
        "\nThe bot is running.\n"
        f"  Demo shop with the chat widget: {settings.rasa_url}/webhooks/widget/demo\n"
        f"  Agent console:  {settings.console_url}/  (user {stack.admin[0]}; {admin_hint(stack.admin[1])})\n"
        f"  Analytics:      {settings.console_url}/analytics  (admins)\n"
        f"{rest_lines(stack.settings)}"
        f"  Rasa HTTP API:  {settings.rasa_url}  (token in RASA_TOKEN; this run: {settings.rasa_token})\n"
        f"  Trackers:       {settings.sql_url}\n"
        f"  Redis:          {redis_desc}\n"
        f"  Logs:           {stack.log_dir}/\n"
        "Press Ctrl-C to stop.",
        flush=True,
    )
    stopping = []

    def on_signal(signum, _frame):
        stopping.append(signum)

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        while not stopping:
            try:
                for name in stack.revive():
                    print(f"{name} stopped unexpectedly and was restarted (log: {stack.log_dir}/)", file=sys.stderr)
            except StartError as err:
                print(f"\nGiving up: {err}", file=sys.stderr)
                return 1
            time.sleep(0.5)
    finally:
        print("\nStopping...", flush=True)
        stack.stop()
        print("Stopped.")
    return 0


def cmd_seed(_: argparse.Namespace) -> int:
    from bot.runner import seed_demo_shop

    settings = get_settings()
    print(f"demo shop: {seed_demo_shop(settings.sql_url)} orders in {settings.sql_url}")
    return 0


def cmd_demo_data(args: argparse.Namespace) -> int:
    from bot.touchpoints import demo

    settings = get_settings()
    url = settings.touchpoints_url
    if args.remove:
        print(f"removed {demo.remove(url, settings.var_dir)} demo touchpoints from {url}")
    else:
        demo.forget_removal(settings.var_dir)
        print(f"added {demo.fill(url, days=args.days, per_day=args.per_day)} demo touchpoints to {url}")
    return 0


def cmd_tone_train(_: argparse.Namespace) -> int:
    from bot.frustration import training

    print(training.train_and_write())
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    """Replace this process with one server (one container per server in docker-compose.yml)."""
    from bot.runner import ROOT, commands

    _name, argv, env, _health = commands(get_settings())[args.command]
    os.chdir(ROOT)
    os.execvpe(argv[0], argv, env)  # noqa: S606 (argv is ours, not user input)
    return 1  # not reached


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="start Redis (embedded if no REDIS_URL), the action server and Rasa").set_defaults(func=cmd_run)
    sub.add_parser("rasa", help="exec the Rasa server alone (for containers)").set_defaults(func=cmd_serve)
    sub.add_parser("actions", help="exec the action server alone (for containers)").set_defaults(func=cmd_serve)
    sub.add_parser("console", help="exec the agent console alone (for containers)").set_defaults(func=cmd_serve)
    sub.add_parser("seed", help="create and fill the demo shop's orders (once)").set_defaults(func=cmd_seed)
    sub.add_parser("domain", help="render domain/answers.yml from shop/facts.yml").set_defaults(func=cmd_domain)
    sub.add_parser("tone-train", help="train the frustration tone and blend (bot/frustration/*.json)").set_defaults(
        func=cmd_tone_train)
    demo_cmd = sub.add_parser("demo-data", help="add (or --remove) demo conversations for the analytics dashboard")
    demo_cmd.add_argument("--remove", action="store_true")
    demo_cmd.add_argument("--days", type=int, default=21)
    demo_cmd.add_argument("--per-day", type=int, default=60)
    demo_cmd.set_defaults(func=cmd_demo_data)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return args.func(args)
    except SettingsError as err:
        print(f"Configuration error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
