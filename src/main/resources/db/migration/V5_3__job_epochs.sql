-- The passes over the training data a job's run reaches (its effective n_epochs), known once the run has read its
-- data: max_steps over the dataset size, or n_epochs itself. Null until a run starts.
alter table fine_tuning_jobs add column epochs integer;
