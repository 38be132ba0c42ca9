-- peftd service schema. Every row that a user can name belongs to a tenant; ids are globally unique strings.

create table files (
    id           text primary key,
    tenant       text        not null,
    filename     text        not null,
    purpose      text        not null,
    bytes        bigint      not null,
    line_count   integer     not null,
    storage_key  text        not null,
    created_at   timestamptz not null
);
create index files_by_tenant on files (tenant, created_at desc);

-- Base models a tenant registered; the model id is unique per tenant (two tenants may both call theirs "llama").
create table base_models (
    tenant         text        not null,
    id             text        not null,
    source         text        not null,
    status         text        not null check (status in ('loading', 'ready', 'failed')),
    failure_reason text,
    architecture   text,
    parameters     bigint,
    local_path     text,
    created_at     timestamptz not null,
    primary key (tenant, id)
);

create table fine_tuning_jobs (
    seq                 bigserial   not null unique,   -- creation order, for cursor pagination
    id                  text primary key,
    tenant              text        not null,
    model               text        not null,
    training_file       text        not null,
    validation_file     text,
    suffix              text,
    seed                bigint      not null,
    method              text        not null,          -- canonical JSON of the resolved method and hyperparameters
    metadata            text,                          -- JSON object of up to 16 string pairs
    status              text        not null check (status in
                            ('queued', 'running', 'cancelling', 'succeeded', 'failed', 'cancelled')),
    fine_tuned_model    text,
    error_code          text,
    error_message       text,
    error_param         text,
    trained_tokens      bigint,
    total_steps         integer,
    steps_completed     integer     not null default 0,
    created_at          timestamptz not null,
    started_at          timestamptz,
    finished_at         timestamptz,
    -- queue: a claimed job carries a lease (owner + token + expiry); terminal writes are fenced on the token
    lease_owner         text,
    lease_token         uuid,
    lease_expires_at    timestamptz,
    attempts            integer     not null default 0,
    max_attempts        integer     not null,
    checkpoint_step     integer,
    checkpoint_tokens   bigint,                        -- tokens trained up to checkpoint_step
    adapter_key         text
);
create index jobs_by_tenant on fine_tuning_jobs (tenant, seq desc);
create index jobs_claimable on fine_tuning_jobs (seq) where status = 'queued';
create index jobs_leased on fine_tuning_jobs (lease_expires_at) where status in ('running', 'cancelling');

create table job_events (
    id          bigserial primary key,
    job_id      text        not null references fine_tuning_jobs (id) on delete cascade,
    created_at  timestamptz not null,
    level       text        not null check (level in ('info', 'warn', 'error')),
    type        text        not null check (type in ('message', 'metrics')),
    message     text        not null,
    data        text                                   -- JSON object for metrics events
);
create index events_by_job on job_events (job_id, id);

create table job_checkpoints (
    id           text primary key,
    job_id       text        not null references fine_tuning_jobs (id) on delete cascade,
    step_number  integer     not null,
    train_loss   double precision,
    storage_key  text        not null,
    created_at   timestamptz not null,
    unique (job_id, step_number)
);

-- Idempotency-Key on creates: the first request's body hash and the object it made.
create table idempotency_keys (
    tenant       text        not null,
    operation    text        not null,
    key          text        not null,
    request_hash text        not null,
    resource_id  text        not null,
    created_at   timestamptz not null,
    primary key (tenant, operation, key)
);
