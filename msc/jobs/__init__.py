"""The job runner: what must not run inside a request or a browser tab (key rotations, retention runs,
export expiry, the nightly checks, reminders). Features register tasks (msc.jobs.registry); a job row
(msc.jobs.models) is the one record of a run that pages read; a backend (msc.jobs.runner) carries only
the job's id to whatever runs it: an RQ worker on Redis in production, a thread of the process that
queued it on the embedded default. The schedule (msc.jobs.schedule) queues each slot of a periodic task
once, however many workers run it."""
