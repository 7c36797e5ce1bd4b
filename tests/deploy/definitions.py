"""The billing Definitions plus one schedule that ticks every minute, so that a test sees the daemon launch it."""
import dagster as dg

import billing_jobs.definitions

every_minute = dg.ScheduleDefinition(name="deliver_alerts_every_minute", job_name="deliver_alerts",
                                     cron_schedule="* * * * *", execution_timezone="UTC",
                                     default_status=dg.DefaultScheduleStatus.RUNNING)

defs = dg.Definitions.merge(billing_jobs.definitions.defs, dg.Definitions(schedules=[every_minute]))
