"""Real mail servers on loopback for the mailbox tests.

Dovecot (Debian's dovecot-imapd) runs in the foreground with its own minimal config in a
temporary folder: IMAP on 127.0.0.1 at a free port, plain-text login allowed (loopback
only), users in a passwd-file, maildirs in the folder. aiosmtpd is a real SMTP server in a
thread of the test process."""

from __future__ import annotations

import contextlib
import grp
import imaplib
import itertools
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

DOVECOT = shutil.which("dovecot") or (
    "/usr/sbin/dovecot" if Path("/usr/sbin/dovecot").exists() else None
)
_users = itertools.count(1)
ACCOUNTS = 500


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_greeting(port: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                if sock.recv(100).startswith(b"* OK"):
                    return True
        except OSError:
            time.sleep(0.1)
    return False


@dataclass
class Dovecot:
    root: Path
    port: int
    process: subprocess.Popen
    passwd: Path

    def add_user(self) -> tuple[str, str]:
        """A fresh account (its own empty INBOX): (user name, password). The accounts are
        written to the passwd-file at start: Dovecot notices a changed file by its mtime
        in whole seconds, so a file changed twice in a second would hide the second user."""
        n = next(_users)
        if n > ACCOUNTS:
            raise RuntimeError("out of test accounts: raise ACCOUNTS")
        return f"box{n}@mail.test", f"secret{n}"

    def connect(self, username: str, password: str) -> imaplib.IMAP4:
        conn = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        conn.login(username, password)
        return conn

    def append(self, username: str, password: str, *raws: bytes) -> None:
        """Deliver messages by IMAP APPEND (what a mail server's delivery amounts to)."""
        conn = self.connect(username, password)
        try:
            for raw in raws:
                status, data = conn.append("INBOX", None, None, raw)
                assert status == "OK", data
        finally:
            conn.logout()

    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""


def dovecot_start() -> Dovecot:
    root = Path(tempfile.mkdtemp(prefix="svyaz-dovecot-"))
    root.chmod(0o755)
    (root / "run").mkdir()
    (root / "state").mkdir()
    home = root / "home"
    home.mkdir()
    port = free_port()
    passwd = root / "passwd"
    passwd.write_text(
        "".join(f"box{n}@mail.test:{{PLAIN}}secret{n}\n" for n in range(1, ACCOUNTS + 1))
    )
    if os.geteuid() == 0:
        # Dovecot refuses mail access as root: the maildirs belong to nobody.
        nobody = pwd.getpwnam("nobody")
        os.chown(home, nobody.pw_uid, nobody.pw_gid)
        users = (
            f"mail_uid = {nobody.pw_uid}\nmail_gid = {nobody.pw_gid}\n"
            "first_valid_uid = 1\nfirst_valid_gid = 1\n"
        )
    else:
        me = pwd.getpwuid(os.getuid()).pw_name
        group = grp.getgrgid(os.getgid()).gr_name
        users = (
            f"default_login_user = {me}\ndefault_internal_user = {me}\n"
            f"default_internal_group = {group}\n"
            f"first_valid_uid = {os.getuid()}\nfirst_valid_gid = {os.getgid()}\n"
        )
    config = root / "dovecot.conf"
    config.write_text(
        f"""
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
instance_name = svyaz-test-{port}
log_path = {root}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
mail_location = maildir:{home}/%u/Maildir
{users}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {passwd}
}}
userdb {{
  driver = static
  args = home={home}/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
"""
    )
    process = subprocess.Popen(
        [DOVECOT, "-F", "-c", str(config)],
        stdout=(root / "stdout.log").open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    server = Dovecot(root=root, port=port, process=process, passwd=passwd)
    if not _wait_for_greeting(port, 20):
        dovecot_stop(server)
        raise RuntimeError(
            "dovecot did not start:\n"
            + (root / "stdout.log").read_text(errors="replace")
            + server.log()
        )
    return server


def dovecot_stop(server: Dovecot) -> None:
    if server.process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.process.pid, signal.SIGTERM)
        try:
            server.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(server.process.pid, signal.SIGKILL)
            server.process.wait(timeout=5)
    shutil.rmtree(server.root, ignore_errors=True)


# --- SMTP -------------------------------------------------------------------------------


@dataclass
class SmtpServer:
    port: int
    messages: list = field(default_factory=list)  # aiosmtpd envelopes
    logins: list = field(default_factory=list)


class _Handler:
    def __init__(self, server: SmtpServer, refuse: set[str]) -> None:
        self.server = server
        self.refuse = refuse

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if address.lower() in self.refuse:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.server.messages.append(envelope)
        return "250 Message accepted for delivery"


@contextlib.contextmanager
def smtp_running(*, refuse: set[str] | None = None, credentials: tuple[str, str] | None = None):
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    server = SmtpServer(port=free_port())

    def authenticator(smtp, session, envelope, mechanism, auth_data):
        ok = (
            credentials is not None
            and (
                auth_data.login.decode(),
                auth_data.password.decode(),
            )
            == credentials
        )
        if ok:
            server.logins.append(auth_data.login.decode())
        return AuthResult(success=ok)

    kwargs = {}
    if credentials is not None:
        kwargs = {"authenticator": authenticator, "auth_require_tls": False, "auth_required": True}
    controller = Controller(
        _Handler(server, {a.lower() for a in refuse or ()}),
        hostname="127.0.0.1",
        port=server.port,
        **kwargs,
    )
    controller.start()
    try:
        yield server
    finally:
        controller.stop()
