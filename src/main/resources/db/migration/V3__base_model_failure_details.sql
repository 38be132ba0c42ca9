-- Why a registration failed, in parts a client can act on: a stable code, and the file and config key at fault
-- (failure_reason keeps the sentence). Versioned 3.7 so that it does not collide with other V3 migrations.
alter table base_models add column failure_code text;
alter table base_models add column failure_file text;
alter table base_models add column failure_field text;
