"""``python -m bot`` (or ``bin/bot``): manage console users and API tokens from a shell.

    bin/bot user create --username wang --role admin --display-name 王敏   # asks for the password
    echo "$PASSWORD" | bin/bot user create --username li --role staff --password-stdin
    bin/bot user passwd --username li            bin/bot user disable --username li
    bin/bot user enable --username li            bin/bot user unlock --username li
    bin/bot user list
    bin/bot token create --user wang --scope read --scope write --name "统计脚本"   # prints the token once
    bin/bot token revoke --id 3                  bin/bot token list [--user wang]

The database is ``DATABASE_URL`` (default ``var/cases.db``); it is migrated first. Every
change is written to the user audit (``user_events``) with the actor ``cli:<login name>``.
"""
from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Sequence
from datetime import timedelta
from typing import IO, Any

from bot.errors import PetitionError
from bot.settings import Settings, get_settings
from bot.training import cli as training_cli


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bot", description="信访助手管理命令：后台用户和 API 令牌")
    groups = parser.add_subparsers(dest="group", required=True)

    user = groups.add_parser("user", help="后台用户").add_subparsers(dest="command", required=True)
    create = user.add_parser("create", help="创建用户")
    create.add_argument("--username", required=True)
    create.add_argument("--role", required=True, choices=["staff", "admin"])
    create.add_argument("--display-name", default=None, help="显示的姓名（默认同用户名）")
    create.add_argument("--department", default=None, help="所属部门编码（可选）")
    create.add_argument("--password-stdin", action="store_true", help="从标准输入读取密码（一行）")
    passwd = user.add_parser("passwd", help="修改密码（该用户所有登录会话随之失效）")
    passwd.add_argument("--username", required=True)
    passwd.add_argument("--password-stdin", action="store_true")
    for name, text in (("disable", "停用账号"), ("enable", "启用账号"), ("unlock", "解除登录锁定")):
        sub = user.add_parser(name, help=text)
        sub.add_argument("--username", required=True)
    user.add_parser("list", help="列出用户")

    token = groups.add_parser("token", help="API 令牌").add_subparsers(dest="command", required=True)
    tcreate = token.add_parser("create", help="创建令牌（只显示一次）")
    tcreate.add_argument("--user", required=True)
    tcreate.add_argument("--scope", action="append", required=True, choices=["read", "write", "pii"],
                         help="可重复：read 查看，write 办理，pii 可看完整身份证号和电话")
    tcreate.add_argument("--name", default=None, help="用途说明")
    tcreate.add_argument("--expires-days", type=int, default=None, help="有效天数（默认不过期，可随时吊销）")
    revoke = token.add_parser("revoke", help="吊销令牌")
    revoke.add_argument("--id", type=int, required=True)
    tlist = token.add_parser("list", help="列出令牌")
    tlist.add_argument("--user", default=None)
    training_cli.add_parsers(groups)  # inbox, train, evaluate, promote, rollback, models (docs/admin.md)
    return parser


def _read_password(args: argparse.Namespace, stdin: IO[str], out: IO[str]) -> str:
    if args.password_stdin:
        return stdin.readline().rstrip("\r\n")
    if not stdin.isatty():
        raise PetitionError("no terminal", user_message="没有终端可以输入密码，请使用 --password-stdin。")
    first = getpass.getpass("密码（至少10个字符）：")
    second = getpass.getpass("再输入一次：")
    if first != second:
        raise PetitionError("passwords differ", user_message="两次输入的密码不一致。")
    return first


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # no login name (containers): still an audit row
        return "cli"


def _run(args: argparse.Namespace, settings: Settings, stdin: IO[str], out: IO[str]) -> int:
    from bot.backoffice import users
    from bot.cases.db import make_engine, make_session_factory, migrate
    from bot.cases.deadlines import utcnow

    engine = make_engine(settings.database_url)
    try:
        migrate(engine)
        factory = make_session_factory(engine)
        if args.group in training_cli.GROUPS:
            return training_cli.run(args, settings, factory, out)
        actor = _actor()
        if args.group == "user":
            if args.command == "create":
                password = _read_password(args, stdin, out)
                user = users.do_create_user(
                    factory, args.username, password, role=args.role, display_name=args.display_name,
                    department_code=args.department, actor=actor,
                )
                print(f"已创建用户 {user.username}（{users.ROLE_LABELS[user.role]}）。", file=out)
            elif args.command == "passwd":
                password = _read_password(args, stdin, out)
                users.do_set_password(factory, args.username, password, actor=actor)
                print(f"已修改 {users.normalize_username(args.username)} 的密码，原有登录已全部退出。", file=out)
            elif args.command in ("disable", "enable"):
                user = users.do_set_active(factory, args.username, args.command == "enable", actor=actor)
                print(f"账号 {user.username} 已{'启用' if user.active else '停用'}。", file=out)
            elif args.command == "unlock":
                users.do_unlock_user(factory, args.username, actor=actor)
                print(f"账号 {users.normalize_username(args.username)} 已解除锁定。", file=out)
            else:
                for user in users.list_users(factory):
                    state = "启用" if user.active else "停用"
                    print(f"{user.username}\t{user.role}\t{state}\t{user.display_name}\t{user.department_code or ''}",
                          file=out)
        else:
            if args.command == "create":
                expires = utcnow() + timedelta(days=args.expires_days) if args.expires_days else None
                token, row = users.do_create_token(
                    factory, args.user, args.scope, name=args.name, expires_at=expires, actor=actor
                )
                print(f"令牌 #{row.id}（{row.scopes}）已创建，只显示这一次，请妥善保存：", file=out)
                print(token, file=out)
            elif args.command == "revoke":
                row = users.do_revoke_token(factory, args.id, actor=actor)
                print(f"令牌 #{row.id} 已吊销。", file=out)
            else:
                for row, username in users.list_tokens(factory, args.user):
                    state = "已吊销" if row.revoked_at else "有效"
                    print(f"#{row.id}\t{row.prefix}…\t{username}\t{row.scopes}\t{state}\t{row.name or ''}", file=out)
        return 0
    finally:
        engine.dispose()


def main(argv: Sequence[str] | None = None, *, settings: Settings | None = None,
         stdin: IO[str] | None = None, stdout: IO[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    out: IO[str] = stdout or sys.stdout
    try:
        return _run(args, settings or get_settings(), stdin or sys.stdin, out)
    except PetitionError as exc:
        print(f"未完成：{exc.user_message}（{exc.code}）", file=sys.stderr)
        return 1


def run(argv: Any = None) -> None:
    sys.exit(main(argv))
