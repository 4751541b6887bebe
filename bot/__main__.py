"""`python -m bot <command>`: run the whole bot, or render the domain from the shop facts."""
from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import time
from types import FrameType
from typing import TYPE_CHECKING, Callable, List, Optional, Sequence

from bot import shop
from bot.private_files import PRIVATE_UMASK
from bot.settings import (
    ENV_CONSOLE_ADMIN_PASSWORD,
    ENV_EMBEDDED_REDIS_PASSWORD,
    ENV_IDENTITY_SECRET,
    ENV_TRAIN_DATA_DIR,
    ENV_TRAIN_DOMAIN_DIR,
    IDENTITY_SECRET_FILE,
    REDIS_PASSWORD_FILE,
    Settings,
    SettingsError,
    get_settings,
    missing_secrets,
    run_settings,
    where_secret,
)

if TYPE_CHECKING:  # bot.runner is imported only by the commands that run servers
    from bot.cluster import Cluster
    from bot.runner import Stack
    from bot.training.models import Activation, ModelStore


def cmd_domain(_: argparse.Namespace) -> int:
    changed = shop.write_answers()
    print(f"{shop.ANSWERS_DOMAIN_FILE.relative_to(shop.ROOT)} {'updated' if changed else 'up to date'}")
    return 0


def rest_line(settings: Settings) -> str:
    """The REST channel as a curl command, the token by name (never printed), or that it is off."""
    if not settings.rest_token:
        return "off (set REST_TOKEN to turn it on)"
    return (f'curl -s -H "Authorization: Bearer $REST_TOKEN" {settings.rasa_url}/webhooks/rest/webhook '
            "-d '{\"sender\":\"me\",\"message\":\"hi\"}'")


def admin_hint(where: Optional[str]) -> str:
    if where == ENV_CONSOLE_ADMIN_PASSWORD:
        return f"password from {ENV_CONSOLE_ADMIN_PASSWORD}"
    if where:
        return f"password in {where}"
    return "password as set by an admin"


def shown_database(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def banner(stack: Stack) -> str:
    """Where everything is, and where the secrets are kept: never the secrets themselves (terminals get logged)."""
    settings = stack.settings
    var = settings.var_dir
    redis_desc = settings.redis.shown() if settings.redis_url else (
        f"embedded redis on 127.0.0.1:{settings.embedded_redis_port} (data in {var / 'redis'}, "
        f"password in {where_secret(ENV_EMBEDDED_REDIS_PASSWORD, var / REDIS_PASSWORD_FILE)})")
    demo = (f"{settings.rasa_url}/webhooks/widget/demo  (demo mode: ?customer=C00001 signs in a demo customer, "
            "for browsers on this machine only)" if settings.demo_mode else
            f"off (DEMO_MODE=0); put {settings.rasa_url}/webhooks/widget/widget.js on your shop's pages")
    return (
        "\nThe bot is running.\n"
        f"  Demo shop with the chat widget: {demo}\n"
        f"  Agent console:  {settings.console_url}/  (user {stack.admin[0]}; {admin_hint(stack.admin[1])})\n"
        f"  Analytics:      {settings.console_url}/analytics  (admins)\n"
        f"  Chat (REST):    {rest_line(settings)}\n"
        f"  Rasa HTTP API:  {settings.rasa_url}  (?token= this run's token, in {stack.rasa_token_file})\n"
        f"  Signed-in customers: your shop signs their ids with the identity secret, in "
        f"{where_secret(ENV_IDENTITY_SECRET, var / IDENTITY_SECRET_FILE)} (see README)\n"
        f"  Trackers:       {shown_database(settings.sql_url)}\n"
        f"  Redis:          {redis_desc}\n"
        f"  Logs:           {stack.log_dir}/\n"
        "Press Ctrl-C to stop."
    )


def cmd_run(_: argparse.Namespace) -> int:
    from bot.runner import Stack

    print("Starting Redis, the action server, Rasa and the agent console (Rasa takes 20-60 s to load)...", flush=True)
    return supervise(Stack(run_settings()), banner)


def cluster_banner(cluster: Cluster) -> str:
    """Where the cluster answers: nginx for the world, each process's own address for operators."""
    settings = cluster.settings
    replicas = "\n".join(f"    {url}  (/readyz, /metrics; Rasa HTTP API with ?token= in "
                         f"{cluster.rasa_token_file})" for url in cluster.replica_urls)
    return (
        "\nThe cluster is running.\n"
        f"  Public address (nginx): {cluster.url}/  (the agent console; user {cluster.admin[0]}; "
        f"{admin_hint(cluster.admin[1])})\n"
        f"  Chat widget:    {cluster.url}/webhooks/widget/widget.js  (socket.io at {cluster.url}/socket.io/)\n"
        f"  Rasa replicas:\n{replicas}\n"
        f"  Console itself: {settings.console_url}  (/readyz, /metrics)\n"
        f"  Action server:  {settings.actions_url} (loopback only)\n"
        f"  Trackers:       {shown_database(settings.sql_url)}\n"
        f"  Redis:          {settings.redis.shown()}\n"
        f"  Logs:           {cluster.log_dir}/ (nginx: {cluster.nginx_dir}/)\n"
        "Press Ctrl-C to stop."
    )


def cmd_cluster(args: argparse.Namespace) -> int:
    from bot import db
    from bot.cluster import Cluster, write_compose_nginx_config

    if args.compose_nginx:
        print(f"wrote {write_compose_nginx_config().relative_to(shop.ROOT)}")
        return 0
    settings = run_settings()
    if settings.database_url and db.ensure_database(settings.database_url):
        print(f"created the database {shown_database(settings.database_url)}", flush=True)
    cluster = Cluster(settings, replicas=args.replicas, port=settings.cluster_port)
    print(f"Starting {args.replicas} Rasa replicas, the action server, the console and nginx...", flush=True)
    return supervise(cluster, cluster_banner)


def supervise(stack: Stack, describe: Callable) -> int:
    """Start the stack, print where it is, restart what dies until Ctrl-C or SIGTERM, then stop it all."""
    from bot import db
    from bot.runner import StartError

    try:
        stack.start()
    except StartError as err:
        print(f"\nCould not start: {err}", file=sys.stderr)
        return 1
    print(describe(stack), flush=True)
    stopping: List[int] = []

    def on_signal(signum: int, _frame: Optional[FrameType]) -> None:
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
        db.dispose_all()  # the demo shop, first admin and touchpoint schema were prepared here
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


def cmd_nlu(args: argparse.Namespace) -> int:
    """Teach, unteach or show NLU examples; a change is logged in the change history (source "cli", by the OS
    user) and can be undone in the console. A refusal (bad input, unknown intent) changes nothing and exits 2."""
    from pathlib import Path

    from bot.training.changes import TrainingChanges
    from bot.training.nlu_data import NluData, NluDataError

    settings = get_settings()
    data = NluData(Path(args.data or settings.train_data_dir), Path(args.domain or settings.train_domain_dir))
    try:
        if args.nlu_command == "list":
            print("\n".join(data.examples_of(args.intent)))
            return 0
        changes = TrainingChanges(settings.sql_url, data)
        try:
            if args.nlu_command == "add":
                change = changes.teach(args.intent, args.text, os_user(), new=args.new, source="cli", file=args.file)
            else:
                change = changes.unteach(args.text, os_user(), source="cli")
        finally:
            changes.close()
        logged = f" (change {change.id} in the history)" if change.id is not None else ""
        print(f"{change.detail.get('message', '')}{logged}")
    except NluDataError as err:
        print(f"refused: {err}", file=sys.stderr)
        return 2
    return 0


def add_nlu_parser(sub: argparse._SubParsersAction) -> None:
    nlu = sub.add_parser("nlu", help="add, move, remove or list NLU training examples (data/nlu/*.yml)")
    nlu.add_argument("--data", help=f"the training data folder (default: {ENV_TRAIN_DATA_DIR} or the project's)")
    nlu.add_argument("--domain", help=f"the domain folder (default: {ENV_TRAIN_DOMAIN_DIR} or the project's)")
    verbs = nlu.add_subparsers(dest="nlu_command", required=True)
    add = verbs.add_parser("add", help="teach TEXT as an example of INTENT (moved there if another intent has it)")
    add.add_argument("intent")
    add.add_argument("text")
    add.add_argument("--new", action="store_true", help="create INTENT (NLU block and domain entry) if unknown")
    add.add_argument("--file", help="with --new: the topic file, e.g. data/nlu/orders.yml (default: the one named "
                     "by the intent's first word, faq_* -> faq.yml, else data/nlu/new_intents.yml)")
    verbs.add_parser("remove", help="remove TEXT wherever it is taught").add_argument("text")
    verbs.add_parser("list", help="the examples of INTENT").add_argument("intent")
    nlu.set_defaults(func=cmd_nlu)


def os_user() -> str:
    """Who runs a CLI command, for the logs (changes, inbox imports, activations): the one place it is asked."""
    import getpass

    try:
        return getpass.getuser()[:32] or "cli"
    except (KeyError, OSError):  # no user name for this uid (a container)
        return "cli"


def cmd_train_job(args: argparse.Namespace) -> int:
    """The training job's process (started by bot.training.jobs at idle priority; not for people)."""
    from pathlib import Path

    from bot.training import trainer

    if not args.normal_priority:
        trainer.idle_priority()  # before Rasa and TensorFlow are imported: everything after runs idle
    return trainer.run(Path(args.job))


def print_progress(status: dict, shown: List[str]) -> None:
    line = f"{status['progress']:6.1%}  {status['stage']}: {status.get('detail') or ''}"
    if not shown or shown[-1] != line:
        print(line, flush=True)
        shown.append(line)


def cmd_train(args: argparse.Namespace) -> int:
    """A training job in the foreground: the same job the console starts, its progress printed."""
    from bot.training.evaluate import describe
    from bot.training.jobs import TrainingBusy, TrainingJobs

    jobs = TrainingJobs(get_settings())
    try:
        job = jobs.start(os_user(), cross_validate=args.cross_validate)
    except TrainingBusy as err:
        print(f"refused: {err}", file=sys.stderr)
        return 2
    print(f"training job {job.id} (low CPU priority; log in {job.path})", flush=True)
    shown: List[str] = []
    try:
        status = jobs.wait(job.id, on_status=lambda s: print_progress(s, shown))
    except KeyboardInterrupt:
        print(jobs.cancel(job.id, os_user())["stage"], file=sys.stderr)
        return 130
    if status["stage"] != "done":
        print(f"{status['stage']}: {status.get('error')}", file=sys.stderr)
        return 1
    print("\n".join(describe(status["report"])))
    if args.activate:
        return activate_trained(job.id, args.activate)
    print(f"candidate {job.id}: `python -m bot model activate {job.id} --reason ...` makes it active")
    return 0


def activate_trained(candidate_id: str, reason: str) -> int:
    """`train --activate REASON` (`make train`): the new candidate activated through the gate, logged as the OS
    user's; refused, it stays a candidate and the active model is left as it is."""
    from bot.settings import running_rasa_token
    from bot.training.models import ModelError

    settings = get_settings()
    try:
        done = model_store(settings).activate(candidate_id, os_user(), reason, settings.replicas,
                                              running_rasa_token(settings))
    except ModelError as err:
        print(f"not activated: {err}\nthe active model is unchanged; candidate {candidate_id} is kept "
              f"(`python -m bot model activate {candidate_id} --force --reason ...` overrides)", file=sys.stderr)
        return 1
    return print_activation(done)


def cmd_evaluate(args: argparse.Namespace) -> int:
    """`make evaluate`: the active model on the blind sets and the conversation tests, and the current data
    cross-validated; exits 1 if the conversation tests fail (what the gate would hold against it)."""
    import tempfile
    from pathlib import Path

    from bot.training import evaluate

    evaluate.quiet_libraries()  # the report, not a debug line per parse
    settings = get_settings()
    model = settings.models_dir / "current.tar.gz"
    if not model.exists():
        print(f"no active model at {model}: `make train` first", file=sys.stderr)
        return 2
    folds = settings.train_cv_folds if args.folds is None else args.folds
    with tempfile.TemporaryDirectory() as tmp:
        report = evaluate.report(model, None, settings.train_stories_dir, Path(tmp), margin=settings.activate_f1_margin,
                                 folds_k=folds, data_dir=settings.train_data_dir, config=settings.train_config,
                                 domain=settings.train_domain_dir)
    print("\n".join(evaluate.describe(report)))
    worst = sorted(report["candidate"]["blind"]["blind"]["intents"].items(), key=lambda kv: kv[1]["f1"])[:8]
    print("weakest intents on the blind set (P/R/F1, n): " + "; ".join(
        f"{i} {s['precision']:.2f}/{s['recall']:.2f}/{s['f1']:.2f} ({s['support']})" for i, s in worst))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1), encoding="utf-8")
    return 1 if report["gate"] else 0


def model_store(settings: Settings) -> ModelStore:
    from bot.training.models import ModelStore

    return ModelStore(settings.models_dir, settings.sql_url, settings.activate_f1_margin)


def cmd_model(args: argparse.Namespace) -> int:
    """List the models, activate a candidate, roll back; a refusal changes nothing and exits 2."""
    from bot.settings import running_rasa_token
    from bot.training.models import ModelError

    settings = get_settings()
    store = model_store(settings)
    try:
        if args.model_command == "list":
            print_models(store)
            return 0
        token = running_rasa_token(settings)
        if args.model_command == "activate":
            done = store.activate(args.id, os_user(), args.reason, settings.replicas, token, force=args.force)
        else:
            done = store.rollback(os_user(), args.reason, settings.replicas, token)
    except ModelError as err:
        print(f"refused: {err}", file=sys.stderr)
        return 2
    return print_activation(done)


def print_activation(done: Activation) -> int:
    for replica in done.replicas:
        answer = "loaded" if replica["ok"] else f"not running (loads it when it starts): {replica['error']}" \
            if replica.get("unreachable") else f"FAILED: {replica['error']}"
        back = replica.get("restored")
        print(f"{replica['url']}: {answer}" + (f"; previous model reloaded: {'ok' if back['ok'] else back['error']}"
                                              if back else ""))
    if done.state == "failed":
        print(f"{done.kind} failed: a replica did not load {done.model}; {done.previous} was put back", file=sys.stderr)
    else:
        print(f"{done.kind}: {done.model} is active (was {done.previous}){'' if done.ok else ' [a replica failed]'}")
    return 0 if done.ok else 1


def print_models(store: ModelStore) -> None:
    active = store.active()
    print(f"active: {active['id'] if active else 'none'}")
    for c in store.candidates():
        f1 = "-" if c["macro_f1"] is None else f"{c['macro_f1']:.3f}"
        verdict = "may be activated" if not c["gate"] else "refused: " + "; ".join(c["gate"])
        print(f"candidate {c['id']}: blind macro-F1 {f1}; {verdict}")
    for h in store.history():
        print(f"earlier {h['id']}")
    for a in store.activations(10):
        print(f"{a.at.isoformat()} {a.kind} {a.model} (was {a.previous}) by {a.by}: {a.reason}"
              f"{'' if a.ok else f' [{a.state}]'}")


def add_model_parsers(sub: argparse._SubParsersAction) -> None:
    job = sub.add_parser("train-job", help="(internal) one training job's process")
    job.add_argument("--job", required=True)
    job.add_argument("--normal-priority", action="store_true", help="(benchmarks only) not at idle priority")
    job.set_defaults(func=cmd_train_job)
    train = sub.add_parser("train", help="validate, train and evaluate a candidate model at low CPU priority")
    train.add_argument("--cross-validate", action="store_true", help="also k-fold cross-validate the data")
    train.add_argument("--activate", metavar="REASON", help="then activate it through the gate (`make train`)")
    train.set_defaults(func=cmd_train)
    evaluate = sub.add_parser("evaluate", help="the active model on the blind sets and conversation tests, "
                              "and the data cross-validated")
    evaluate.add_argument("--folds", type=int, help="cross-validation folds (default TRAIN_CV_FOLDS; 0: none)")
    evaluate.add_argument("--json", help="also write the whole report to this file")
    evaluate.set_defaults(func=cmd_evaluate)
    model = sub.add_parser("model", help="list, activate or roll back models")
    verbs = model.add_subparsers(dest="model_command", required=True)
    verbs.add_parser("list", help="the active model, candidates, earlier models and the activation log")
    activate = verbs.add_parser("activate", help="make candidate ID active in every Rasa replica")
    activate.add_argument("id")
    activate.add_argument("--reason", required=True)
    activate.add_argument("--force", action="store_true", help="despite the gate's reasons (logged)")
    verbs.add_parser("rollback", help="make the model before the latest activation active again").add_argument(
        "--reason", required=True)
    model.set_defaults(func=cmd_model)


def cmd_inbox(args: argparse.Namespace) -> int:
    """The NLU inbox as a CSV file, and the decisions made in it applied; a refusal changes nothing and exits 2."""
    from pathlib import Path

    from bot.training import inbox_csv
    from bot.training.changes import TrainingChanges, TrainingError
    from bot.training.inbox import Inbox
    from bot.training.nlu_data import NluData

    settings = get_settings()
    inbox = Inbox(settings.touchpoints_url, settings.sql_url, settings.inbox_confidence, settings.inbox_days)
    changes = TrainingChanges(settings.sql_url, NluData(settings.train_data_dir, settings.train_domain_dir))
    try:
        if args.inbox_command == "export":
            print(f"wrote {inbox_csv.export(inbox, Path(args.file))} messages to {args.file}")
        else:
            print(inbox_csv.apply(Path(args.file), inbox, changes, os_user()).message())
    except TrainingError as err:
        print(f"refused: {err}", file=sys.stderr)
        return 2
    finally:
        inbox.close()
        changes.close()
    return 0


def add_inbox_parser(sub: argparse._SubParsersAction) -> None:
    inbox = sub.add_parser("inbox", help="export the NLU inbox (what the bot misunderstood) as CSV, import decisions")
    verbs = inbox.add_subparsers(dest="inbox_command", required=True)
    verbs.add_parser("export", help="write every open inbox message (masked) to FILE.csv").add_argument("file")
    verbs.add_parser("import", help="apply FILE.csv's decisions: an intent teaches the text, 'ignore' hides it").add_argument(
        "file")
    inbox.set_defaults(func=cmd_inbox)


def cmd_serve(args: argparse.Namespace) -> int:
    """Replace this process with one server (one container per server in docker-compose.yml)."""
    from bot.runner import ROOT, commands

    missing = missing_secrets(args.command)
    if missing:
        print(f"Configuration error: `python -m bot {args.command}` needs {', '.join(missing)}: the same value for "
              "every server (one made up here would match no other's; see docker-compose.yml)", file=sys.stderr)
        return 2
    _name, argv, env, _health = commands(get_settings())[args.command]
    os.chdir(ROOT)
    os.execvpe(argv[0], argv, env)  # noqa: S606 (argv is ours, not user input)
    return 1  # not reached


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="start Redis (embedded if no REDIS_URL), the action server and Rasa").set_defaults(func=cmd_run)
    cluster = sub.add_parser("cluster", help="the production topology here: Rasa replicas, actions, console, nginx")
    cluster.add_argument("--replicas", type=int, default=2, help="Rasa processes behind nginx (default 2)")
    cluster.add_argument("--compose-nginx", action="store_true",
                         help="only write cluster/nginx.compose.conf (docker-compose.yml's nginx) from the template")
    cluster.set_defaults(func=cmd_cluster)
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
    add_nlu_parser(sub)
    add_model_parsers(sub)
    add_inbox_parser(sub)
    args = parser.parse_args(argv)
    os.umask(PRIVATE_UMASK)  # every file and folder made from here on, by us or our children, is our user's alone
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return args.func(args)
    except SettingsError as err:
        print(f"Configuration error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
