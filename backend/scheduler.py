"""The scheduled detection job inside `cxw serve`: APScheduler runs it on ``CXW_SCHEDULE_CRON``.

Each tick runs the detection job over every registered workspace (webhooks: ``CXW_WEBHOOKS``); a
second, minutely job delivers outbox messages whose retry time has come.
"""

from __future__ import annotations

import logging

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy.orm import Session, sessionmaker

from backend.crud import workspaces
from backend.jobs.detect import run_detect
from backend.settings import Settings
from backend.webhooks import deliver_due

log = logging.getLogger("cxw.scheduler")


class DetectionScheduler:
    def __init__(self, sessions: sessionmaker[Session], settings: Settings):
        self.sessions, self.settings = sessions, settings
        self.scheduler = BackgroundScheduler(timezone="UTC")
        self.scheduler.add_job(self.run_all, CronTrigger.from_crontab(settings.schedule_cron, timezone="UTC"),
                               id="detect", max_instances=1, coalesce=True)
        self.scheduler.add_job(self.deliver, "interval", minutes=1, id="deliver", max_instances=1, coalesce=True)

    def run_all(self) -> None:
        with self.sessions() as session:
            ids = [w.id for w in workspaces.list_workspaces(session, limit=10_000)[0]]
        for ws_id in ids:
            try:
                result = run_detect(self.sessions, self.settings, ws_id)
                log.info("workspace %s: run %s %s", ws_id, result.run["id"], result.run["status"])
            except Exception as err:  # one workspace's failure must not stop the others
                log.error("workspace %s: detection failed: %s", ws_id, err)

    def deliver(self) -> None:
        try:
            deliver_due(self.sessions, self.settings, budget_seconds=0)
        except Exception as err:
            log.error("outbox delivery failed: %s", err)

    def start(self) -> None:
        self.scheduler.start()

    def shutdown(self) -> None:
        self.scheduler.shutdown(wait=False)

    def describe(self) -> str:
        job = self.scheduler.get_job("detect")
        next_time = getattr(job, "next_run_time", None)  # absent until the scheduler starts
        when = next_time.isoformat() if next_time else "not scheduled"
        return f"cron {self.settings.schedule_cron!r}, next run {when}"
