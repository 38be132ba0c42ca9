-- Pause and resume (issue 13): a job asked to pause while running is 'pausing' until its worker has checkpointed and
-- let it go, then 'paused' (no worker, no lease) until it is resumed. The status check names every state of
-- queue.JobState; the partial index of leased jobs covers 'pausing' too, since a pausing job still holds its lease.
-- Versioned 5.13.3 so that it does not collide with other V5 migrations.
alter table fine_tuning_jobs drop constraint fine_tuning_jobs_status_check;
alter table fine_tuning_jobs add constraint fine_tuning_jobs_status_check check (status in
    ('queued', 'running', 'cancelling', 'pausing', 'paused', 'succeeded', 'failed', 'cancelled'));
drop index jobs_leased;
create index jobs_leased on fine_tuning_jobs (lease_expires_at) where status in ('running', 'cancelling', 'pausing');

-- DELETE /v1/models/{ft}: the job stays (OpenAI keeps it), its model and artifacts go; from then on the model name
-- resolves nowhere.
alter table fine_tuning_jobs add column model_deleted_at timestamptz;
