-- Adapters uploaded for serving (POST /v1/adapters): PEFT directories validated against a tenant's base model, kept
-- in the object store under adapters/{tenant}/{id}/. merged_model names the base model a merge registered.
create table served_adapters (
    tenant       text        not null,
    id           text        not null,
    name         text,
    base_model   text        not null,
    method       text        not null,
    rank         integer     not null,
    modules      integer     not null,
    bytes        bigint      not null,
    merged_model text,
    created_at   timestamptz not null,
    primary key (tenant, id)
);
create unique index served_adapters_by_name on served_adapters (tenant, name);
create index served_adapters_by_merged_model on served_adapters (tenant, merged_model);
