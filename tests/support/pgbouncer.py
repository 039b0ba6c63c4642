"""PgBouncer (Debian's package) in front of the test database, as production runs it: one
pgbouncer process on a free loopback port with two pools on the same database, a
transaction-mode pool for web processes and a session-mode pool for workers. Its ini and
userlist are generated in a folder of the test's; it logs to `<folder>/pgbouncer.log` and is
stopped by the test that started it (and dies with pytest if pytest is killed)."""

import os
import shutil
from pathlib import Path

import psycopg
import pytest
from psycopg.rows import dict_row

from .servers import Process, free_port
from .waiting import wait_until

PGBOUNCER = Path("/usr/sbin/pgbouncer")
STARTUP_SECONDS = 30
TRANSACTION, SESSION = "inbox_transaction", "inbox_session"


class PgBouncer:
    """Two pools on `settings_dict`'s database (Django's, the test database here):
    `url("transaction")` for web processes, `url("session")` for workers. Trust
    authentication, as the machine's PostgreSQL on loopback; PgBouncer still wants each user
    in its userlist. `pool_sizes` are the server connections of each pool: the transaction
    pool may hold far fewer than its clients, the session pool needs one per client."""

    def __init__(self, settings_dict, folder, transaction_pool_size=4, session_pool_size=30):
        self.folder = Path(folder)
        self.port = free_port()
        self.user = settings_dict["USER"] or "postgres"
        server = settings_dict["HOST"] or "127.0.0.1"
        server_port = settings_dict["PORT"] or 5432
        database = settings_dict["NAME"]
        # The settings' time zone on every server connection, so Django sets none per session.
        target = f"host={server} port={server_port} dbname={database} user={self.user} timezone=UTC"
        (self.folder / "userlist.txt").write_text(f'"{self.user}" ""\n')
        (self.folder / "pgbouncer.ini").write_text(
            "[databases]\n"
            f"{TRANSACTION} = {target} pool_mode=transaction pool_size={transaction_pool_size}\n"
            f"{SESSION} = {target} pool_mode=session pool_size={session_pool_size}\n"
            "\n[pgbouncer]\n"
            "listen_addr = 127.0.0.1\n"
            f"listen_port = {self.port}\n"
            "unix_socket_dir =\n"
            "auth_type = trust\n"
            f"auth_file = {self.folder / 'userlist.txt'}\n"
            f"admin_users = {self.user}\n"
            "max_client_conn = 500\n"
            # Server connections go when idle a while, never in the middle of a test.
            "server_idle_timeout = 600\n"
            "server_check_delay = 0\n"
            "stats_period = 1\n"  # SHOW STATS' totals, updated every second
        )
        command = [PGBOUNCER, self.folder / "pgbouncer.ini"]
        if os.geteuid() == 0:
            # PgBouncer will not run as root: it drops to the postgres user, who must read the folder.
            for path in (self.folder, self.folder / "userlist.txt", self.folder / "pgbouncer.ini"):
                shutil.chown(path, "postgres", "postgres")
            command[1:1] = ["-u", "postgres"]
        self.process = Process("pgbouncer", command, {}, self.folder)

    def url(self, mode):
        """A DATABASE_URL through the pool of `mode`: "transaction" or "session"."""
        database = {"transaction": TRANSACTION, "session": SESSION}[mode]
        return f"postgres://{self.user}@127.0.0.1:{self.port}/{database}"

    def start(self):
        if not PGBOUNCER.exists():
            pytest.fail("PgBouncer is not installed: apt-get install pgbouncer (scripts/test does).")
        self.process.start()
        wait_until(
            self.answers,
            timeout=STARTUP_SECONDS,
            message=lambda: f"PgBouncer did not answer on port {self.port}.\n{self.process.tail()}",
        )
        return self

    def stop(self):
        self.process.stop()

    def answers(self):
        if not self.process.alive:
            pytest.fail(f"PgBouncer exited.\n{self.process.tail()}")
        try:
            self.show("VERSION")
        except psycopg.OperationalError:
            return False
        return True

    def show(self, what):
        """`SHOW <what>` on PgBouncer's admin console, as dicts."""
        console = f"postgres://{self.user}@127.0.0.1:{self.port}/pgbouncer"
        # The console knows only the simple query protocol: a client-side cursor's, without parameters.
        with psycopg.connect(
            console, autocommit=True, connect_timeout=2, cursor_factory=psycopg.ClientCursor
        ) as connection:
            cursor = connection.cursor(row_factory=dict_row)
            cursor.execute(f"SHOW {what}")
            return cursor.fetchall()

    def transactions(self):
        """Transactions each pool has served so far, by database name."""
        return {row["database"]: row["total_xact_count"] for row in self.show("STATS")}
