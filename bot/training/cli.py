"""Admin loop commands of ``python -m bot`` (``./bot``): inbox, train, evaluate, promote, rollback.

    bot inbox [list] [--status new|labelled|dismissed]    grouped messages the bot did not understand
    bot inbox label --group KEY --intent check_status     label a group (or --id 3 --id 4); --new-intent to create
    bot inbox dismiss --id 7                              dismiss (nothing is written to the training data)
    bot train [--verbose]                                 validate, train a candidate, compare (foreground)
    bot evaluate [--run N] [--model PATH]                 show a run's comparison / score a model on the regression set
    bot promote [--run N]                                 promote the candidate of run N (default: the latest)
    bot rollback [--to MODEL_FILE]                        back to the previous model (or the one named)
    bot models                                            live model, registry and promotion history

Each change is an audit row (``training_events``) with the actor ``cli:<login name>``.
"""
from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path
from typing import IO, Any

from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from bot.cases.db import transaction
from bot.errors import NotFound
from bot.settings import Settings

GROUPS = ("inbox", "train", "evaluate", "promote", "rollback", "models")


def add_parsers(groups: Any) -> None:
    """Add the admin loop's subcommands to the ``bot`` parser's subparsers."""
    inbox = groups.add_parser("inbox", help="待标注消息（NLU 收件箱）")
    inbox_cmds = inbox.add_subparsers(dest="command")
    listing = inbox_cmds.add_parser("list", help="按相似度分组列出")
    for parser in (inbox, listing):
        parser.add_argument("--status", default="new", choices=["new", "labelled", "dismissed"])
        parser.add_argument("--limit", type=int, default=50)
    label = inbox_cmds.add_parser("label", help="标注一组或几条消息")
    label.add_argument("--intent", required=True)
    label.add_argument("--new-intent", action="store_true", help="意图不存在时新建（加入 domain.yml）")
    dismiss = inbox_cmds.add_parser("dismiss", help="忽略一组或几条消息")
    dismiss.add_argument("--note", default=None)
    for parser in (label, dismiss):
        parser.add_argument("--id", type=int, action="append", dest="ids")
        parser.add_argument("--group", dest="group_key", default=None, help="组号（bot inbox 列出的方括号内的编号）")

    train = groups.add_parser("train", help="校验数据、训练候选模型并与线上模型对比")
    train.add_argument("--verbose", action="store_true", help="显示 Rasa 的全部输出")
    evaluate = groups.add_parser("evaluate", help="查看对比结果，或在回归集上评估一个模型")
    evaluate.add_argument("--run", type=int, default=None)
    evaluate.add_argument("--model", type=Path, default=None, help="模型文件：只在回归集上评估它")
    promote = groups.add_parser("promote", help="把候选模型上线（需通过 F1 门槛）")
    promote.add_argument("--run", type=int, default=None)
    rollback = groups.add_parser("rollback", help="回滚到之前的模型")
    rollback.add_argument("--to", default=None, help="模型文件名（默认：上线前的那个）")
    groups.add_parser("models", help="线上模型、模型列表和上线记录")


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # no login name (containers)
        return "cli"


def _pct(value: float | None) -> str:
    return "  -  " if value is None else f"{value:5.2f}"


def print_comparison(metrics: dict[str, Any], out: IO[str]) -> None:
    """The comparison of a run as plain text (per intent F1 side by side, gate, changes)."""
    regression = metrics["regression"]
    print(f"线上模型 {metrics.get('live_model')}  对比  候选模型 {metrics.get('candidate_model')}", file=out)
    print(f"回归集 {regression['size']} 条：准确率 {regression['live']['accuracy']:.3f} → "
          f"{regression['candidate']['accuracy']:.3f}，宏平均 F1 {regression['live']['macro_f1']:.3f} → "
          f"{regression['candidate']['macro_f1']:.3f}", file=out)
    print(f"{'意图':<24}{'样本':>5}  {'P线上':>6}{'P候选':>6}  {'R线上':>6}{'R候选':>6}  {'F1线上':>6}{'F1候选':>6}  变化",
          file=out)
    for row in regression["intents"]:
        print(f"{row['intent']:<24}{row['support']:>5}  {_pct(row['live_precision']):>6}{_pct(row['candidate_precision']):>6}"
              f"  {_pct(row['live_recall']):>6}{_pct(row['candidate_recall']):>6}  {_pct(row['live_f1']):>6}"
              f"{_pct(row['candidate_f1']):>6}  {row['delta']:+.2f}", file=out)
    inbox = metrics.get("inbox") or {}
    if inbox.get("size"):
        print(f"已标注的收件箱消息 {inbox['size']} 条：线上模型答对 {inbox['live_correct']} 条，"
              f"候选模型答对 {inbox['candidate_correct']} 条", file=out)
    cv = metrics.get("cross_validation")
    if cv:
        print(f"{cv['folds']} 折交叉验证（候选数据）：准确率 {cv['report']['accuracy']:.3f}，"
              f"宏平均 F1 {cv['report']['macro_f1']:.3f}", file=out)
    changes = metrics.get("changes") or []
    if changes:
        print(f"预测变化 {len(changes)} 条：", file=out)
        names = {"fixed": "改对", "broken": "改错", "changed": "仍错"}
        for c in changes[:50]:
            print(f"  [{names.get(c['kind'], c['kind'])}] {c['text']}  标注 {c['gold']}：{c['live']} → {c['candidate']}",
                  file=out)
    print(metrics["gate"]["message"], file=out)


def _latest_done_run(factory: sessionmaker) -> int:
    from bot.training.models import RunState, TrainingRun

    with transaction(factory) as session:
        run_id = session.execute(
            select(TrainingRun.id).where(TrainingRun.state == RunState.DONE.value).order_by(TrainingRun.id.desc()).limit(1)
        ).scalar_one_or_none()
    if run_id is None:
        raise NotFound("no finished run", user_message="还没有完成的训练，请先运行 bot train。")
    return int(run_id)


def run(args: argparse.Namespace, settings: Settings, factory: sessionmaker, out: IO[str]) -> int:
    """Execute one admin loop command; returns the exit code."""
    from bot.training import inbox, promotion, runs

    actor = _actor()
    project = Path(settings.training_project_dir)
    if args.group == "inbox":
        command = getattr(args, "command", None) or "list"
        if command == "list":
            counts = inbox.counts(factory)
            print(f"待标注 {counts['new']} 条，已标注 {counts['labelled']} 条，已忽略 {counts['dismissed']} 条", file=out)
            for group in inbox.list_groups(factory, args.status, args.limit):
                predicted = ", ".join(f"{k}×{v}" for k, v in group.predicted.items())
                print(f"[{group.key}] {group.count} 条  原判 {predicted}  例：{group.sample}", file=out)
                for item in group.items[:5]:
                    conf = "-" if item.confidence is None else f"{item.confidence:.2f}"
                    print(f"    #{item.id} {item.text_masked}  ({item.reason}, {conf}, {item.channel})", file=out)
            return 0
        if command == "label":
            result = inbox.do_label(factory, project, args.intent, by=actor, ids=args.ids, group_key=args.group_key,
                                    create_intent=args.new_intent)
            print(f"已把 {result.count} 条消息标注为 {result.intent}，写入 {', '.join(result.files)}。", file=out)
            if result.notice:
                print(result.notice, file=out)
            return 0
        count = inbox.do_dismiss(factory, by=actor, ids=args.ids, group_key=args.group_key, note=args.note)
        print(f"已忽略 {count} 条消息。", file=out)
        return 0
    if args.group == "train":
        queued = runs.do_request_training(factory, by=actor)
        print(f"第 {queued.id} 次训练开始（数据校验 → 训练候选模型 → 评估 → 交叉验证 → 对比）。", file=out)
        echo = (lambda line: print(line, file=sys.stderr)) if args.verbose else \
            (lambda line: print(line, file=out) if line.startswith("== ") else None)
        done = runs.execute_run(factory, settings, queued.id, echo=echo)
        if done.state != "done":
            print(f"训练失败：{done.error}", file=out)
            return 1
        print_comparison(done.metrics or {}, out)
        print(f"确认无误后上线：bot promote --run {done.id}", file=out)
        return 0
    if args.group == "evaluate":
        if args.model is not None:
            return _evaluate_model(args.model, settings, out)
        run_id = args.run or _latest_done_run(factory)
        found = runs.get_run(factory, run_id)
        if not found.metrics:
            print(f"第 {run_id} 次训练没有对比结果（{found.state}）。", file=out)
            return 1
        print(f"第 {run_id} 次训练：", file=out)
        print_comparison(found.metrics, out)
        return 0
    if args.group == "promote":
        run_id = args.run or _latest_done_run(factory)
        done_promotion = promotion.do_promote(factory, settings, run_id, by=actor)
        print(f"已上线 {done_promotion.model_file}（之前是 {done_promotion.previous_model_file}）。"
              "如需撤回：bot rollback", file=out)
        return 0
    if args.group == "rollback":
        back = promotion.do_rollback(factory, settings, by=actor, to_model=args.to)
        print(f"已回滚到 {back.model_file}（之前是 {back.previous_model_file}）。", file=out)
        return 0
    live_file = None
    try:
        live_file = promotion.live_model(settings).model_file
        print(f"线上模型：{live_file}", file=out)
    except Exception as exc:  # show the registry even when Rasa is down
        print(f"线上模型：未知（{getattr(exc, 'user_message', exc)}）", file=out)
    for model in promotion.list_models(factory, live_file):
        flags = ("线上 " if model.live else "") + ("" if model.exists else "文件缺失 ")
        print(f"{model.file_name}  {flags}训练#{model.run_id or '-'}  {model.created_at:%Y-%m-%d %H:%M}", file=out)
    for row in promotion.history(factory, 20):
        kind = "上线" if row.kind == "promote" else "回滚"
        print(f"{row.at:%Y-%m-%d %H:%M} {kind} {row.model_file}（之前 {row.previous_model_file}）由 {row.by}", file=out)
    return 0


def _evaluate_model(model: Path, settings: Settings, out: IO[str]) -> int:
    from bot.training.metrics import report
    from bot.training.runs import regression_examples
    from bot.training.toolchain import RasaToolchain

    if not model.is_file():
        print(f"找不到模型文件 {model}", file=out)
        return 1
    examples = regression_examples(settings)
    predictions = RasaToolchain().predict([model], [e.text for e in examples], lambda _line: None)[str(model)]
    result = report([e.intent for e in examples], [p.intent for p in predictions])
    print(f"{model.name} 在回归集 {result.total} 条上：准确率 {result.accuracy:.3f}，宏平均 F1 {result.macro_f1:.3f}",
          file=out)
    for name, score in sorted(result.scores.items()):
        print(f"{name:<24}{score.support:>5}  P {score.precision:.2f}  R {score.recall:.2f}  F1 {score.f1:.2f}", file=out)
    return 0
