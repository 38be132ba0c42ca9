-- Issue 13, evaluation loop: a job's results CSV is a file of its tenant (purpose fine-tune-results) that names
-- the job it reports on; a checkpoint keeps the validation loss of an evaluation at its step (retention's "best").
alter table files add column job_id text;
create index files_by_job on files (job_id) where job_id is not null;
alter table job_checkpoints add column valid_loss double precision;
