-- Method comparisons (POST /v1/fine_tuning/comparisons): one row per comparison; its runs are ordinary fine-tuning
-- jobs labelled with its id, so they share the queue, the tenant's job limit and the job API.
create table fine_tuning_comparisons (
    seq                  bigserial   not null unique,   -- creation order, for cursor pagination
    id                   text primary key,
    tenant               text        not null,
    model                text        not null,
    training_file        text        not null,
    validation_file      text,                          -- null when validation_fraction held out part of training_file
    validation_fraction  double precision,
    request              text        not null,          -- canonical JSON: methods, budget, overrides, seeds, seed
    created_at           timestamptz not null
);
create index comparisons_by_tenant on fine_tuning_comparisons (tenant, seq desc);

alter table fine_tuning_jobs add column comparison_id text references fine_tuning_comparisons (id);
create index jobs_by_comparison on fine_tuning_jobs (comparison_id) where comparison_id is not null;
